"""UpdateRecord through TestRunner with the real JSON services, and its RecordPath."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from headwater.processors.records_update import UpdateRecord
from headwater.services.records import JsonRecordSetWriter, JsonTreeReader
from headwater.services.records.recordpath import RecordPath, column, column_rows, set_column
from headwater.testing import TestRunner

READINGS = json.dumps(
    [
        {"host": "edge-1", "temp": 21.5, "count": 3, "geo": {"lat": 52.1, "site": "bog"}},
        {"host": "edge-2", "temp": None, "count": 4, "geo": {"lat": 52.2, "site": "fen"}},
    ]
).encode()


def update(**properties: str) -> TestRunner:
    runner = TestRunner(
        UpdateRecord, {"record-reader": "json", "record-writer": "out", **properties}
    )
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("out", JsonRecordSetWriter(), {})
    return runner


def records(runner: TestRunner) -> list[dict[str, object]]:
    runner.assert_all_transferred(UpdateRecord.SUCCESS, 1)
    out = runner.transferred(UpdateRecord.SUCCESS)[0]
    assert out.attributes["record.count"] == "2"
    return json.loads(out.content)  # type: ignore[no-any-return]


def test_literal_values_with_attributes_keep_or_add_fields() -> None:
    with update(**{"/count": "${n}", "/geo/site": "${site}", "/source": "${filename}"}) as runner:
        runner.enqueue(READINGS, filename="r.json", n="10", site="moss")
        runner.run()
        out = records(runner)
        assert "CONTENT_MODIFIED" in runner.provenance_types()
    assert [r["count"] for r in out] == [10, 10], "a long column stays a long"
    assert [r["geo"] for r in out] == [
        {"lat": 52.1, "site": "moss"},
        {"lat": 52.2, "site": "moss"},
    ]
    assert [r["source"] for r in out] == ["r.json", "r.json"], "a missing field is added"


def test_literal_values_evaluated_per_value_with_field_variables() -> None:
    props = {
        "/host": "${field.value:toUpper()}-${record.index}",
        "/temp": "${field.value:isEmpty():ifElse('n/a', ${field.value})}",
        "//lat": "${field.name}:${field.type}",
    }
    with update(**props) as runner:
        runner.enqueue(READINGS)
        runner.run()
        out = records(runner)
    assert [r["host"] for r in out] == ["EDGE-1-0", "EDGE-2-1"]
    assert [r["temp"] for r in out] == ["21.5", "n/a"], "not all doubles: a string column"
    assert [r["geo"]["lat"] for r in out] == ["lat:DOUBLE", "lat:DOUBLE"]  # type: ignore[index]


def test_record_path_values_copy_columns_and_null_when_missing() -> None:
    props = {
        "replacement-value-strategy": "record-path-value",
        "/site": "/geo/site",
        "/geo/host": "/${which}",
        "/nothing": "/no/such/field",
    }
    with update(**props) as runner:
        runner.enqueue(READINGS, which="host")
        runner.run()
        out = records(runner)
    assert [r["site"] for r in out] == ["bog", "fen"]
    assert [r["geo"]["host"] for r in out] == ["edge-1", "edge-2"]  # type: ignore[index]
    assert [r["nothing"] for r in out] == [None, None]


def test_failures_carry_record_error_message() -> None:
    props = {"replacement-value-strategy": "record-path-value", "/x": "//${field}"}
    with update(**props) as runner:
        runner.enqueue(b'{"a": {"v": 1}, "b": {"v": 2}}', field="v")
        runner.enqueue(b'{"broken": ')
        runner.run()
        runner.assert_all_transferred(UpdateRecord.FAILURE, 2)
        many, broken = runner.transferred(UpdateRecord.FAILURE)
        assert "selects 2 fields (/a/v, /b/v)" in many.attributes["record.error.message"]
        assert broken.attributes["record.error.message"]
        assert broken.content == b'{"broken": '


def test_configuration_needs_supported_record_paths() -> None:
    assert "needs at least one RecordPath" in "".join(update().problems())
    runner = update(**{"/a[0]": "x", "name": "y", "/ok": "z"})
    runner.assert_invalid("/a[0]", "name")
    runner = update(**{"replacement-value-strategy": "record-path-value", "/a": "substring(/b)"})
    runner.assert_invalid("/a")
    update(**{"Replacement Value Strategy": "record-path-value", "/a": "/b"}).assert_valid()


def test_record_path_subset_on_arrow() -> None:
    table = pa.table(
        {"id": [1, 2, 3], "geo": [{"lat": 1.0, "p": {"x": 1}}, None, {"lat": 3.0, "p": {"x": 3}}]}
    ).slice(1)
    assert RecordPath.compile("//x").select(table.schema) == [("geo", "p", "x")]
    assert RecordPath.compile("/geo/*").select(table.schema) == [("geo", "lat"), ("geo", "p")]
    assert RecordPath.compile("/geo/lon").targets(table.schema) == [("geo", "lon")]
    assert RecordPath.compile("/geo/p[*]").select(table.schema) == []
    assert RecordPath.compile("/nope/lon").targets(table.schema) == []
    assert column(table, ("geo", "p", "x")).to_pylist() == [None, 3]
    updated = set_column(table, ("geo", "p", "x"), pa.array(["a", "b"]))
    assert updated.column("geo").to_pylist() == [None, {"lat": 3.0, "p": {"x": "b"}}]
    lists = pa.table({"tags": [["a"], None, ["b", "c"]]}).slice(1)
    assert RecordPath.compile("/tags[*]").select(lists.schema) == [("tags", "[*]")]
    assert column_rows(lists, ("tags", "[*]"))[1].to_pylist() == [1, 1]
    updated = set_column(lists, ("tags", "[*]"), pa.array([1, 2]))
    assert updated.column("tags").to_pylist() == [None, [1, 2]]
    large = pa.table({"tags": pa.array([["a"], ["b"]], pa.large_list(pa.string()))})
    updated = set_column(large, ("tags", "[*]"), pa.array([1, 2]))
    assert updated.schema.field("tags").type == pa.large_list(pa.int64())


BATCH = json.dumps(
    [
        {"host": "edge-1", "readings": [{"t": 1.5}, {"t": 2.5}]},
        {"host": "edge-2", "readings": None},
        {"host": "edge-3", "readings": [{"t": 3.5}]},
    ]
).encode()


def test_arrays_of_records_are_updated_element_by_element() -> None:
    props = {
        "/readings[*]/unit": "C",
        "/readings[*]/t": "${field.value}@${record.index}",
    }
    with update(**props) as runner:
        runner.enqueue(BATCH)
        runner.run()
        out = json.loads(runner.transferred(UpdateRecord.SUCCESS)[0].content)
    assert [r["readings"] for r in out] == [
        [{"t": "1.5@0", "unit": "C"}, {"t": "2.5@0", "unit": "C"}],
        None,
        [{"t": "3.5@2", "unit": "C"}],
    ]


def test_copies_into_arrays_broadcast_and_out_of_arrays_fail() -> None:
    into = {"replacement-value-strategy": "record-path-value", "/readings[*]/host": "/host"}
    with update(**into) as runner:
        runner.enqueue(BATCH)
        runner.run()
        out = json.loads(runner.transferred(UpdateRecord.SUCCESS)[0].content)
    assert [[x["host"] for x in r["readings"] or []] for r in out] == [
        ["edge-1", "edge-1"],
        [],
        ["edge-3"],
    ]
    out_of = {"replacement-value-strategy": "record-path-value", "/t": "//t"}
    with update(**out_of) as runner:
        runner.enqueue(BATCH)
        runner.run()
        failed = runner.transferred(UpdateRecord.FAILURE)[0]
        assert "array elements" in failed.attributes["record.error.message"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("host", "must be absolute"),
        ("/a[0]", "only \\[\\*\\]"),
        ("/a['key']", "not supported"),
        ("/a/substring(b, 1)", "functions are not supported"),
        ("/a/../b", "relative steps"),
    ],
)
def test_record_path_refuses_what_it_does_not_support(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        RecordPath.compile(text)
