"""MergeRecord: records of many FlowFiles, concatenated as Arrow tables, written once."""

import io
import json
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from headwater.processors.merge_record import MergeRecord
from headwater.services.records import (
    AvroSchemaRegistry,
    JsonRecordSetWriter,
    JsonTreeReader,
    ParquetRecordSetWriter,
)
from headwater.testing import TestRunner

SEED = Path(__file__).resolve().parents[3] / ".." / "shared" / "seed"


def seed(name: str) -> bytes:
    path = SEED / name
    assert path.is_file(), f"seed fixture {path} not found: shared/ must sit beside the repository"
    return path.read_bytes()


def merge_record(reader: str, writer: str, **properties: str) -> TestRunner:
    runner = TestRunner(
        MergeRecord, {"record-reader": reader, "record-writer": writer, **properties}
    )
    runner.add_service(
        "registry", AvroSchemaRegistry(), {"jobstatus": seed("jobstatus.avsc").decode()}
    )
    by_name = {"schema-access-strategy": "schema-name", "schema-registry": "registry"}
    runner.add_service("json", JsonTreeReader(), by_name)
    runner.add_service("parquet", ParquetRecordSetWriter(), by_name)
    runner.add_service("json-infer", JsonTreeReader())
    runner.add_service("json-out", JsonRecordSetWriter())
    return runner


def test_fifty_jobstatus_flowfiles_merge_into_one_parquet_file_of_fifty_rows() -> None:
    record = json.loads(seed("jobstatus_transformed.json"))
    with merge_record("json", "parquet", **{"min-records": "50"}) as runner:
        runner.assert_valid()
        parents = set()
        for index in range(50):
            body = json.dumps({**record, "id": index}).encode()
            parents.add(runner.enqueue(body, **{"schema.name": "jobstatus"}).uuid)
            if index == 48:
                runner.run()  # 49 records: below the minimum, so nothing yet
                runner.assert_transferred(MergeRecord.MERGED, 0)
                assert runner.queue_size() == 49
        runner.run()
        runner.assert_transferred(MergeRecord.MERGED, 1)
        runner.assert_transferred(MergeRecord.ORIGINAL, 50)
        out = runner.transferred(MergeRecord.MERGED)[0]
        table = pq.read_table(io.BytesIO(out.content))
        assert table.num_rows == 50
        assert table.column("id").to_pylist() == list(range(50))
        assert out.attributes["record.count"] == "50"
        assert out.attributes["mime.type"] == "application/parquet"
        assert out.attributes["merge.count"] == "50"
        assert out.attributes["schema.name"] == "jobstatus"
        joins = [e for e in runner.provenance_events() if str(e.event_type) == "JOIN"]
        assert [set(e.parent_uuids) for e in joins] == [parents]


def test_max_records_counts_records_and_schemas_are_promoted() -> None:
    with merge_record("json-infer", "json-out", **{"max-records": "3"}) as runner:
        runner.enqueue(b'[{"a": 1}, {"a": 2}]')
        runner.enqueue(b'{"a": 3.5, "b": "x"}')
        runner.enqueue(b'{"a": 4}')
        runner.run()
        out = runner.transferred(MergeRecord.MERGED)
        assert [o.attributes["record.count"] for o in out] == ["3", "1"]
        assert out[0].attributes["merge.reason"] == "MAX_ENTRIES_THRESHOLD_REACHED"
        rows = json.loads(out[0].content)
        assert rows == [{"a": 1.0, "b": None}, {"a": 2.0, "b": None}, {"a": 3.5, "b": "x"}]


def test_correlation_and_age_with_records() -> None:
    props = {"correlation-attribute-name": "host", "min-records": "2", "max-bin-age": "1 hour"}
    with merge_record("json-infer", "json-out", **props) as runner:
        runner.enqueue(b'{"v": 1}', host="a")
        runner.enqueue(b'{"v": 2}', host="b")
        runner.enqueue(b'{"v": 3}', host="a")
        runner.run()
        out = runner.transferred(MergeRecord.MERGED)
        assert [(o.attributes["host"], json.loads(o.content)) for o in out] == [
            ("a", [{"v": 1}, {"v": 3}])
        ]
        assert runner.queue_size() == 1
        runner.set_property("max-bin-age", "0 sec")
        runner.run()  # rescheduled: the relationship queues start empty
        (aged,) = runner.transferred(MergeRecord.MERGED)
        assert aged.attributes["host"] == "b"
        assert aged.attributes["merge.reason"] == "TIMEOUT"
        assert runner.queue_size() == 0


