"""read_many: many FlowFiles' records in one table, as MergeRecord reads them."""

import pyarrow as pa
import pytest

from headwater.context import ServiceContext
from headwater.services.records import JsonTreeReader, RecordError


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
    ],
)
def test_read_many_equals_reading_each_and_promoting(contents: list[bytes]) -> None:
    table, counts = reader().read_many(contents, [{}] * len(contents))
    expected = read_each(contents)
    assert table.to_pylist() == expected.to_pylist()
    assert table.schema.equals(expected.schema)
    assert counts == [len(reader().read(data, {})) for data in contents]


def test_read_many_refuses_what_one_read_refuses() -> None:
    with pytest.raises(RecordError):
        reader().read_many([b'{"host": "a"}', b'{"host": '], [{}, {}])
