import datetime
import decimal
import json

import pyarrow as pa
import pytest

from headwater.services.records import RecordError
from headwater.services.records.coerce import coerce_records, conform
from headwater.services.records.schema import parse_avro_schema, to_avro

NESTED = json.dumps(
    {
        "type": "record",
        "name": "reading",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "temp", "type": ["null", "double"]},
            {"name": "ok", "type": ["boolean", "null"]},
            {"name": "tags", "type": ["null", {"type": "array", "items": "string"}]},
            {"name": "labels", "type": ["null", {"type": "map", "values": "int"}]},
            {
                "name": "where",
                "type": [
                    "null",
                    {"type": "record", "name": "where", "fields": [{"name": "x", "type": "int"}]},
                ],
            },
            {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
            {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
            {
                "name": "price",
                "type": [
                    "null",
                    {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
                ],
            },
        ],
    }
)


def test_avro_schema_becomes_arrow_with_nullability() -> None:
    arrow = parse_avro_schema(NESTED).arrow
    assert arrow.field("id").type == pa.int64() and not arrow.field("id").nullable
    assert arrow.field("temp").type == pa.float64() and arrow.field("temp").nullable
    assert arrow.field("ok").nullable
    assert arrow.field("tags").type == pa.list_(pa.string())
    assert arrow.field("labels").type == pa.map_(pa.string(), pa.int32())
    assert arrow.field("where").type == pa.struct([pa.field("x", pa.int32(), nullable=False)])
    assert arrow.field("at").type == pa.timestamp("ms", tz="UTC")
    assert arrow.field("day").type == pa.date32()
    assert arrow.field("price").type == pa.decimal128(6, 2)


def test_strings_from_devices_are_coerced_to_the_field_types() -> None:
    record = {
        "id": "12",
        "temp": "23.97",
        "ok": "true",
        "tags": ["a", 1],
        "labels": {"cat": "3"},
        "where": {"x": 4.0},
        "at": "2019-02-13T13:04:28.961Z",
        "day": "2019-02-13",
        "price": "9.99",
    }
    row = coerce_records([record], parse_avro_schema(NESTED)).to_pylist()[0]
    assert row["id"] == 12 and row["temp"] == 23.97 and row["ok"] is True
    assert row["tags"] == ["a", "1"]
    assert row["labels"] == [("cat", 3)]
    assert row["where"] == {"x": 4}
    assert row["at"] == datetime.datetime(2019, 2, 13, 13, 4, 28, 961000, tzinfo=datetime.UTC)
    assert row["day"] == datetime.date(2019, 2, 13)
    assert row["price"] == decimal.Decimal("9.99")


def test_a_value_that_cannot_be_coerced_names_record_and_field() -> None:
    schema = parse_avro_schema(NESTED)
    with pytest.raises(RecordError, match=r"record 1, field 'temp': cannot coerce 'warm'"):
        coerce_records([{"id": 1}, {"id": 2, "temp": "warm"}], schema)
    with pytest.raises(RecordError, match=r"record 0, field 'id'.*fraction"):
        coerce_records([{"id": "2.5"}], schema)
    with pytest.raises(RecordError, match=r"field 'where.x'"):
        coerce_records([{"id": 1, "where": {"x": "left"}}], schema)


def test_a_missing_required_field_is_an_error() -> None:
    with pytest.raises(RecordError, match=r"record 2, field 'id': required field is missing"):
        coerce_records([{"id": 1}, {"id": 2}, {"temp": 1.0}], parse_avro_schema(NESTED))


def test_invalid_schemas_are_refused() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_avro_schema("{nope")
    with pytest.raises(ValueError, match="not a valid Avro schema"):
        parse_avro_schema('{"type": "record", "name": "r", "fields": [{"name": "a", "type": "x"}]}')


def test_conform_casts_columns_and_reports_bad_rows() -> None:
    schema = parse_avro_schema(NESTED)
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "temp": [1, 2], "extra": ["x", "y"]})
    out = conform(table, schema)
    assert out.schema == schema.arrow
    assert out.column("temp").to_pylist() == [1.0, 2.0]
    with pytest.raises(RecordError, match=r"record 1, field 'id': required field is null"):
        conform(pa.table({"id": [1, None]}), schema)


def test_arrow_schema_round_trips_through_avro() -> None:
    table = pa.table({"a": [1], "b": ["x"], "c": [1.5], "d": [[1, 2]], "e": [{"f": True}]})
    avro = to_avro(table.schema)
    assert parse_avro_schema(json.dumps(avro)).arrow == table.schema
