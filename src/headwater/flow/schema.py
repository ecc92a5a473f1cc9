"""What a flow file may hold: its sections and keys, how one value is read, and the
YAML reading beneath.

``ValueReader`` reads single values and the small sections (settings, schedules) with
the path of each, collecting a ``Problem`` for each mistake instead of raising; the
loader builds on it for the sections that refer to one another.

The YAML reader keeps every scalar as the text the person wrote (``0100`` stays
``0100``, ``1.10`` stays ``1.10``), turns only ``true``/``false`` into booleans, and
reports duplicate keys, which plain YAML silently merges: under ``processors`` a
duplicate key is a duplicate processor id.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from headwater.engine.cron import QuartzCron
from headwater.errors import Problem
from headwater.flow.model import (
    PROVENANCE_FIELDS,
    EngineSettings,
    Overflow,
    OverflowStrategy,
    Schedule,
    SchedulingStrategy,
)
from headwater.processor import get_close_matches
from headwater.repository.sqlite import MAX_PAGE_SIZE
from headwater.units import (
    parse_data_size,
    parse_duration,
    parse_non_negative_int,
    parse_positive_int,
)

T = TypeVar("T")

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
    "overflow",
)
BACK_PRESSURE_KEYS = ("objects", "size")
OVERFLOW_KEYS = ("size", "objects", "strategy")
OVERFLOW_STRATEGIES = tuple(str(s) for s in OverflowStrategy)
SETTINGS_KEYS = (
    "threads",
    "administrative-yield",
    "provenance-max-age",
    "provenance-max-size",
    "provenance-cache-size",
    "provenance-indexed-fields",
    "flowfile-cache-size",
    "content-claim-max-size",
    "repository-checkpoints",
    "repository-page-size",
)
CHECKPOINT_MODES = ("background", "on-commit")

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


def parse_indexed_fields(text: str) -> tuple[str, ...]:
    """``FlowFileUUID, ProcessorID, EventType``, some of them, or ``none``."""
    fields = tuple(f.strip() for f in text.split(",") if f.strip())
    if fields in ((), ("none",)):
        return ()
    for field in fields:
        if field not in PROVENANCE_FIELDS:
            raise not_one_of(field, PROVENANCE_FIELDS, " (or 'none')")
    return fields


def parse_checkpoints(text: str) -> bool:
    """``background`` (a thread per repository) or ``on-commit`` (SQLite's own): True
    for background."""
    if text not in CHECKPOINT_MODES:
        raise not_one_of(text, CHECKPOINT_MODES)
    return text == "background"


def parse_page_size(text: str) -> int:
    """A SQLite page size: a power of two from 512 bytes to 64 KB."""
    size = parse_data_size(text)
    if size < 512 or size > MAX_PAGE_SIZE or size & (size - 1):
        raise ValueError(f"{text!r} is not a SQLite page size: a power of two, 512 B to 64 KB")
    return size


def not_one_of(text: str, choices: Sequence[str], also: str = "") -> ValueError:
    """The error for a value outside ``choices``, naming them and the nearest."""
    hint = nearest(text, choices)
    return ValueError(
        f"{text!r} is not one of {', '.join(choices)}{also}" + (f"; {hint}" if hint else "")
    )


def nearest(name: str, known: Sequence[str], otherwise: str = "") -> str:
    """A hint naming the closest of ``known``, or ``otherwise``."""
    near = get_close_matches(name, list(known), n=3)
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
    if isinstance(value, Mapping):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    return repr(scalar_text(value))


_PARAMETER = re.compile(r"(#+)\{([^{}]*)\}")


class ValueReader:
    """Reads values with their paths; ``problems`` collects what is wrong with them."""

    def __init__(self, problems: list[Problem], overrides: Mapping[str, str] | None) -> None:
        self.problems = list(problems)
        self.overrides = dict(overrides or {})
        self.parameters: dict[str, str] = {}

    def problem(self, path: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(path, message, hint))

    def known_keys(
        self, data: Mapping[str, Any], allowed: tuple[str, ...], path: str, what: str
    ) -> None:
        for key in data:
            if str(key) not in allowed:
                where = f"{path}.{key}" if path else str(key)
                hint = nearest(str(key), allowed, "allowed: " + ", ".join(allowed))
                self.problem(where, f"unknown {what}", hint)

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        """``value`` as a mapping with text keys; nothing is an empty mapping."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(path, f"expected a mapping, got {kind_of(value)}")
            return {}
        return {str(key): item for key, item in value.items()}

    def plain(self, value: object, path: str) -> str | None:
        """The text of a scalar, without parameter substitution (ids, types, names)."""
        try:
            return scalar_text(value)
        except TypeError as exc:
            self.problem(path, str(exc))
            return None

    def text(self, value: object, path: str) -> str | None:
        """The text of a scalar with ``#{parameters}`` substituted."""
        raw = self.plain(value, path)
        return None if raw is None else self.substitute(raw, path)

    def substitute(self, text: str, path: str) -> str:
        def replace(match: re.Match[str]) -> str:
            hashes, name = match.group(1), match.group(2)
            escaped = "#" * (len(hashes) // 2)
            if len(hashes) % 2 == 0:
                return f"{escaped}{{{name}}}"
            if name in self.parameters:
                return escaped + self.parameters[name]
            known = sorted(self.parameters)
            fix = f"declare it under parameters: or pass -p {name}=VALUE"
            near = nearest(name, known)
            hint = f"{near} Or {fix}" if near else f"known: {', '.join(known) or 'none'}; {fix}"
            self.problem(path, f"refers to a missing parameter {name!r}", hint)
            return match.group(0)

        return _PARAMETER.sub(replace, text) if "#" in text else text

    def parse(self, parse: Callable[[str], T], text: str | None, path: str, fallback: T) -> T:
        if text is None:
            return fallback
        try:
            return parse(text)
        except ValueError as exc:
            self.problem(path, str(exc))
            return fallback

    def names(self, value: object, path: str) -> list[str]:
        """A list of names; one name alone is accepted as a list of one."""
        if value is None:
            return []
        if isinstance(value, Mapping):
            self.problem(path, "expected a list of names, got a mapping")
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for index, item in enumerate(items):
            text = self.plain(item, f"{path}[{index}]")
            if text is not None:
                out.append(text)
        return out

    def read_parameters(self, value: object, base: Path | None = None) -> None:
        """Each parameter's text; ``{file: PATH}`` is a file's text (a schema, a Jolt
        spec), PATH relative to ``base`` (the flow file's folder, else the current one)."""
        for key, item in self.mapping(value, "parameters").items():
            path = f"parameters.{key}"
            if isinstance(item, Mapping):
                text = self.file_text(item, path, base or Path.cwd())
            else:
                text = self.plain(item, path)
            self.parameters[key] = "" if text is None else text
        self.parameters.update(self.overrides)

    def file_text(self, item: Mapping[Any, Any], path: str, base: Path) -> str | None:
        self.known_keys(self.mapping(item, path), ("file",), path, "key of a parameter")
        name = self.plain(item.get("file"), f"{path}.file")
        if not name:
            self.problem(path, "expected text, or {file: PATH}")
            return None
        try:
            return (base / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problem(f"{path}.file", f"cannot read {str(base / name)!r}: {reason}")
            return None

    def read_settings(self, value: object) -> EngineSettings:
        data = self.mapping(value, "settings")
        self.known_keys(data, SETTINGS_KEYS, "settings", "setting")
        values = {k: self.text(v, f"settings.{k}") for k, v in data.items()}
        default = EngineSettings()

        def get(key: str, parse: Callable[[str], T], fallback: T) -> T:
            return self.parse(parse, values.get(key), f"settings.{key}", fallback)

        return EngineSettings(
            threads=get("threads", parse_positive_int, default.threads),
            administrative_yield=get(
                "administrative-yield", parse_duration, default.administrative_yield
            ),
            provenance_max_age=get(
                "provenance-max-age", parse_duration, default.provenance_max_age
            ),
            provenance_max_bytes=get(
                "provenance-max-size", parse_data_size, default.provenance_max_bytes
            ),
            provenance_cache_bytes=get(
                "provenance-cache-size", parse_data_size, default.provenance_cache_bytes
            ),
            provenance_indexed_fields=get(
                "provenance-indexed-fields",
                parse_indexed_fields,
                default.provenance_indexed_fields,
            ),
            flowfile_cache_bytes=get(
                "flowfile-cache-size", parse_data_size, default.flowfile_cache_bytes
            ),
            content_claim_max_bytes=get(
                "content-claim-max-size", parse_data_size, default.content_claim_max_bytes
            ),
            background_checkpoints=get(
                "repository-checkpoints", parse_checkpoints, default.background_checkpoints
            ),
            page_size=get("repository-page-size", parse_page_size, default.page_size),
        )

    def read_overflow(self, value: object, path: str) -> Overflow | None:
        """A connection's ``overflow: {size: 100 MB, objects: N, strategy: drop-oldest}``
        (the store-and-forward cap), or None when not given."""
        if value is None:
            return None
        data = self.mapping(value, path)
        self.known_keys(data, OVERFLOW_KEYS, path, "overflow key")
        values = {k: self.text(v, f"{path}.{k}") for k, v in data.items()}
        size = self.parse(parse_data_size, values.get("size"), f"{path}.size", 0)
        objects = self.parse(parse_non_negative_int, values.get("objects"), f"{path}.objects", 0)
        strategy = values.get("strategy") or str(OverflowStrategy.DROP_OLDEST)
        if strategy not in OVERFLOW_STRATEGIES:
            hint = nearest(
                strategy, OVERFLOW_STRATEGIES, "strategies: " + ", ".join(OVERFLOW_STRATEGIES)
            )
            self.problem(f"{path}.strategy", f"unknown overflow strategy {strategy!r}", hint)
            strategy = str(OverflowStrategy.DROP_OLDEST)
        if not size and not objects and isinstance(value, Mapping):
            self.problem(
                path,
                "sets no cap",
                "give size: (e.g. 100 MB) and/or objects: (a FlowFile count) above 0",
            )
        return Overflow(size, objects, OverflowStrategy(strategy))

    def read_schedule(self, value: object, path: str, default_period: str) -> Schedule:
        data = self.mapping(value, path)
        self.known_keys(data, SCHEDULE_KEYS, path, "schedule key")
        values = {k: self.text(v, f"{path}.{k}") for k, v in data.items()}
        default = Schedule()
        cron = values.get("cron")
        if cron is not None:
            if values.get("period") is not None:
                self.problem(
                    path,
                    "has both period and cron",
                    "give period for timer-driven or cron for CRON-driven, not both",
                )
            self.parse(QuartzCron, cron, f"{path}.cron", None)
        period_text = values.get("period") or (None if cron else default_period)
        return Schedule(
            strategy=SchedulingStrategy.CRON_DRIVEN if cron else SchedulingStrategy.TIMER_DRIVEN,
            period=self.parse(parse_duration, period_text, f"{path}.period", 0.0),
            cron=cron,
            concurrent_tasks=self.parse(
                parse_positive_int,
                values.get("concurrent-tasks"),
                f"{path}.concurrent-tasks",
                default.concurrent_tasks,
            ),
            penalty=self.parse(
                parse_duration, values.get("penalty"), f"{path}.penalty", default.penalty
            ),
            yield_duration=self.parse(
                parse_duration, values.get("yield"), f"{path}.yield", default.yield_duration
            ),
            batch_size=self.parse(
                parse_positive_int,
                values.get("batch-size"),
                f"{path}.batch-size",
                default.batch_size,
            ),
        )


_SYNTAX_HINT = "check the indentation, and quote values holding ': ', ' #', '?', '{' or '*'"


@dataclass(frozen=True)
class YamlDocument:
    """A parsed flow file: its data, the problems found reading it, and the line on
    which each dotted path is written (for messages an editor can jump to)."""

    data: object
    problems: list[Problem]
    lines: dict[str, int]


def read_yaml(text: str) -> YamlDocument:
    """The document in ``text``; a syntax error gives ``None`` and one problem naming
    its line and column."""
    loader = _TextLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(None, [], {})
        lines: dict[str, int] = {}
        duplicates = list(_duplicate_keys(node, "", lines))
        return YamlDocument(loader.construct_document(node), duplicates, lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "unreadable"
        problem = Problem("", f"YAML syntax error{where}: {reason}", _SYNTAX_HINT)
    except yaml.YAMLError as exc:
        problem = Problem("", f"YAML syntax error: {exc}")
    finally:
        loader.dispose()
    return YamlDocument(None, [problem], {})


def _duplicate_keys(node: yaml.Node, path: str, lines: dict[str, int]) -> Iterator[Problem]:
    """Keys given twice in one mapping, which YAML would silently merge into one;
    fills ``lines`` with the line of every path on the way."""
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[f"{path}[{index}]"] = item.start_mark.line + 1
            yield from _duplicate_keys(item, f"{path}[{index}]", lines)
    elif isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            where = f"{path}.{key}" if path else key
            if key in first:
                yield Problem(
                    where,
                    f"given twice, at lines {first[key]} and {line}",
                    "ids and keys must be unique: rename or remove one",
                )
            first.setdefault(key, line)
            lines.setdefault(where, line)
            yield from _duplicate_keys(value_node, where, lines)


class _TextLoader(yaml.SafeLoader):
    """SafeLoader that keeps scalars as the text written."""


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
