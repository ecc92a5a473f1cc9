"""read_many: many FlowFiles' records in one table, as MergeRecord reads them."""

import pyarrow as pa
import pytest

from headwater.context import ServiceContext
from headwater.services.records import JsonTreeReader, RecordError

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
