"""AvroSchemaRegistry, and how readers and writers find their schema.

NiFi's ``schema-access-strategy`` decides where a record schema comes from: inferred
from the data, looked up by name in a schema registry (``schema-name``, by default the
FlowFile's ``schema.name`` attribute), or taken from ``schema-text`` (by default the
``avro.schema`` attribute). Formats that carry their schema add their own strategy
(Avro's ``embedded-avro-schema``); writers add ``inherit-record-schema``.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from typing import Any, cast

from headwater.context import ServiceContext
from headwater.errors import Problem
from headwater.processor import ControllerService, DynamicProperty, Property
from headwater.services.records.api import RecordError
from headwater.services.records.schema import RecordSchema, parse_avro_schema
from headwater.units import parse_bool

INFER = "infer-schema"
BY_NAME = "schema-name"
BY_TEXT = "schema-text-property"
INHERIT = "inherit-record-schema"
EMBEDDED = "embedded-avro-schema"


class AvroSchemaRegistry(ControllerService):
    """Avro schemas by name: each dynamic property is a schema name and its Avro schema
    text; every schema is checked when the flow loads."""

    tags = ("schema", "registry", "avro", "json", "csv")
    dynamic_property = DynamicProperty("A schema name, to its Avro schema text", expression=False)

    validate_names = Property(
        "avro-reg-validated-field-names",
        "Whether field names must be valid Avro names",
        display_name="Validate Field Names",
        default="true",
        parse=parse_bool,
    )

    def __init__(self) -> None:
        self._schemas: dict[str, RecordSchema] = {}

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        problems = []
        check_names = values.get(cls.validate_names.name, "true").strip().lower() == "true"
        for name, text in values.items():
            if cls.property_named(name) is None:
                try:
                    schema = parse_avro_schema(text, name)
                    bad = _invalid_names(schema.avro) if check_names else []
                    if bad:
                        raise ValueError(
                            f"field names {bad} are not valid Avro names ([A-Za-z_][A-Za-z0-9_]*)"
                        )
                except ValueError as exc:
                    problems.append(Problem(f"properties.{name}", str(exc)))
        return problems

    def on_enabled(self, context: ServiceContext) -> None:
        dynamic = context.dynamic.items()
        self._schemas = {name: parse_avro_schema(value.raw, name) for name, value in dynamic}

    def schema(self, name: str) -> RecordSchema:
        """The schema registered as ``name``; ``RecordError`` when there is none."""
        try:
            return self._schemas[name]
        except KeyError:
            known = ", ".join(sorted(self._schemas)) or "none"
            raise RecordError(
                f"no schema named {name!r} in the registry (it has: {known})"
            ) from None

    @property
    def names(self) -> list[str]:
        return sorted(self._schemas)


_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _invalid_names(avro: Any) -> list[str]:
    """Field names anywhere in the schema that Avro's name rules refuse."""
    if isinstance(avro, list):
        return [bad for item in avro for bad in _invalid_names(item)]
    if not isinstance(avro, dict):
        return []
    bad = [f["name"] for f in avro.get("fields", []) if not _AVRO_NAME.fullmatch(f["name"])]
    for part in [
        *(f["type"] for f in avro.get("fields", [])),
        avro.get("items"),
        avro.get("values"),
    ]:
        bad.extend(_invalid_names(part))
    return bad


def strategy_property(default: str, *extra: str, infer: bool = True) -> Property[str]:
    """The ``schema-access-strategy`` property, with a component's own default and the
    strategies only it offers (embedded schemas, inheriting the records' schema)."""
    allowed = (*extra, BY_NAME, BY_TEXT, *((INFER,) if infer else ()))
    return Property(
        "schema-access-strategy",
        "Where the record schema comes from: " + ", ".join(allowed),
        display_name="Schema Access Strategy",
        default=default,
        allowed=allowed,
    )


SCHEMA_REGISTRY: Property[AvroSchemaRegistry] = Property(
    "schema-registry",
    "The schema registry to look schema names up in",
    display_name="Schema Registry",
    service=AvroSchemaRegistry,
    parse=lambda text: cast(AvroSchemaRegistry, text),  # the context hands out the service
)
SCHEMA_NAME = Property(
    "schema-name",
    "The name of the schema in the registry",
    display_name="Schema Name",
    default="${schema.name}",
    expression=True,
)
SCHEMA_TEXT = Property(
    "schema-text",
    "The Avro schema text",
    display_name="Schema Text",
    default="${avro.schema}",
    expression=True,
)


def strategy_problems(values: Mapping[str, str]) -> list[Problem]:
    """Problems between the strategy and the properties it needs."""
    if values.get("schema-access-strategy") == BY_NAME and "schema-registry" not in values:
        return [
            Problem(
                "properties.schema-registry",
                "is required when schema-access-strategy is schema-name",
                "add an AvroSchemaRegistry service and refer to it",
            )
        ]
    return []


class SchemaAccess:
    """Resolves a component's schema for one FlowFile's attributes: a ``RecordSchema``,
    or None when the schema is inferred, embedded or inherited from the records."""

    def __init__(self, context: ServiceContext, strategy: Property[str]) -> None:
        self.strategy = context[strategy]
        self._variables = context.variables
        self._registry: AvroSchemaRegistry | None = context.get(SCHEMA_REGISTRY)
        self._name = context.value(SCHEMA_NAME)
        self._text = context.value(SCHEMA_TEXT)

    def schema(self, attributes: Mapping[str, str]) -> RecordSchema | None:
        if self.strategy == BY_NAME:
            assert self._registry is not None and self._name is not None
            name = self._name.evaluate(self._lookup(attributes))
            if not name:
                raise RecordError("no schema name: the FlowFile has no schema.name attribute")
            return self._registry.schema(name)
        if self.strategy == BY_TEXT:
            assert self._text is not None
            text = self._text.evaluate(self._lookup(attributes))
            if not text:
                raise RecordError("no schema text: the FlowFile has no avro.schema attribute")
            try:
                return parse_avro_schema(text)
            except ValueError as exc:
                raise RecordError(f"schema text: {exc}") from None
        return None

    def _lookup(self, attributes: Mapping[str, str]) -> Mapping[str, Any]:
        return ChainMap(dict(attributes), dict(self._variables)) if self._variables else attributes


class SchemaAccessing:
    """What every record reader and writer declares to find its schema: the registry,
    the schema name and text, their validation, and the lookup built when enabled.
    Mixed in before the reader or writer base; each class declares its ``strategy``."""

    strategy: Property[str]
    registry = SCHEMA_REGISTRY
    schema_name = SCHEMA_NAME
    schema_text = SCHEMA_TEXT
    _access: SchemaAccess

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        return strategy_problems(values)

    def on_enabled(self, context: ServiceContext) -> None:
        self._access = SchemaAccess(context, self.strategy)
