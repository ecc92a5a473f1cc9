"""PartitionRecord: one child per distinct combination of RecordPath values."""

import json

from headwater.processors.records_partition import PartitionRecord
from headwater.services.records import JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner

READINGS = json.dumps(
    [
        {"host": "edge1", "class1": "cat", "pct1": 91.5},
        {"host": "edge2", "class1": "cat", "pct1": 40.0},
        {"host": "edge1", "class1": "dog", "pct1": 77.2},
        {"host": "edge1", "class1": "cat", "pct1": 66.0},
    ]
).encode()


def partition(**paths: str) -> TestRunner:
    properties = {"record-reader": "json", "record-writer": "out", **paths}
    runner = TestRunner(PartitionRecord, properties)
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("out", JsonRecordSetWriter(), {})
    return runner


def test_partition_record_groups_by_field_values_with_them_as_attributes() -> None:
    with partition(host="/host", animal="/class1") as runner:
        runner.enqueue(READINGS)
        runner.run()
        runner.assert_transferred(PartitionRecord.ORIGINAL, 1)
        parts = runner.transferred(PartitionRecord.SUCCESS)
        keys = [(p.attributes["host"], p.attributes["animal"]) for p in parts]
        assert keys == [("edge1", "cat"), ("edge2", "cat"), ("edge1", "dog")]
        assert [r["pct1"] for r in json.loads(parts[0].content)] == [91.5, 66.0]
        assert [p.attributes["record.count"] for p in parts] == ["2", "1", "1"]
        assert {p.attributes["fragment.count"] for p in parts} == {"3"}
        assert runner.provenance_types().count("FORK") == 1


def test_partition_record_sends_a_missing_field_or_bad_input_to_failure() -> None:
    with partition(site="/site") as runner:
        runner.enqueue(READINGS)
        runner.enqueue(b"{")
        runner.run()
        runner.assert_all_transferred(PartitionRecord.FAILURE, 2)
        reasons = [f.attributes["record.error.message"] for f in runner.transferred("failure")]
        assert "RecordPath /site selects no field of the records" in reasons


def test_partition_record_groups_by_nested_fields() -> None:
    devices = [
        {"host": "edge1", "site": {"city": "Oslo", "rack": 1}},
        {"host": "edge2", "site": {"city": "Bergen", "rack": 1}},
        {"host": "edge3", "site": {"city": "Oslo", "rack": 2}},
    ]
    with partition(city="/site/city", rack="//rack") as runner:
        runner.enqueue(json.dumps(devices).encode())
        runner.run()
        parts = runner.transferred(PartitionRecord.SUCCESS)
        keys = [(p.attributes["city"], p.attributes["rack"]) for p in parts]
        assert keys == [("Oslo", "1"), ("Bergen", "1"), ("Oslo", "2")]


def test_partition_record_sends_a_path_with_several_values_per_record_to_failure() -> None:
    with partition(reading="/readings[*]") as runner:
        runner.enqueue(b'[{"readings": [1, 2]}, {"readings": [3]}]')
        runner.run()
        runner.assert_all_transferred(PartitionRecord.FAILURE, 1)
        reason = runner.transferred("failure")[0].attributes["record.error.message"]
        assert "several values per record" in reason


def test_partition_record_refuses_record_paths_outside_the_subset() -> None:
    with partition(first="/a[0]", short="substring(/a, 0, 1)") as runner:
        runner.assert_invalid("first", "short")
