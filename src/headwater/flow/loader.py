"""Load a flow file (YAML) into a validated ``FlowDefinition``, listing every problem.

Nothing stops at the first mistake: the reader walks the whole file, collects a
``Problem`` with a dotted path for each thing wrong, and raises one
``FlowDefinitionError`` (a ``ConfigurationError`` that also knows the line of each
path in the YAML) at the end::

    processors.merge.properties.min-records: expected a whole number, got 'ten'
    processors.route: relationship 'unmatched' is neither connected nor auto-terminated

Parameters (``#{name}``; ``##{`` writes a literal ``#{``) are substituted in every
property and schedule value before it is checked, so a value is validated as it
will run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from headwater.context import canonical_values, validate_properties
from headwater.errors import ConfigurationError, Problem
from headwater.flow import schema
from headwater.flow.model import (
    DEFAULT_BACK_PRESSURE_BYTES,
    DEFAULT_BACK_PRESSURE_OBJECTS,
    DEFAULT_SWAP_THRESHOLD,
    ConnectionDefinition,
    FlowDefinition,
    Overflow,
    ProcessorDefinition,
    Schedule,
    ServiceDefinition,
)
from headwater.processor import (
    ControllerService,
    InputRequirement,
    Processor,
    processor_type,
    service_type,
)
from headwater.units import (
    parse_bool,
    parse_data_size,
    parse_duration,
    parse_non_negative_int,
    parse_positive_int,
)

T = TypeVar("T")

_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def load_flow(
    path_or_text: str | os.PathLike[str], *, parameters: Mapping[str, str] | None = None
) -> FlowDefinition:
    """The flow in a file, or in YAML text; ``parameters`` override the file's own.

    A ``Path``, or a one-line string ending in ``.yaml``/``.yml``/``.json``, is read
    as a file; any other string is the YAML itself. Raises ``ConfigurationError``
    listing every problem found.
    """
    source, text = _read(path_or_text)
    document = schema.read_yaml(text)
    if document.data is None and document.problems:
        raise FlowDefinitionError(document.problems, {})
    return _FlowReader(source, parameters, document.problems, document.lines).read(document.data)


def load_flow_dict(
    data: Mapping[str, Any], source: str = "<flow>", *, parameters: Mapping[str, str] | None = None
) -> FlowDefinition:
    """The flow in already-parsed data (YAML or JSON); ``source`` names it for messages
    and gives the flow its name when the data has none."""
    return _FlowReader(source, parameters, [], {}).read(data)


class FlowDefinitionError(ConfigurationError):
    """Every problem with a flow, and the line on which each path is written when the
    flow came from YAML text (``line_of``), so messages can point into the file."""

    def __init__(self, problems: Iterable[Problem], lines: Mapping[str, int]) -> None:
        super().__init__(problems)
        self.lines = dict(lines)

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest written parent (a missing required
        property points at its processor's properties); None when unknown."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[: max(path.rfind("."), path.rfind("["), 0)]
        return None


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str]:
    if isinstance(path_or_text, str) and (
        "\n" in path_or_text or not path_or_text.strip().endswith(_FILE_SUFFIXES)
    ):
        return "<text>", path_or_text
    path = Path(path_or_text)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigurationError(
            [Problem("", f"cannot read the flow file {str(path)!r}: {reason}", "check the path")]
        ) from exc


@dataclass
class _Processor:
    """What was read about one processor, before the connections are known."""

    id: str
    type: type[Processor] | None
    properties: dict[str, str]
    schedule: Schedule
    auto_terminate: list[str]
    name: str | None
    enabled: bool
    incoming: int = 0
    connected: set[str] = field(default_factory=set)


class _FlowReader(schema.ValueReader):
    """Reads one flow, section by section, collecting problems instead of raising."""

    def __init__(
        self,
        source: str,
        overrides: Mapping[str, str] | None,
        problems: list[Problem],
        lines: dict[str, int],
    ) -> None:
        super().__init__(problems, overrides)
        self.source = source
        self.lines = lines
        self.services: dict[str, ServiceDefinition] = {}
        self.service_types: dict[str, type[ControllerService]] = {}
        self.untyped_services: set[str] = set()
        self.processors: dict[str, _Processor] = {}

    def read(self, data: object) -> FlowDefinition:
        if not isinstance(data, Mapping):
            found = "an empty file" if data is None else schema.kind_of(data)
            self.problem("", f"expected a mapping with processors:, got {found}")
            raise FlowDefinitionError(self.problems, self.lines)
        self.known_keys(data, schema.TOP_LEVEL_KEYS, "", "top-level key")
        name = self.plain(data.get("flow"), "flow") or self.default_name()
        base = Path(self.source).parent if self.source.endswith(_FILE_SUFFIXES) else None
        self.read_parameters(data.get("parameters"), base)
        settings = self.read_settings(data.get("settings"))
        for service_id, raw in self.mapping(data.get("services"), "services").items():
            self.read_service(service_id, raw)
        self.validate_services()
        for processor_id, raw in self.mapping(data.get("processors"), "processors").items():
            self.read_processor(processor_id, raw)
        connections = self.read_connections(data.get("connections"))
        for processor in self.processors.values():
            self.check_relationships(processor)
        if self.problems:
            raise FlowDefinitionError(self.problems, self.lines)
        return FlowDefinition(
            name=name,
            processors={p.id: self.definition(p) for p in self.processors.values()},
            connections=tuple(connections),
            services=self.services,
            parameters=self.parameters,
            settings=settings,
        )

    def default_name(self) -> str:
        return "flow" if self.source.startswith("<") else Path(self.source).stem

    def read_service(self, service_id: str, raw: object) -> None:
        path = f"services.{service_id}"
        if not isinstance(raw, Mapping):
            self.problem(path, f"expected a mapping with type:, got {schema.kind_of(raw)}")
            self.untyped_services.add(service_id)
            return
        data = self.mapping(raw, path)
        self.known_keys(data, schema.SERVICE_KEYS, path, "service key")
        kind = self.component_type(service_type, data.get("type"), path)
        properties = self.properties(data.get("properties"), path)
        if kind is None:
            self.untyped_services.add(service_id)
            return
        self.service_types[service_id] = kind
        self.services[service_id] = ServiceDefinition(service_id, kind, properties)

    def validate_services(self) -> None:
        for service in list(self.services.values()):
            path = f"services.{service.id}"
            self.check_properties(service.type, service.properties, path)
            values = canonical_values(service.type, service.properties)
            self.services[service.id] = ServiceDefinition(service.id, service.type, values)

    def read_processor(self, processor_id: str, raw: object) -> None:
        path = f"processors.{processor_id}"
        if not isinstance(raw, Mapping):
            self.problem(path, f"expected a mapping with type:, got {schema.kind_of(raw)}")
            self.processors[processor_id] = _Processor(
                processor_id, None, {}, Schedule(), [], None, True
            )
            return
        data = self.mapping(raw, path)
        self.known_keys(data, schema.PROCESSOR_KEYS, path, "processor key")
        if processor_id in self.services or processor_id in self.untyped_services:
            self.problem(path, "this id is also a service's", "ids must be unique across the flow")
        kind = self.component_type(processor_type, data.get("type"), path)
        properties = self.properties(data.get("properties"), path)
        if kind is not None:
            self.check_properties(kind, properties, path)
            properties = canonical_values(kind, properties)
        default_period = kind.default_schedule if kind else "0 sec"
        enabled = self.text(data.get("enabled"), f"{path}.enabled")
        self.processors[processor_id] = _Processor(
            id=processor_id,
            type=kind,
            properties=properties,
            schedule=self.read_schedule(data.get("schedule"), f"{path}.schedule", default_period),
            auto_terminate=self.names(data.get("auto-terminate"), f"{path}.auto-terminate"),
            name=self.plain(data.get("name"), f"{path}.name"),
            enabled=self.parse(parse_bool, enabled, f"{path}.enabled", True),
        )

    def component_type(
        self, lookup: Callable[[str], type[T]], value: object, path: str
    ) -> type[T] | None:
        name = self.plain(value, f"{path}.type")
        if name is None:
            self.problem(path, "has no type", "add type: with the component's type name")
            return None
        try:
            return lookup(name)
        except ConfigurationError as exc:
            self.problems.extend(exc.at(f"{path}.type").problems)
            return None

    def properties(self, value: object, path: str) -> dict[str, str]:
        """Property values as text, parameters substituted; a null value is unset."""
        out: dict[str, str] = {}
        for key, item in self.mapping(value, f"{path}.properties").items():
            text = self.text(item, f"{path}.properties.{key}")
            if text is not None:
                out[key] = text
        return out

    def check_properties(
        self, kind: type[Processor] | type[ControllerService], values: dict[str, str], path: str
    ) -> None:
        named: dict[str, str] = {}
        for key in values:
            prop = kind.property_named(key)
            if prop is None:
                continue
            if prop.name in named:
                self.problem(
                    f"{path}.properties.{key}",
                    f"sets {prop.name!r} a second time (also given as {named[prop.name]!r})",
                    "keep one of them",
                )
            named[prop.name] = key
        # A reference to a service whose own type is unknown was already reported there.
        skip = {f"properties.{k}" for k, v in values.items() if v in self.untyped_services}
        for found in validate_properties(kind, values, self.service_types):
            if found.path not in skip:
                self.problems.append(Problem(f"{path}.{found.path}", found.message, found.hint))

    # -- connections -----------------------------------------------------------------

    def read_connections(self, value: object) -> list[ConnectionDefinition]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem("connections", f"expected a list, got {schema.kind_of(value)}")
            return []
        explicit: dict[str, str] = {}
        ids: list[str | None] = []
        for index, raw in enumerate(value):
            given = raw.get("id") if isinstance(raw, Mapping) else None
            text = None if given is None else self.plain(given, f"connections[{index}].id")
            ids.append(text)
            if text is None:
                continue
            if text in explicit:
                self.problem(
                    f"connections[{index}].id",
                    f"duplicate connection id {text!r} (also {explicit[text]})",
                    "ids must be unique; rename one",
                )
            explicit.setdefault(text, f"connections[{index}]")
        taken = set(explicit)
        out = []
        for index, raw in enumerate(value):
            connection = self.read_connection(raw, f"connections[{index}]", ids[index], taken)
            if connection is not None:
                out.append(connection)
        return out

    def read_connection(
        self, raw: object, path: str, connection_id: str | None, taken: set[str]
    ) -> ConnectionDefinition | None:
        if not isinstance(raw, Mapping) or not raw:
            found = schema.kind_of(raw)
            self.problem(
                path, f"expected a mapping with from:, relationships: and to:, got {found}"
            )
            return None
        data = self.mapping(raw, path)
        self.known_keys(data, schema.CONNECTION_KEYS, path, "connection key")
        source = self.endpoint(data.get("from"), f"{path}.from")
        destination = self.endpoint(data.get("to"), f"{path}.to")
        relationships = self.names(data.get("relationships"), f"{path}.relationships")
        if not relationships:
            self.problem(path, "has no relationships", "list the relationships it carries")
        if source is not None:
            self.check_connected(source, relationships, f"{path}.relationships")
        if destination is not None:
            destination.incoming += 1
        overflow = self.read_overflow(data.get("overflow"), f"{path}.overflow")
        # A capped queue drops its oldest instead of holding the source back: without
        # back-pressure: given, it has none, or the source would stop before the cap.
        objects = DEFAULT_BACK_PRESSURE_OBJECTS if overflow is None else 0
        size = DEFAULT_BACK_PRESSURE_BYTES if overflow is None else 0
        pressure = self.mapping(data.get("back-pressure"), f"{path}.back-pressure")
        if pressure:
            where = f"{path}.back-pressure"
            self.known_keys(pressure, schema.BACK_PRESSURE_KEYS, where, "back-pressure key")
            objects_text = self.text(pressure.get("objects"), f"{where}.objects")
            size_text = self.text(pressure.get("size"), f"{where}.size")
            objects = self.parse(parse_non_negative_int, objects_text, f"{where}.objects", objects)
            size = self.parse(parse_data_size, size_text, f"{where}.size", size)
            if overflow is not None:
                self.check_overflow(overflow, objects, size, path)
        prioritizers = []
        for index, name in enumerate(self.names(data.get("prioritizers"), f"{path}.prioritizers")):
            full = schema.prioritizer_name(name)
            if full is None:
                self.problem(
                    f"{path}.prioritizers[{index}]",
                    f"unknown prioritizer {name!r}",
                    schema.prioritizer_hint(name),
                )
            else:
                prioritizers.append(full)
        expiration = self.text(data.get("expiration"), f"{path}.expiration")
        swap = self.text(data.get("swap-threshold"), f"{path}.swap-threshold")
        if source is None or destination is None:
            return None
        if connection_id is None:
            connection_id = _unique(
                f"{source.id}/{','.join(relationships)}/{destination.id}", taken
            )
            taken.add(connection_id)
        return ConnectionDefinition(
            id=connection_id,
            source=source.id,
            relationships=tuple(relationships),
            destination=destination.id,
            back_pressure_objects=objects,
            back_pressure_bytes=size,
            expiration=self.parse(parse_duration, expiration, f"{path}.expiration", 0.0),
            prioritizers=tuple(prioritizers),
            swap_threshold=self.parse(
                parse_positive_int, swap, f"{path}.swap-threshold", DEFAULT_SWAP_THRESHOLD
            ),
            name=self.plain(data.get("name"), f"{path}.name"),
            overflow=overflow,
        )

    def check_overflow(self, overflow: Overflow, objects: int, size: int, path: str) -> None:
        """Back pressure reached before the overflow cap would stop the source instead."""
        if (size and size <= overflow.max_bytes) or (objects and objects <= overflow.max_objects):
            self.problem(
                f"{path}.back-pressure",
                f"stops the source before the overflow cap of {overflow.describe()} is reached,"
                " so nothing would ever be dropped",
                "remove back-pressure: (a capped connection needs none), or set its limits"
                " above the overflow's",
            )

    def endpoint(self, value: object, path: str) -> _Processor | None:
        name = self.plain(value, path)
        if name is None:
            self.problem(path, "is missing", "name a processor id")
            return None
        found = self.processors.get(name)
        if found is None:
            hint = schema.nearest(
                name, list(self.processors), "processors: " + ", ".join(self.processors)
            )
            self.problem(path, f"unknown processor {name!r}", hint)
        return found

    def relationships_of(self, processor: _Processor) -> list[str]:
        if processor.type is None:
            return []
        try:
            found = processor.type.relationships_for(processor.properties)
        except (ValueError, TypeError, LookupError):
            found = processor.type.relationships
        return [r.name for r in found]

    def check_connected(self, source: _Processor, relationships: list[str], path: str) -> None:
        source.connected.update(relationships)
        if source.type is None:
            return
        known = self.relationships_of(source)
        for index, name in enumerate(relationships):
            if name not in known:
                self.problem(
                    f"{path}[{index}]",
                    f"{source.type.type_name()} {source.id!r} has no relationship {name!r}",
                    schema.nearest(name, known, "it has: " + ", ".join(known)),
                )

    def check_relationships(self, processor: _Processor) -> None:
        if processor.type is None:
            return
        path = f"processors.{processor.id}"
        known = self.relationships_of(processor)
        for index, name in enumerate(processor.auto_terminate):
            if name not in known:
                self.problem(
                    f"{path}.auto-terminate[{index}]",
                    f"{processor.type.type_name()} has no relationship {name!r}",
                    schema.nearest(name, known, "it has: " + ", ".join(known)),
                )
        for name in known:
            if name not in processor.connected and name not in processor.auto_terminate:
                self.problem(
                    path,
                    f"relationship {name!r} is neither connected nor auto-terminated",
                    f"connect it, or add it to auto-terminate: [{name}]",
                )
        requirement = processor.type.input_requirement
        if requirement is InputRequirement.FORBIDDEN and processor.incoming:
            self.problem(
                path,
                f"{processor.type.type_name()} takes no input, but a connection leads to it",
                "remove the connections whose to: is this processor",
            )
        elif requirement is InputRequirement.REQUIRED and not processor.incoming:
            self.problem(
                path,
                f"{processor.type.type_name()} needs input, but no connection leads to it",
                "add a connection with to: " + processor.id,
            )

    def definition(self, processor: _Processor) -> ProcessorDefinition:
        assert processor.type is not None  # any unknown type has raised already
        return ProcessorDefinition(
            id=processor.id,
            type=processor.type,
            properties=processor.properties,
            schedule=processor.schedule,
            auto_terminate=frozenset(processor.auto_terminate),
            name=processor.name,
            enabled=processor.enabled,
        )


def _unique(candidate: str, taken: set[str]) -> str:
    if candidate not in taken:
        return candidate
    number = 2
    while f"{candidate}~{number}" in taken:
        number += 1
    return f"{candidate}~{number}"
