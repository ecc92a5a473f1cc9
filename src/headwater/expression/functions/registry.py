"""How a function is declared: its name, arity, subject, argument kinds and implementation.

Implementations are plain functions ``impl(subject, *args)`` that receive values already
coerced to the declared kinds, so they stay one line where NiFi's are a class each.
Functions that must control evaluation themselves (``and``, ``ifElse``, ``evaluateELString``)
give a ``build`` hook instead, which receives the compiled subject and argument closures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from headwater.expression.values import Evaluator


class Subject(Enum):
    STRING = "string"  # coerced to str; a null subject short-circuits to ``on_null``
    ANY = "any"  # passed as is, None included
    NONE = "none"  # subjectless: ``${now()}``
    OPTIONAL = "optional"  # either (``math``)


class Arg(Enum):
    STRING = "string"  # str; null becomes ""
    WHOLE = "whole number"  # int
    NUMBER = "number"  # int or float
    BOOLEAN = "boolean"
    REGEX = "regular expression"  # a compiled re.Pattern
    ANY = "any value"  # as is


Builder = Callable[[Evaluator | None, list[Evaluator]], Evaluator]


@dataclass(frozen=True)
class Function:
    name: str
    impl: Callable[..., Any]
    args: tuple[Arg, ...] = ()
    optional: int = 0  # how many trailing ``args`` may be left out
    varargs: bool = False  # the last kind repeats
    subject: Subject = Subject.STRING
    on_null: object = None  # result for a null subject when ``subject`` is STRING
    build: Builder | None = None
    pure: bool = True  # same inputs, same result: constant inputs fold at compile time

    @property
    def min_args(self) -> int:
        return len(self.args) - self.optional

    @property
    def max_args(self) -> int | None:
        return None if self.varargs else len(self.args)

    def kind(self, index: int) -> Arg:
        if index < len(self.args):
            return self.args[index]
        return self.args[-1] if self.args else Arg.ANY

    def arity(self) -> str:
        low, high = self.min_args, self.max_args
        if high is None:
            return f"at least {low} argument{'s' if low != 1 else ''}"
        if low == high:
            return f"{low} argument{'s' if low != 1 else ''}"
        return f"{low} to {high} arguments"


FUNCTIONS: dict[str, Function] = {}


def register(*functions: Function) -> None:
    for function in functions:
        FUNCTIONS[function.name] = function


def fn(
    name: str,
    impl: Callable[..., Any],
    *args: Arg,
    optional: int = 0,
    varargs: bool = False,
    subject: Subject = Subject.STRING,
    on_null: object = None,
    build: Builder | None = None,
    pure: bool = True,
) -> Function:
    """Shorthand used by the function modules' tables."""
    return Function(name, impl, args, optional, varargs, subject, on_null, build, pure)