def test_a_flowfile_that_cannot_be_read_goes_to_failure_and_the_rest_merge() -> None:
    with merge_record("json-infer", "json-out") as runner:
        runner.enqueue(b'{"v": 1}')
        runner.enqueue(b"{not json")
        runner.enqueue(b'{"v": 2}')
        runner.run()
        bad = runner.transferred(MergeRecord.FAILURE)
        assert [b.content for b in bad] == [b"{not json"]
        assert bad[0].attributes["record.error.message"]
        out = runner.transferred(MergeRecord.MERGED)
        assert json.loads(out[0].content) == [{"v": 1}, {"v": 2}]
        runner.assert_transferred(MergeRecord.ORIGINAL, 2)


def test_two_concurrent_tasks_merge_every_flowfile_exactly_once(tmp_path: Path) -> None:
    from collections import Counter

    from headwater.engine.controller import FlowController
    from headwater.flow.loader import load_flow_dict

    flow = {
        "flow": "merge-twice",
        "settings": {"threads": 3},
        "services": {"json": {"type": "JsonTreeReader"}, "out": {"type": "JsonRecordSetWriter"}},
        "processors": {
            "make": {
                "type": "GenerateFlowFile",
                "properties": {"Batch Size": "200", "Custom Text": '[{"v": 1}, {"v": 2}]'},
                "schedule": {"period": "0.01 sec"},
            },
            "merge": {
                "type": "MergeRecord",
                "properties": {"record-reader": "json", "record-writer": "out",
                               "min-records": "300", "max-records": "300",
                               "max-bin-age": "0.1 sec"},
                "schedule": {"period": "0.01 sec", "concurrent-tasks": "2"},
                "auto-terminate": ["merged", "original", "failure"],
            },
        },
        "connections": [{"from": "make", "relationships": ["success"], "to": "merge"}],
    }  # fmt: skip
    controller = FlowController(load_flow_dict(flow), tmp_path)
    controller.start()
    try:
        deadline = time.monotonic() + 20
        while controller.nodes["make"].stats.flowfiles_out < 3000:
            assert time.monotonic() < deadline, "the generator is too slow"
            time.sleep(0.01)
        controller.stop_processor("make")
        while controller.queued() and time.monotonic() < deadline:
            time.sleep(0.02)
        made = controller.nodes["make"].stats.flowfiles_out
        joins = controller.repositories.provenance.query(event_type="JOIN", limit=100_000)
        merged = Counter(parent for join in joins for parent in join.parent_uuids)
        assert controller.queued() == 0
        assert sum(merged.values()) == len(merged) == made
        assert controller.nodes["merge"].stats.tasks > 2
    finally:
        controller.stop()


def test_a_bin_read_in_several_groups_keeps_every_record_in_order(monkeypatch: Any) -> None:
    """Content is parsed some megabytes at a time; a bin that spans groups (arrays and
    single objects, an int that another group has as a double) still holds its records
    once each, in queue order, with the promoted type."""
    monkeypatch.setattr("headwater.processors.merge_record.READ_BYTES", 100)
    with merge_record("json-infer", "json-out", **{"min-records": "12"}) as runner:
        expected = []
        for index in range(6):
            if index % 2:
                rows = [{"n": index * 10 + k, "v": 1} for k in range(3)]
                runner.enqueue(json.dumps(rows).encode())
            else:
                rows = [{"n": index * 10, "v": 1.5 if index == 4 else 2}]
                runner.enqueue(json.dumps(rows[0]).encode())
            expected += rows
        runner.run()
        runner.assert_transferred(MergeRecord.MERGED, 1)
        merged = json.loads(runner.transferred(MergeRecord.MERGED)[0].content)
        assert [r["n"] for r in merged] == [r["n"] for r in expected]
        assert [r["v"] for r in merged] == [float(r["v"]) for r in expected]
