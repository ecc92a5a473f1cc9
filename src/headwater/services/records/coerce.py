"""Coercion of records to a schema.

A device writes ``"23.97"`` where the schema says double and ``"12"`` where it says
int; NiFi's record readers coerce such values to the field's type, and so do we. A
value that cannot be coerced, or a required field that is missing, raises
``RecordError`` naming the record index and the field.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from headwater.services.records.api import RecordError

if TYPE_CHECKING:
    from headwater.services.records.schema import RecordSchema

Converter = Callable[[Any], Any]
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def nullable(avro_type: Any) -> bool:
    """Whether an Avro field type admits null (a union with "null", either order)."""
    return isinstance(avro_type, list) and "null" in avro_type


def non_null(avro_type: Any) -> Any:
    """The type a nullable union wraps; other unions have no single Arrow type."""
    if isinstance(avro_type, list):
        rest = [t for t in avro_type if t != "null"]
        if len(rest) != 1:
            raise ValueError(f"only unions of null and one type are supported, got {avro_type}")
        return rest[0]
    return avro_type


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


def converter(avro_type: Any, path: str) -> Converter:
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
                nullable(f["type"]),
                converter(non_null(f["type"]), f"{path}.{f['name']}"),
            )
            for f in avro_type["fields"]
        ]
        return lambda value: _record(value, fields, path)
    if kind == "array":
        item = converter(non_null(avro_type["items"]), f"{path}[]")
        return lambda value: [None if v is None else item(v) for v in _sequence(value, path)]
    if kind == "map":
        item = converter(non_null(avro_type["values"]), f"{path}{{}}")
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
    return converter(kind, path)


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


_NATIVE: dict[str, frozenset[type]] = {
    "boolean": frozenset({bool}),
    "int": frozenset({int}),
    "long": frozenset({int}),
    "float": frozenset({float, int}),
    "double": frozenset({float, int}),
    "string": frozenset({str}),
    "bytes": frozenset({bytes}),
}


def coerce_records(records: Sequence[Any], schema: RecordSchema) -> pa.Table:
    """``records`` (parsed JSON objects) as a table of ``schema``, values coerced.

    Works a column at a time: a column whose values already have the field's Python
    type goes to Arrow as it is; only the others are converted value by value."""
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise RecordError(f"expected an object, got {record!r:.80}", index=index)
    columns = []
    for (name, nullable, convert), avro_field in zip(
        schema.converters, schema.avro["fields"], strict=True
    ):
        values = [record.get(name) for record in records]
        if not nullable and None in values:
            index = values.index(None)
            missing = "is missing" if name not in records[index] else "is null"
            raise RecordError(f"required field {missing}", index=index, field=name)
        kind = non_null(avro_field["type"])
        native = _NATIVE.get(kind) if isinstance(kind, str) else None
        target = schema.arrow.field(name).type
        if native is None or any(type(v) not in native for v in values if v is not None):
            cast_column = _cast_text(values, target, kind)
            columns.append(_convert_column(values, convert) if cast_column is None else cast_column)
        else:
            columns.append(values)
    try:
        return pa.Table.from_arrays(
            [
                c if isinstance(c, pa.Array) else pa.array(c, type=f.type)
                for c, f in zip(columns, schema.arrow, strict=True)
            ],
            schema=schema.arrow,
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise RecordError(f"records do not fit the schema: {exc}") from None


def _cast_text(values: list[Any], target: pa.DataType, kind: Any) -> pa.Array | None:
    """A column of numbers or booleans sent as text, cast by Arrow in one go; None when
    it holds anything else or a value Arrow will not cast (then each value is tried, to
    name the one that fails)."""
    if kind not in ("int", "long", "float", "double") or any(
        type(v) is not str for v in values if v is not None
    ):
        return None
    try:
        return pc.cast(pa.array(values, type=pa.string()), target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _convert_column(values: list[Any], convert: Converter) -> list[Any]:
    out = []
    for index, value in enumerate(values):
        try:
            out.append(None if value is None else convert(value))
        except _Unfit as exc:
            raise RecordError(str(exc), index=index, field=exc.path or None) from None
    return out


def table_from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema | None) -> pa.Table:
    """An Arrow table from Python rows. Without a schema, the fields are those of every
    row in order of first appearance (a field only some rows have is null in the others,
    never dropped), with types inferred by pyarrow."""
    try:
        if schema is not None:
            return pa.Table.from_pylist(list(rows), schema=schema)
        if not rows:
            return pa.table({})
        return pa.Table.from_struct_array(pa.array(rows))
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
