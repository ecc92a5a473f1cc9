import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.context import ServiceContext
from headwater.errors import ConfigurationError
from headwater.processor import ControllerService, service_type
from headwater.services.records import (
    AvroReader,
    AvroRecordSetWriter,
    AvroSchemaRegistry,
    JsonRecordSetWriter,
    JsonTreeReader,
    ParquetReader,
    ParquetRecordSetWriter,
    RecordError,
)

SEED = Path(__file__).parents[4] / "shared" / "seed"
NUMERIC = ("BH1745_clear", "te", "bme680_tempc", "bme680_pressure", "diskusage", "end")

S = type[ControllerService]
C = TypeVar("C", bound=ControllerService)


def seed(name: str) -> bytes:
    path = SEED / name
    assert path.is_file(), f"seed fixture missing: {path} (the shared seed must be checked out)"
    return path.read_bytes()


def sensor_schema() -> str:
    reading = json.loads(seed("sensor_reading.json"))
    fields = []
    for name, value in reading.items():
        kind = "string"
        if name in NUMERIC or isinstance(value, float):
            kind = "double"
        elif isinstance(value, int) or name == "ltr559_prox":
            kind = "int"
        fields.append({"name": name, "type": ["null", kind]})
    return json.dumps({"type": "record", "name": "sensor", "fields": fields})


def readings(count: int) -> list[dict[str, object]]:
    reading = json.loads(seed("sensor_reading.json"))
    return [{**reading, "host": f"pi{i % 3}", "cputemp": 40 + i} for i in range(count)]


def enable(
    kind: type[C], values: Mapping[str, str] | None = None, **services: ControllerService
) -> C:
    service = kind()
    service.on_enabled(ServiceContext(kind.__name__, kind, dict(values or {}), services))
    return service


def registry() -> AvroSchemaRegistry:
    schemas = {"sensor": sensor_schema(), "jobstatus": seed("jobstatus.avsc").decode()}
    return enable(AvroSchemaRegistry, schemas)


BY_NAME = {"schema-access-strategy": "schema-name", "schema-registry": "registry"}


def test_services_register_by_nifi_type_name() -> None:
    assert service_type("JsonTreeReader") is JsonTreeReader
    assert service_type("AvroSchemaRegistry") is AvroSchemaRegistry
    with pytest.raises(ConfigurationError):
        service_type("RecordReaderFactory")


def test_json_reader_infers_a_schema_from_sensor_readings() -> None:
    data = b"\n".join(json.dumps(r).encode() for r in readings(3))
    table = enable(JsonTreeReader).read(data, {})
    assert table.num_rows == 3
    assert table.column("host").to_pylist() == ["pi0", "pi1", "pi2"]
    assert table.schema.field("bme680_tempc").type == pa.string()
    assert table.schema.field("memory").type == pa.float64()


def test_with_the_sensor_schema_numeric_strings_become_numbers() -> None:
    reader = enable(JsonTreeReader, BY_NAME, registry=registry())
    table = reader.read(json.dumps(readings(2)).encode(), {"schema.name": "sensor"})
    assert table.schema.field("bme680_tempc").type == pa.float64()
    row = table.to_pylist()[0]
    assert row["bme680_tempc"] == 23.97
    assert row["ltr559_prox"] == 0
    assert row["end"] == 1550032479.3900714
    assert row["host"] == "pi0"


@pytest.mark.parametrize(
    ("writer", "reader", "values"),
    [
        (JsonRecordSetWriter, JsonTreeReader, {}),
        (JsonRecordSetWriter, JsonTreeReader, {"output-grouping": "output-oneline"}),
        (JsonRecordSetWriter, JsonTreeReader, {"Pretty Print JSON": "true"}),
        (AvroRecordSetWriter, AvroReader, {}),
        (AvroRecordSetWriter, AvroReader, {"compression-format": "DEFLATE"}),
        (ParquetRecordSetWriter, ParquetReader, {}),
        (ParquetRecordSetWriter, ParquetReader, {"compression-type": "SNAPPY"}),
    ],
)
def test_sensor_records_round_trip(writer: S, reader: S, values: dict[str, str]) -> None:
    json_reader = enable(JsonTreeReader, BY_NAME, registry=registry())
    table = json_reader.read(json.dumps(readings(50)).encode(), {"schema.name": "sensor"})
    data = enable(writer, values).write(table, {})
    embedded = reader is not JsonTreeReader  # Avro and Parquet carry their schema
    back = enable(reader, {} if embedded else BY_NAME, registry=registry())
    assert back.read(data, {"schema.name": "sensor"}).to_pylist() == table.to_pylist()


