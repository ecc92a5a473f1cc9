"""ConvertRecord and SplitRecord, and what the record processors share.

Every record processor reads a whole FlowFile into one Arrow table through its
``record-reader`` and writes tables through its ``record-writer``; the work in between
is done on columns (slices, DuckDB, group-by), never one Python dict per record.
Content that does not parse or fit goes to ``failure`` with the reason in
``record.error.message``; no reader or writer error escapes ``on_trigger``.
QueryRecord lives in ``records_query``, PartitionRecord in ``records_partition``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pyarrow as pa  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.services.records.api import (
    RecordError,
    RecordReaderFactory,
    RecordSetWriterFactory,
)
from headwater.units import parse_bool

ERROR_ATTRIBUTE = "record.error.message"

READ_ERRORS = (RecordError, ValueError, TypeError, pa.ArrowException)
"""What a reader or writer may raise for content that does not fit: a bad FlowFile."""


def positive_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise ValueError(f"expected a whole number of at least 1, got {text!r}")
    return value


def reader_property(
    name: str = "record-reader", display: str = "Record Reader"
) -> Property[RecordReaderFactory]:
    return Property[RecordReaderFactory](
        name,
        "The service that parses incoming content into records",
        required=True,
        service=RecordReaderFactory,
        display_name=display,
    )


def writer_property(
    name: str = "record-writer", display: str = "Record Writer"
) -> Property[RecordSetWriterFactory]:
    return Property[RecordSetWriterFactory](
        name,
        "The service that writes records out as content",
        required=True,
        service=RecordSetWriterFactory,
        display_name=display,
    )


INCLUDE_ZERO = Property(
    "include-zero-record-flowfiles",
    "Whether a result with no records still yields a FlowFile",
    default="true",
    required=True,
    parse=parse_bool,
    display_name="Include Zero Record FlowFiles",
)


def fail(
    context: ProcessContext,
    session: ProcessSession,
    flowfile: FlowFile,
    relationship: Relationship,
    exc: BaseException,
) -> None:
    """Route to failure with the reason in ``record.error.message``; the flow goes on."""
    route_to_failure(context, session, flowfile, relationship, exc, attribute=ERROR_ATTRIBUTE)


def write_records(
    session: ProcessSession,
    flowfile: FlowFile,
    writer: RecordSetWriterFactory,
    table: pa.Table,
    data: bytes,
    extra: Mapping[str, str] | None = None,
) -> FlowFile:
    """Set ``data`` (``table`` as written) as the content, with the writer's attributes."""
    flowfile = session.write(flowfile, data)
    attributes = writer.attributes_for(table, flowfile.attributes)
    return session.put_all_attributes(flowfile, {**attributes, **(extra or {})})


class ConvertRecord(Processor):
    """Converts records from one format to another: read with the Record Reader, write
    with the Record Writer (JSON to Avro, CSV to Parquet, ...), coercing values to the
    schema on the way."""

    tags = ("convert", "record", "generic", "schema", "json", "csv", "avro", "parquet")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose records were converted.")
    FAILURE = Relationship(
        "failure", "FlowFiles that could not be read or written; see record.error.message."
    )

    reader = reader_property()
    writer = writer_property()
    include_zero = INCLUDE_ZERO

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        include_zero = context[self.include_zero]
        for ff in session.get_batch():
            try:
                table = reader.read(session.read(ff), ff.attributes)
                if table.num_rows == 0 and not include_zero:
                    session.remove(ff)
                    continue
                data = writer.write(table, ff.attributes)
            except READ_ERRORS as exc:
                fail(context, session, ff, self.FAILURE, exc)
                continue
            session.transfer(write_records(session, ff, writer, table, data), self.SUCCESS)


class SplitRecord(Processor):
    """Splits the records of a FlowFile into FlowFiles of at most Records Per Split
    records each (zero-copy slices of one Arrow table), with fragment attributes for
    MergeRecord's Defragment."""

    tags = ("split", "generic", "schema", "json", "csv", "avro", "parquet", "record")
    input_requirement = InputRequirement.REQUIRED

    SPLITS = Relationship("splits", "The FlowFiles of records split off the original.")
    ORIGINAL = Relationship("original", "The original FlowFile, once split.")
    FAILURE = Relationship(
        "failure", "FlowFiles that could not be read or written; see record.error.message."
    )

    reader = Property[RecordReaderFactory](
        "Record Reader",
        "The service that parses incoming content into records",
        required=True,
        service=RecordReaderFactory,
    )
    writer = Property[RecordSetWriterFactory](
        "Record Writer",
        "The service that writes each split",
        required=True,
        service=RecordSetWriterFactory,
    )
    per_split = Property(
        "Records Per Split",
        "At most this many records go in each split",
        required=True,
        expression=True,
        parse=positive_int,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        for ff in session.get_batch():
            try:
                size = context.evaluate(self.per_split, ff)
                table = reader.read(session.read(ff), ff.attributes)
                parts = [table.slice(i, size) for i in range(0, table.num_rows, size)]
                written = [writer.write(part, ff.attributes) for part in parts]
            except READ_ERRORS as exc:
                fail(context, session, ff, self.FAILURE, exc)
                continue
            fragment = {
                "fragment.identifier": str(uuid.uuid4()),
                "fragment.count": str(len(parts)),
                "segment.original.filename": ff.attributes.get("filename", ""),
            }
            for index, (part, data) in enumerate(zip(parts, written, strict=True)):
                child = session.create(ff)
                extra = {**fragment, "fragment.index": str(index)}
                session.transfer(
                    write_records(session, child, writer, part, data, extra), self.SPLITS
                )
            session.transfer(ff, self.ORIGINAL)
