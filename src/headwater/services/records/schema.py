"""Avro record schemas and their Arrow equivalents.

``RecordSchema`` pairs an Avro schema (what registries and Avro files hold) with the
Arrow schema records are read into, and the per-field converters ``coerce`` uses.
Nullable unions (``["null", T]`` in either order) are nullable Arrow fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from fastavro import parse_schema
from fastavro.schema import SchemaParseException

from headwater.services.records.api import RecordError
from headwater.services.records.coerce import Converter, converter, non_null, nullable


@dataclass(frozen=True)
class RecordSchema:
    """One Avro record schema: its text, the parsed JSON and the Arrow equivalent."""

    text: str
    avro: dict[str, Any]
    arrow: pa.Schema
    name: str | None = None
    converters: tuple[tuple[str, bool, Converter], ...] = field(default=(), repr=False)


@lru_cache(maxsize=256)
def parse_avro_schema(text: str, name: str | None = None) -> RecordSchema:
    """The schema in ``text``; ``ValueError`` says what is wrong with it."""
    try:
        avro = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"schema is not JSON: {exc}") from None
    return from_avro(avro, name, text)


def from_avro(avro: Any, name: str | None = None, text: str | None = None) -> RecordSchema:
    """A ``RecordSchema`` from a parsed Avro schema, which must be a record."""
    if not isinstance(avro, dict) or avro.get("type") != "record":
        raise ValueError("an Avro record schema must be a JSON object with type 'record'")
    try:
        parse_schema(avro)
    except (SchemaParseException, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a valid Avro schema: {exc}") from None
    arrow = pa.schema([_arrow_field(f) for f in avro["fields"]])
    converters = tuple(
        (f["name"], nullable(f["type"]), converter(non_null(f["type"]), f["name"]))
        for f in avro["fields"]
    )
    text = text if text is not None else orjson.dumps(avro).decode()
    return RecordSchema(text, avro, arrow, name or avro.get("name"), converters)


def _arrow_field(avro_field: Mapping[str, Any]) -> pa.Field:
    kind = avro_field["type"]
    return pa.field(avro_field["name"], arrow_type(non_null(kind)), nullable=nullable(kind))


_PRIMITIVES: dict[str, pa.DataType] = {
    "null": pa.null(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bytes": pa.binary(),
    "string": pa.string(),
}


def arrow_type(avro_type: Any) -> pa.DataType:
    """The Arrow type for one (non-union) Avro type."""
    if isinstance(avro_type, str):
        if avro_type not in _PRIMITIVES:
            raise ValueError(f"named type references are not supported: {avro_type!r}")
        return _PRIMITIVES[avro_type]
    if isinstance(avro_type, list):
        return arrow_type(non_null(avro_type))
    logical = avro_type.get("logicalType")
    kind = avro_type["type"]
    if logical == "timestamp-millis":
        return pa.timestamp("ms", tz="UTC")
    if logical == "timestamp-micros":
        return pa.timestamp("us", tz="UTC")
    if logical == "date":
        return pa.date32()
    if logical == "decimal":
        return pa.decimal128(int(avro_type["precision"]), int(avro_type.get("scale", 0)))
    if kind == "record":
        return pa.struct([_arrow_field(f) for f in avro_type["fields"]])
    if kind == "array":
        return pa.list_(arrow_type(avro_type["items"]))
    if kind == "map":
        return pa.map_(pa.string(), arrow_type(avro_type["values"]))
    if kind == "enum":
        return pa.string()
    return arrow_type(kind)


def to_avro(schema: pa.Schema, name: str = "record") -> dict[str, Any]:
    """An Avro record schema for an Arrow schema (for writers given inferred records)."""
    return {"type": "record", "name": name, "fields": [_avro_field(f, name) for f in schema]}


def _avro_field(arrow_field: pa.Field, parent: str) -> dict[str, Any]:
    kind = _avro_type(arrow_field.type, f"{parent}_{arrow_field.name}")
    return {"name": arrow_field.name, "type": ["null", kind] if arrow_field.nullable else kind}


def _avro_type(kind: pa.DataType, name: str) -> Any:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "int" if kind.bit_width <= 32 and pa.types.is_signed_integer(kind) else "long"
    if pa.types.is_float32(kind):
        return "float"
    if pa.types.is_floating(kind):
        return "double"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return "string"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "bytes"
    if pa.types.is_timestamp(kind):
        return {"type": "long", "logicalType": "timestamp-millis"}
    if pa.types.is_date(kind):
        return {"type": "int", "logicalType": "date"}
    if pa.types.is_decimal(kind):
        return {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": kind.precision,
            "scale": kind.scale,
        }
    if pa.types.is_struct(kind):
        return {
            "type": "record",
            "name": name,
            "fields": [_avro_field(kind.field(i), name) for i in range(kind.num_fields)],
        }
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return {"type": "array", "items": ["null", _avro_type(kind.value_type, name)]}
    if pa.types.is_map(kind):
        return {"type": "map", "values": ["null", _avro_type(kind.item_type, name)]}
    raise RecordError(f"no Avro type for Arrow type {kind}")
