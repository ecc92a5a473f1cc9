"""The Expression Language's functions, one module per family of NiFi's guide.

Each module registers its functions in :data:`registry.FUNCTIONS` when imported;
:func:`load` imports them all. The multi-attribute functions (``anyAttribute`` and
friends, ``count``, ``join``) reshape evaluation and live in :mod:`..multi`.
"""

from __future__ import annotations

import importlib

_MODULES = (
    "logic",
    "strings",
    "searching",
    "jsonpaths",
    "encoding",
    "numbers",
    "dates",
    "subjectless",
)


def load() -> None:
    for module in _MODULES:
        importlib.import_module(f"headwater.expression.functions.{module}")
