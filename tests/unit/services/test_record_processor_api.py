"""How a processor uses the record services: a minimal ConvertRecord-like processor."""

import io
import json
from pathlib import Path

import fastavro

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import Processor, Property, Relationship
from headwater.services.records import (
    AvroRecordSetWriter,
    AvroSchemaRegistry,
    JsonTreeReader,
    RecordError,
    RecordReaderFactory,
    RecordSetWriterFactory,
)
from headwater.testing import TestRunner

SEED = Path(__file__).resolve().parents[3] / ".." / "shared" / "seed"


def seed(name: str) -> bytes:
    path = SEED / name
    assert path.is_file(), f"seed fixture {path} not found: shared/ must sit beside the repository"
    return path.read_bytes()


class _Convert(Processor):
    """Reads records with one service and writes them with another."""

    SUCCESS = Relationship("success")
    FAILURE = Relationship("failure")

    reader = Property("record-reader", required=True, service=RecordReaderFactory)
    writer = Property("record-writer", required=True, service=RecordSetWriterFactory)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        for ff in session.get_batch():
            try:
                table = reader.read(session.read(ff), ff.attributes)
                data = writer.write(table, ff.attributes)
            except RecordError as exc:
                ff = session.put_attribute(ff, "record.error.message", str(exc))
                session.transfer(ff, self.FAILURE)
                continue
            ff = session.write(ff, data)
            ff = session.put_all_attributes(ff, writer.attributes_for(table, ff.attributes))
            session.transfer(ff, self.SUCCESS)


def runner() -> TestRunner:
    runner = TestRunner(_Convert, {"record-reader": "json", "record-writer": "avro"})
    runner.add_service(
        "registry", AvroSchemaRegistry(), {"jobstatus": seed("jobstatus.avsc").decode()}
    )
    by_name = {"schema-access-strategy": "schema-name", "schema-registry": "registry"}
    runner.add_service("json", JsonTreeReader(), by_name)
    runner.add_service("avro", AvroRecordSetWriter(), by_name)
    return runner


def test_processor_converts_jobstatus_json_to_avro_through_services() -> None:
    with runner() as test:
        test.assert_valid()
        test.enqueue(seed("jobstatus_transformed.json"), **{"schema.name": "jobstatus"})
        test.enqueue(b'{"id": "four"}', **{"schema.name": "jobstatus"})
        test.run()
        test.assert_transferred(_Convert.SUCCESS, 1)
        out = test.transferred(_Convert.SUCCESS)[0]
        schema = json.loads(seed("jobstatus.avsc"))
        rows = list(fastavro.reader(io.BytesIO(out.content), reader_schema=schema))
        assert rows == [json.loads(seed("jobstatus_transformed.json"))]
        assert out.attributes["record.count"] == "1"
        assert out.attributes["mime.type"] == "application/avro-binary"
        bad = test.transferred(_Convert.FAILURE)[0]
        assert bad.attributes["record.error.message"].startswith("record 0, field 'id'")


def test_a_reader_property_refuses_a_writer_service() -> None:
    with runner() as test:
        test.set_property("record-reader", "avro")
        test.assert_invalid("record-reader")
