"""The syntax tree the parser builds and the compiler turns into closures.

Offsets (``start``) are 0-based positions in the expression text, kept so that the
compiler can point at the function a problem is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Literal:
    """Text outside ``${}``, a quoted argument, a number, ``true``, ``false`` or ``null``."""

    value: object
    start: int


@dataclass(frozen=True, slots=True)
class Attribute:
    """``${name}`` or ``${'quoted name'}``: a lookup that gives ``None`` when missing."""

    name: str
    start: int


@dataclass(frozen=True, slots=True)
class Call:
    """``subject:name(args)``, or a subjectless ``name(args)`` when ``subject`` is None."""

    name: str
    subject: Node | None
    args: tuple[Node, ...]
    start: int


@dataclass(frozen=True, slots=True)
class Template:
    """Literal text with embedded expressions, concatenated as text."""

    parts: tuple[Node, ...]
    start: int


Node: TypeAlias = Literal | Attribute | Call | Template
