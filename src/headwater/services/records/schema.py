"""Avro schemas as Arrow schemas, and coercion of records to them.

A device writes ``"23.97"`` where the schema says double and ``"12"`` where it says
int; NiFi's record readers coerce such values to the field's type, and so do we. A
value that cannot be coerced, or a required field that is missing, raises
``RecordError`` naming the record index and the field.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from fastavro import parse_schema
from fastavro.schema import SchemaParseException

from headwater.services.records.api import RecordError

Converter = Callable[[Any], Any]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


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
        (f["name"], _nullable(f["type"]), _converter(_non_null(f["type"]), f["name"]))
        for f in avro["fields"]
    )
    text = text if text is not None else orjson.dumps(avro).decode()
    return RecordSchema(text, avro, arrow, name or avro.get("name"), converters)


def _nullable(avro_type: Any) -> bool:
    return isinstance(avro_type, list) and "null" in avro_type


def _non_null(avro_type: Any) -> Any:
    if isinstance(avro_type, list):
        rest = [t for t in avro_type if t != "null"]
        if len(rest) != 1:
            raise ValueError(f"only unions of null and one type are supported, got {avro_type}")
        return rest[0]
    return avro_type


def _arrow_field(avro_field: Mapping[str, Any]) -> pa.Field:
    kind = avro_field["type"]
    return pa.field(avro_field["name"], arrow_type(_non_null(kind)), nullable=_nullable(kind))


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
        return arrow_type(_non_null(avro_type))
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


# Coercion: one converter per field, built once per schema.


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError("has a fraction")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)
            if number.is_integer():
                return int(number)
            raise ValueError("has a fraction") from None
    raise TypeError


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, (int, float, str, decimal.Decimal)):
        return float(value)
    raise TypeError


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    raise TypeError


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError


def _to_timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _EPOCH + datetime.timedelta(milliseconds=value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return _EPOCH + datetime.timedelta(milliseconds=int(text))
        return _to_timestamp(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")))
    raise TypeError


def _to_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=value)
    if isinstance(value, str):
        return datetime.date.fromisoformat(value.strip())
    raise TypeError


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, (int, float, str, decimal.Decimal)) and not isinstance(value, bool):
        return decimal.Decimal(str(value).strip())
    raise TypeError


_SIMPLE: dict[str, Converter] = {
    "boolean": _to_bool,
    "int": _to_int,
    "long": _to_int,
    "float": _to_float,
    "double": _to_float,
    "string": _to_str,
    "bytes": _to_bytes,
}
_LOGICAL: dict[str, Converter] = {
    "timestamp-millis": _to_timestamp,
    "timestamp-micros": _to_timestamp,
    "date": _to_date,
    "decimal": _to_decimal,
}


class _Unfit(Exception):
    """A value does not fit; carries the dotted path of the field inside the record."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _converter(avro_type: Any, path: str) -> Converter:
    """A function coercing one value to ``avro_type``; raises ``_Unfit`` when it can't."""
    if isinstance(avro_type, str):
        simple = _SIMPLE.get(avro_type)
        if simple is None:
            return lambda value: value
        return _leaf(simple, avro_type, path)
    logical = avro_type.get("logicalType")
    if logical in _LOGICAL:
        return _leaf(_LOGICAL[logical], logical, path)
    kind = avro_type["type"]
    if kind == "record":
        fields = [
            (
                f["name"],
                _nullable(f["type"]),
                _converter(_non_null(f["type"]), f"{path}.{f['name']}"),
            )
            for f in avro_type["fields"]
        ]
        return lambda value: _record(value, fields, path)
    if kind == "array":
        item = _converter(_non_null(avro_type["items"]), f"{path}[]")
        return lambda value: [None if v is None else item(v) for v in _sequence(value, path)]
    if kind == "map":
        item = _converter(_non_null(avro_type["values"]), f"{path}{{}}")
        return lambda value: {
            str(k): None if v is None else item(v) for k, v in _mapping(value, path).items()
        }
    if kind == "enum":
        symbols = set(avro_type["symbols"])

        def enum(value: Any) -> Any:
            if value not in symbols:
                raise _Unfit(path, f"{value!r} is not one of {sorted(symbols)}")
            return value

        return enum
    return _converter(kind, path)


def _leaf(convert: Converter, kind: str, path: str) -> Converter:
    def coerce(value: Any) -> Any:
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError) as exc:
            reason = f" ({exc})" if str(exc) else ""
            raise _Unfit(path, f"cannot coerce {value!r} to {kind}{reason}") from None

    return coerce


def _sequence(value: Any, path: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise _Unfit(path, f"expected an array, got {value!r}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Unfit(path, f"expected an object, got {value!r}")
    return value


def _record(
    value: Any, fields: Sequence[tuple[str, bool, Converter]], path: str | None
) -> dict[str, Any]:
    record = _mapping(value, path or "")
    out: dict[str, Any] = {}
    for name, nullable, convert in fields:
        item = record.get(name)
        if item is None:
            if not nullable:
                where = f"{path}.{name}" if path else name
                missing = "is missing" if name not in record else "is null"
                raise _Unfit(where, f"required field {missing}")
            out[name] = None
        else:
            out[name] = convert(item)
    return out


def coerce_records(records: Sequence[Any], schema: RecordSchema) -> pa.Table:
    """``records`` (parsed JSON objects) as a table of ``schema``, values coerced."""
    rows = []
    for index, record in enumerate(records):
        try:
            rows.append(_record(record, schema.converters, None))
        except _Unfit as exc:
            raise RecordError(str(exc), index=index, field=exc.path or None) from None
    return table_from_rows(rows, schema.arrow)


def table_from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema | None) -> pa.Table:
    """An Arrow table from Python rows; types inferred by pyarrow without a schema."""
    try:
        return pa.Table.from_pylist(list(rows), schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise RecordError(f"records do not fit one schema: {exc}") from None


def conform(table: pa.Table, schema: RecordSchema) -> pa.Table:
    """``table`` with exactly the columns of ``schema``, cast column by column; falls back
    to per-record coercion (and its errors naming the record) when a cast fails."""
    if table.schema.equals(schema.arrow):
        return table
    columns = []
    try:
        for target in schema.arrow:
            if target.name in table.column_names:
                column = table.column(target.name)
                columns.append(column if column.type == target.type else column.cast(target.type))
            else:
                columns.append(pa.nulls(table.num_rows, target.type))
        out = pa.Table.from_arrays(columns, schema=schema.arrow)
        for target in schema.arrow:
            if not target.nullable and out.column(target.name).null_count:
                raise pa.ArrowInvalid("nulls in a required field")
        return cast(pa.Table, out)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return coerce_records(table.to_pylist(), schema)
