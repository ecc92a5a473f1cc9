"""The Expression Language's functions, one module per family of NiFi's guide.

Each module registers its functions in :data:`registry.FUNCTIONS` when imported. The
families load in two steps: conditions and the subjectless values (``hostname()``,
``now()``, ``UUID()``) with the compiler, the others the first time an expression names
a function not yet registered. A device's flow uses only the first two; the rest (Java
date patterns, JSON paths, encodings) would be 0.2 MB of its memory. The
multi-attribute functions (``anyAttribute`` and friends, ``count``, ``join``) reshape
evaluation and live in :mod:`..multi`.
"""

from __future__ import annotations

import importlib

from headwater.expression.functions.registry import FUNCTIONS, Function

_FIRST = ("logic", "subjectless")
_ON_DEMAND = ("strings", "searching", "jsonpaths", "encoding", "numbers", "dates")


def _load(families: tuple[str, ...]) -> None:
    for family in families:
        importlib.import_module(f"headwater.expression.functions.{family}")


def lookup(name: str) -> Function | None:
    """The function called ``name``; after a miss, every family is registered."""
    function = FUNCTIONS.get(name)
    if function is None:
        _load(_ON_DEMAND)
        function = FUNCTIONS.get(name)
    return function


_load(_FIRST)
