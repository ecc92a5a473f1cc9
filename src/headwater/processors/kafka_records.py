"""PublishKafkaRecord and ConsumeKafkaRecord: Kafka messages through the record
services, one record per message.

PublishKafkaRecord reads a FlowFile's records with its Record Reader and sends each as
one message written by its Record Writer (a JSON writer with output-oneline gives
``{...}`` per message), keyed by the Message Key Field. ConsumeKafkaRecord reads the
messages of a trigger, per topic and partition, with its Record Reader and writes them
as one FlowFile with its Record Writer; a message that does not parse goes alone to
``parse.failure`` with its raw content and the reason, and the rest go on. Delivery,
transactions and offsets are PublishKafka's and ConsumeKafka's.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import Property, Relationship
from headwater.processors.kafka_consume import ConsumeKafka, _value
from headwater.processors.kafka_publish import PublishKafka, Unfit
from headwater.processors.records import READ_ERRORS, reader_property, writer_property

PARSE_ERROR = "record.error.message"


class PublishKafkaRecord(PublishKafka):
    """Sends each record of a FlowFile as one Kafka message, written by the Record
    Writer and keyed by a field."""

    tags = ("kafka", "record", "put", "send", "message", "pubsub", "publish", "json", "avro")

    reader = reader_property()
    writer = writer_property()
    key_field = Property(
        "message-key-field",
        "The field whose value keys each message",
        expression=True,
        display_name="Message Key Field",
    )

    def messages(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[list[bytes], list[bytes | None] | None]:
        attributes = ff.attributes
        try:
            table = context[self.reader].read(session.read(ff), attributes)
            writer = context[self.writer]
            values = [writer.write(table.slice(i, 1), attributes) for i in range(table.num_rows)]
        except READ_ERRORS as exc:
            raise Unfit(str(exc)) from exc
        field = context.evaluate(self.key_field, ff) if context.is_set(self.key_field) else ""
        if not field:
            return values, None
        if field not in table.column_names:
            raise Unfit(f"no field {field!r} for the message key in the records")
        keys = [None if k is None else str(k).encode() for k in table.column(field).to_pylist()]
        return values, keys


class ConsumeKafkaRecord(ConsumeKafka):
    """Consumes Kafka messages as records: the messages of one trigger, topic and
    partition are read by the Record Reader and written as one FlowFile by the Record
    Writer."""

    tags = ("kafka", "record", "get", "ingest", "ingress", "topic", "pubsub", "consume")

    PARSE_FAILURE = Relationship(
        "parse.failure", "Messages the Record Reader cannot parse, one per FlowFile."
    )

    reader = reader_property()
    writer = writer_property()

    def emit(
        self,
        context: ProcessContext,
        session: ProcessSession,
        taken: list[Any],
        groups: dict[tuple[str, int], list[Any]],
    ) -> None:
        reader, writer = context[self.reader], context[self.writer]
        for messages in groups.values():
            contents = [_value(m) for m in messages]
            try:
                table, _ = reader.read_many(contents, [{}] * len(contents))
                good = messages
            except READ_ERRORS:
                table, good = self._one_by_one(context, session, reader, messages, contents)
            if not good:
                continue
            try:
                data = writer.write(table, {})
            except READ_ERRORS as exc:
                for message in good:
                    content = _value(message)
                    extra = {PARSE_ERROR: f"not writable: {exc}"}
                    self.output(context, session, [message], content, self.PARSE_FAILURE, extra)
                continue
            self.output(
                context, session, good, data, self.SUCCESS, writer.attributes_for(table, {})
            )

    def _one_by_one(
        self,
        context: ProcessContext,
        session: ProcessSession,
        reader: Any,
        messages: list[Any],
        contents: list[bytes],
    ) -> tuple[pa.Table, list[Any]]:
        """The records of the messages that parse; each one that does not goes to
        parse.failure."""
        tables, good = [], []
        for message, content in zip(messages, contents, strict=True):
            try:
                tables.append(reader.read(content, {}))
                good.append(message)
            except READ_ERRORS as exc:
                extra = {PARSE_ERROR: str(exc)}
                context.logger.warning(
                    "message at offset %s does not parse: %s", message.offset(), exc
                )
                self.output(context, session, [message], content, self.PARSE_FAILURE, extra)
        if not tables:
            return pa.table({}), []
        return pa.concat_tables(tables, promote_options="permissive"), good
