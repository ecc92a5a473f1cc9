"""ConvertRecord and SplitRecord through TestRunner with the real record services."""

import io
import json

import fastavro

from headwater.processors.records import ConvertRecord, SplitRecord
from headwater.services.records import AvroRecordSetWriter, JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner

READINGS = b'[{"host": "a", "v": 1}, {"host": "b", "v": 2}, {"host": "c", "v": 3}]'


def convert(**properties: str) -> TestRunner:
    runner = TestRunner(
        ConvertRecord, {"record-reader": "json", "record-writer": "avro", **properties}
    )
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("avro", AvroRecordSetWriter(), {})
    return runner


def test_convert_record_writes_avro_with_count_and_mime_type() -> None:
    with convert() as runner:
        runner.enqueue(READINGS, filename="r.json")
        runner.run()
        runner.assert_all_transferred(ConvertRecord.SUCCESS, 1)
        out = runner.transferred(ConvertRecord.SUCCESS)[0]
        assert [r["host"] for r in fastavro.reader(io.BytesIO(out.content))] == ["a", "b", "c"]
        assert out.attributes["record.count"] == "3"
        assert out.attributes["mime.type"] == "application/avro-binary"
        assert out.attributes["filename"] == "r.json"
        assert "CONTENT_MODIFIED" in runner.provenance_types()


def test_convert_record_sends_malformed_json_to_failure_with_the_reason() -> None:
    with convert() as runner:
        runner.enqueue(b'{"host": "a", ')
        runner.run()
        runner.assert_all_transferred(ConvertRecord.FAILURE, 1)
        bad = runner.transferred(ConvertRecord.FAILURE)[0]
        assert bad.attributes["record.error.message"]
        assert bad.content == b'{"host": "a", '


def test_convert_record_drops_empty_input_when_zero_record_flowfiles_are_excluded() -> None:
    with convert(**{"include-zero-record-flowfiles": "false"}) as runner:
        runner.enqueue(b"[]")
        runner.run()
        runner.assert_transferred(ConvertRecord.SUCCESS, 0)
        runner.assert_transferred(ConvertRecord.FAILURE, 0)


def split(per_split: str) -> TestRunner:
    properties = {"Record Reader": "json", "Record Writer": "out", "Records Per Split": per_split}
    runner = TestRunner(SplitRecord, properties)
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("out", JsonRecordSetWriter(), {})
    return runner


def test_split_record_slices_records_with_fragment_attributes() -> None:
    with split("${per}") as runner:
        runner.enqueue(READINGS, filename="r.json", per="2")
        runner.run()
        runner.assert_transferred(SplitRecord.ORIGINAL, 1)
        splits = runner.transferred(SplitRecord.SPLITS)
        assert [[r["host"] for r in json.loads(s.content)] for s in splits] == [["a", "b"], ["c"]]
        assert [s.attributes["fragment.index"] for s in splits] == ["0", "1"]
        assert {s.attributes["fragment.count"] for s in splits} == {"2"}
        assert len({s.attributes["fragment.identifier"] for s in splits}) == 1
        assert [s.attributes["record.count"] for s in splits] == ["2", "1"]
        assert splits[0].attributes["segment.original.filename"] == "r.json"
        assert runner.provenance_types().count("FORK") == 1


def test_split_record_sends_bad_input_to_failure_and_refuses_zero_per_split() -> None:
    with split("2") as runner:
        runner.enqueue(b"not json")
        runner.run()
        runner.assert_all_transferred(SplitRecord.FAILURE, 1)
        runner.set_property("Records Per Split", "0")
        runner.assert_invalid("Records Per Split")
