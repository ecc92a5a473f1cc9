"""read_many: many FlowFiles' records in one table, as MergeRecord reads them."""

import pyarrow as pa
import pytest

from headwater.context import ServiceContext
from headwater.services.records import AvroSchemaRegistry, JsonTreeReader, RecordError

READING = (  # the seed's sensor reading, shortened
    b'{"uuid": "20190213043439_e58bee05", "BH1745_clear": "0.0", "te": "601.1575453281403",'
    b' "cputemp": 44, "memory": 45.7, "bme680_tempc": "23.97", "systemtime":'
    b' "02/12/2019 23:34:39", "VL53L1X_distance_in_mm": 553, "end": "1550032479.3900714"}'
)


def reader() -> JsonTreeReader:
    service = JsonTreeReader()
    service.on_enabled(ServiceContext("json", JsonTreeReader, {}))
    return service


def read_each(contents: list[bytes]) -> pa.Table:
    service = reader()
    tables = [service.read(data, {}) for data in contents]
    return pa.concat_tables(tables, promote_options="permissive")


@pytest.mark.parametrize(
    "contents",
    [
        [b'{"host": "a", "v": 1}', b'[{"host": "b", "v": 2.5}, {"host": "c", "v": 3}]', b"[]"],
        [b'{"host": "a", "v": 1}', b'{"host": "b", "extra": true}'],  # fields differ
        [b'{"host": "a", "v": null}', b'{"host": "b", "v": 7}'],
        # one object per FlowFile, one line each: pyarrow's JSON Lines reader
        [b'{"host": "a", "v": 1, "ok": true}', b' {"host": "b", "v": 2.5, "ok": null}\n'],
        [b'{"when": "2019-02-13T04:34:39"}', b'{"when": "2019-02-14T04:34:39"}'],  # text
        [b'{"v": 1}', b'{"v": "one"}'],  # no common type: fails the same both ways
        [b'{"v": [1, 2]}', b'{"v": [3]}'],
        [b'{"v": 1} {"v": 2}', b'{"v": 3}'],  # two objects on one line
        [READING, READING],
        # arrays are broken into lines at "},{": where that is inside a string or a
        # nested value, the lines are not JSON and another way reads them
        [b'[{"a": "x},{y"}, {"a": "z"}]', b'[{"a":"},{"},{"a":"w"}]'],
        [b'[{"v": [{"x": 1},{"x": 2}]}]', b'[{"v": [{"x": 3}]}]'],
        [b'[{"v": 1}, {"v": 2}]', b"[ ]", b'[{"v":3},{"v":4}]', b"{}"],
        [b'[{"v": 1}, 2]'],
        [b'[{"v": 1},\n {"v": 2}]', b'[{"v": 3}]'],  # pretty-printed
    ],
)
def test_read_many_equals_reading_each_and_promoting(contents: list[bytes]) -> None:
    try:
        expected = read_each(contents)
    except (pa.ArrowInvalid, pa.ArrowTypeError, RecordError):
        with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, RecordError)):
            reader().read_many(contents, [{}] * len(contents))
        return
    table, counts = reader().read_many(contents, [{}] * len(contents))
    assert table.to_pylist() == expected.to_pylist()
    assert table.schema.equals(expected.schema)
    assert counts == [len(reader().read(data, {})) for data in contents]


def test_read_many_refuses_what_one_read_refuses() -> None:
    with pytest.raises(RecordError):
        reader().read_many([b'{"host": "a"}', b'{"host": '], [{}, {}])


SCHEMA = """{"type": "record", "name": "reading", "fields": [
    {"name": "host", "type": "string"},
    {"name": "tempc", "type": ["null", "double"], "default": null},
    {"name": "prox", "type": ["null", "long"], "default": null},
    {"name": "ok", "type": ["null", "boolean"], "default": null},
    {"name": "note", "type": ["null", "string"], "default": null}]}"""


def schema_reader() -> JsonTreeReader:
    registry = AvroSchemaRegistry()
    registry.on_enabled(ServiceContext("reg", AvroSchemaRegistry, {"reading": SCHEMA}))
    service = JsonTreeReader()
    properties = {
        "schema-access-strategy": "schema-name",
        "schema-registry": "reg",
        "schema-name": "reading",
    }
    service.on_enabled(ServiceContext("json", JsonTreeReader, properties, {"reg": registry}))
    return service


@pytest.mark.parametrize(
    "contents",
    [
        # devices send numbers as text; batches of readings as arrays, pretty or not
        [b'[{"host": "a", "tempc": "23.97", "prox": "0042"},\n {"host": "b", "tempc": 1}]'],
        [b'{"host": "a", "tempc": "23.97"}', b'[{"host": "b", "ok": true, "note": 7}]', b"[]"],
        [b'[{"host": "a", "extra": "kept out by the schema"}]', b'{"host": "b", "prox": 5}'],
        [b'[{"host": "a", "tempc": "abc"}]'],  # cannot be coerced: fails both ways
        [b'[{"tempc": "1.5"}]', b'[{"host": "b"}]'],  # a required field missing
        [b'[{"host": "a"}, 3]'],  # not an object
    ],
)
def test_read_many_with_a_schema_equals_reading_each(contents: list[bytes]) -> None:
    service = schema_reader()
    attributes = [{}] * len(contents)
    try:
        tables = [service.read(data, {}) for data in contents]
    except RecordError:
        with pytest.raises(RecordError):
            service.read_many(contents, attributes)
        return
    table, counts = service.read_many(contents, attributes)
    assert table.to_pylist() == pa.concat_tables(tables).to_pylist()
    assert table.schema.equals(tables[0].schema)
    assert counts == [t.num_rows for t in tables]


def test_rows_with_different_fields_keep_every_field() -> None:
    table = reader().read(b'[{"host": "a"}, {"host": "b", "lux": 3.5}]', {})
    assert table.to_pylist() == [{"host": "a", "lux": None}, {"host": "b", "lux": 3.5}]