def test_json_writer_groups_and_pretty_prints() -> None:
    table = pa.table({"a": [1, 2], "b": ["x", None]})
    assert enable(JsonRecordSetWriter).write(table, {}) == b'[{"a":1,"b":"x"},{"a":2,"b":null}]'
    oneline = enable(JsonRecordSetWriter, {"output-grouping": "output-oneline"})
    assert oneline.write(table, {}) == b'{"a":1,"b":"x"}\n{"a":2,"b":null}'
    pretty = enable(JsonRecordSetWriter, {"Pretty Print JSON": "true"}).write(table, {})
    assert pretty.startswith(b'[\n  {\n    "a": 1')
    suppress = enable(JsonRecordSetWriter, {"suppress-nulls": "always-suppress"})
    assert suppress.write(table, {}) == b'[{"a":1,"b":"x"},{"a":2}]'


def test_jobstatus_to_avro_is_readable_with_its_schema_and_equal_to_the_json() -> None:
    expected = json.loads(seed("jobstatus_transformed.json"))
    reader = enable(JsonTreeReader, BY_NAME, registry=registry())
    table = reader.read(seed("jobstatus_transformed.json"), {"schema.name": "jobstatus"})
    writer = enable(AvroRecordSetWriter, BY_NAME, registry=registry())
    data = writer.write(table, {"schema.name": "jobstatus"})
    schema = json.loads(seed("jobstatus.avsc"))
    assert list(fastavro.reader(io.BytesIO(data), reader_schema=schema)) == [expected]
    assert writer.attributes_for(table, {"schema.name": "jobstatus"}) == {
        "mime.type": "application/avro-binary",
        "record.count": "1",
    }


def test_avro_writer_without_embedded_schema_names_it_in_an_attribute() -> None:
    values = {**BY_NAME, "Schema Write Strategy": "schema-name"}
    writer = enable(AvroRecordSetWriter, values, registry=registry())
    table = pa.table({"id": [4, 5], "name": ["a", "b"]})
    data = writer.write(table, {"schema.name": "jobstatus"})
    assert writer.attributes_for(table, {"schema.name": "jobstatus"})["schema.name"] == "jobstatus"
    reader = enable(AvroReader, BY_NAME, registry=registry())
    back = reader.read(data, {"schema.name": "jobstatus"})
    assert back.column("id").to_pylist() == [4, 5]
    assert back.column("paused").to_pylist() == [None, None]


def test_schema_text_property_strategy() -> None:
    values = {"schema-access-strategy": "schema-text-property"}
    reader = enable(JsonTreeReader, values)
    table = reader.read(seed("sensor_reading.json"), {"avro.schema": sensor_schema()})
    assert table.column("te").to_pylist() == [601.1575453281403]
    with pytest.raises(RecordError, match=r"no avro\.schema attribute"):
        reader.read(seed("sensor_reading.json"), {})


def test_coercion_errors_name_the_record_and_field() -> None:
    reader = enable(JsonTreeReader, BY_NAME, registry=registry())
    bad = readings(3)
    bad[2]["bme680_tempc"] = "hot"
    with pytest.raises(RecordError, match=r"record 2, field 'bme680_tempc': cannot coerce 'hot'"):
        reader.read(json.dumps(bad).encode(), {"schema.name": "sensor"})


def test_unknown_schema_name_is_a_record_error() -> None:
    reader = enable(JsonTreeReader, BY_NAME, registry=registry())
    with pytest.raises(RecordError, match=r"no schema named 'nope'.*jobstatus, sensor"):
        reader.read(b"{}", {"schema.name": "nope"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1', r"record 0: malformed JSON"),
        (b'{"a": 1}\n{"a": 2}\n{"a": ', r"record 2: malformed JSON"),
        (b"[1, 2]", r"record 0: expected a JSON object"),
    ],
)
def test_malformed_json_is_a_record_error(data: bytes, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        enable(JsonTreeReader).read(data, {})


def test_bad_binary_input_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="Parquet"):
        enable(ParquetReader).read(b"not parquet", {})
    with pytest.raises(RecordError, match="Avro"):
        enable(AvroReader).read(b"not avro", {})


def test_registry_refuses_invalid_schemas_at_load() -> None:
    with pytest.raises(ConfigurationError, match=r"properties.broken.*not JSON"):
        enable(AvroSchemaRegistry, {"broken": "{"})


def test_schema_name_strategy_needs_a_registry() -> None:
    with pytest.raises(ConfigurationError, match=r"schema-registry.*is required"):
        enable(JsonTreeReader, {"schema-access-strategy": "schema-name"})


def test_parquet_writer_honours_row_group_size() -> None:
    table = pa.table({"n": list(range(10_000))})
    writer = enable(ParquetRecordSetWriter, {"row-group-size": "8 KB"})
    assert pq.ParquetFile(io.BytesIO(writer.write(table, {}))).num_row_groups > 1


def test_registry_checks_field_names_unless_told_not_to() -> None:
    schema = json.dumps(
        {"type": "record", "name": "r", "fields": [{"name": "bme680-tempc", "type": "double"}]}
    )
    with pytest.raises(ConfigurationError, match=r"\['bme680-tempc'\] are not valid Avro names"):
        enable(AvroSchemaRegistry, {"r": schema})
    relaxed = enable(AvroSchemaRegistry, {"r": schema, "avro-reg-validated-field-names": "false"})
    assert relaxed.names == ["r"]
