import json
from collections.abc import Mapping
from typing import TypeVar

import pyarrow as pa
import pytest

from headwater.context import ServiceContext
from headwater.errors import ConfigurationError
from headwater.processor import ControllerService
from headwater.services.records import CSVReader, CSVRecordSetWriter, RecordError

C = TypeVar("C", bound=ControllerService)

SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "reading",
        "fields": [
            {"name": "host", "type": "string"},
            {"name": "tempc", "type": ["null", "double"]},
            {"name": "prox", "type": ["null", "int"]},
        ],
    }
)
WITH_SCHEMA = {"schema-access-strategy": "schema-text-property", "Skip Header Line": "true"}


def enable(kind: type[C], values: Mapping[str, str] | None = None) -> C:
    service = kind()
    service.on_enabled(ServiceContext(kind.__name__, kind, dict(values or {})))
    return service


def test_reader_infers_types_from_a_headed_file_and_trims_fields() -> None:
    table = enable(CSVReader).read(b"host,tempc,prox\npiups, 23.97 ,0000\npi2,,12\n", {})
    assert table.to_pylist() == [
        {"host": "piups", "tempc": 23.97, "prox": 0},
        {"host": "pi2", "tempc": None, "prox": 12},
    ]


def test_reader_coerces_text_to_the_schema() -> None:
    reader = enable(CSVReader, WITH_SCHEMA)
    table = reader.read(b"host,tempc,prox\npiups,23.97,0000\npi2,,\n", {"avro.schema": SCHEMA})
    assert table.schema.field("prox").type == pa.int32()
    assert table.to_pylist()[0] == {"host": "piups", "tempc": 23.97, "prox": 0}
    assert table.to_pylist()[1] == {"host": "pi2", "tempc": None, "prox": None}


def test_reader_without_header_names_columns_from_the_schema() -> None:
    values = {**WITH_SCHEMA, "Skip Header Line": "false", "Value Separator": "\\t"}
    table = enable(CSVReader, values).read(b"piups\t1.5\t3\n", {"avro.schema": SCHEMA})
    assert table.to_pylist() == [{"host": "piups", "tempc": 1.5, "prox": 3}]


def test_a_value_that_does_not_fit_names_record_and_field() -> None:
    reader = enable(CSVReader, WITH_SCHEMA)
    with pytest.raises(RecordError, match=r"record 1, field 'tempc': cannot coerce 'warm'"):
        reader.read(b"host,tempc,prox\na,1,1\nb,warm,2\n", {"avro.schema": SCHEMA})


def test_malformed_csv_is_a_record_error() -> None:
    with pytest.raises(RecordError, match="malformed CSV"):
        enable(CSVReader).read(b"a,b\n1,2,3\n", {})


def test_writer_round_trips_through_the_reader() -> None:
    table = pa.table({"host": ["piups", "a,b"], "tempc": [23.97, None], "prox": [0, 12]})
    data = enable(CSVRecordSetWriter).write(table, {})
    assert data.splitlines()[0] == b'"host","tempc","prox"'
    assert enable(CSVReader).read(data, {}).to_pylist() == table.to_pylist()


def test_writer_options() -> None:
    table = pa.table({"a": [1, None], "b": ["x", "y"]})
    values = {"Include Header Line": "false", "Value Separator": ";", "Null String": "NULL"}
    assert enable(CSVRecordSetWriter, values).write(table, {}) == b'"1";"x"\n"NULL";"y"\n'
    with pytest.raises(RecordError, match="nested"):
        enable(CSVRecordSetWriter).write(pa.table({"a": [[1]]}), {})


def test_separator_must_be_one_character() -> None:
    with pytest.raises(ConfigurationError, match="one character"):
        enable(CSVReader, {"Value Separator": ";;"})
