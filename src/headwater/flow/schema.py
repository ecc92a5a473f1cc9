"""What a flow file may hold: its sections and keys, and the YAML reading beneath.

The YAML reader keeps every scalar as the text the person wrote (``0100`` stays
``0100``, ``1.10`` stays ``1.10``), turns only ``true``/``false`` into booleans, and
reports duplicate keys, which plain YAML silently merges: under ``processors`` a
duplicate key is a duplicate processor id.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Sequence
from typing import Any

import yaml

from headwater.errors import Problem

TOP_LEVEL_KEYS = ("flow", "parameters", "settings", "services", "processors", "connections")
SERVICE_KEYS = ("type", "properties")
PROCESSOR_KEYS = ("type", "name", "properties", "schedule", "auto-terminate", "enabled")
SCHEDULE_KEYS = ("period", "cron", "concurrent-tasks", "penalty", "yield", "batch-size")
CONNECTION_KEYS = (
    "id",
    "name",
    "from",
    "relationships",
    "to",
    "back-pressure",
    "expiration",
    "prioritizers",
    "swap-threshold",
)
BACK_PRESSURE_KEYS = ("objects", "size")
SETTINGS_KEYS = (
    "threads",
    "administrative-yield",
    "provenance-max-age",
    "provenance-max-size",
    "content-claim-max-size",
)

PRIORITIZERS = (
    "FirstInFirstOutPrioritizer",
    "NewestFlowFileFirstPrioritizer",
    "OldestFlowFileFirstPrioritizer",
    "PriorityAttributePrioritizer",
)
_PRIORITIZER_NAMES = {
    **{name: name for name in PRIORITIZERS},
    **{name.removesuffix("Prioritizer"): name for name in PRIORITIZERS},
}


def prioritizer_name(text: str) -> str | None:
    """NiFi's full prioritizer name for ``text`` (``OldestFlowFileFirst`` accepted)."""
    return _PRIORITIZER_NAMES.get(text) or _PRIORITIZER_NAMES.get(text.rsplit(".", 1)[-1])


def prioritizer_hint(text: str) -> str:
    return nearest(text, list(_PRIORITIZER_NAMES), "prioritizers: " + ", ".join(PRIORITIZERS))


def nearest(name: str, known: Sequence[str], otherwise: str = "") -> str:
    """A hint naming the closest of ``known``, or ``otherwise``."""
    near = difflib.get_close_matches(name, list(known), n=3)
    if near:
        return f"did you mean {' or '.join(repr(n) for n in near)}?"
    return otherwise


def scalar_text(value: object) -> str | None:
    """The text of one YAML (or JSON) scalar; ``None`` stays ``None``.

    Raises ``TypeError`` for a list or mapping, which cannot be a single value.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    kind = "list" if isinstance(value, list | tuple) else "mapping"
    raise TypeError(f"expected a single value, got a {kind}")


def kind_of(value: object) -> str:
    """A person's word for what a YAML value is, for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    return repr(scalar_text(value))


_SYNTAX_HINT = "check the indentation, and quote values holding ': ', ' #', '?', '{' or '*'"


def read_yaml(text: str) -> tuple[object, list[Problem]]:
    """The document in ``text`` and the problems found reading it.

    A syntax error gives ``None`` and one problem naming its line and column.
    """
    loader = _TextLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "unreadable"
        return None, [Problem("", f"YAML syntax error{where}: {reason}", _SYNTAX_HINT)]
    except yaml.YAMLError as exc:
        return None, [Problem("", f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    return data, loader.duplicates


class _TextLoader(yaml.SafeLoader):
    """SafeLoader that keeps scalars as written and reports duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[Problem] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in seen:
                mark = key_node.start_mark
                self.duplicates.append(
                    Problem(
                        "",
                        f"duplicate key {key_node.value!r} at line {mark.line + 1}, "
                        f"column {mark.column + 1}",
                        "ids and keys must be unique; rename or remove one",
                    )
                )
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _as_written(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


def _boolean(loader: yaml.SafeLoader, node: yaml.Node) -> bool | str:
    text = _as_written(loader, node)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text  # yes, no, on, off: YAML 1.1 booleans, kept as words


for _tag in ("int", "float", "timestamp"):
    _TextLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _as_written)
_TextLoader.add_constructor("tag:yaml.org,2002:bool", _boolean)
