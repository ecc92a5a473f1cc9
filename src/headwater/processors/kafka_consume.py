"""ConsumeKafka: messages from Kafka topics into FlowFiles; offsets committed to Kafka
only after the session commits.

A trigger takes up to Max Poll Records, writes them as FlowFiles (one per message, or,
with a Message Demarcator, one per topic and partition), commits the session, and only
then commits the offsets after the last message taken. A crash in between commits no
offset, so the group reads those messages again: nothing is lost or skipped, and at
worst a message comes twice. A session that fails to commit rewinds the consumer to
the first message it took. confluent-kafka is imported when the processor is scheduled.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import InputRequirement, Processor, Property, Relationship, flag
from headwater.processors.kafka_publish import _demarcator
from headwater.units import parse_duration, parse_positive_int

if TYPE_CHECKING:
    from confluent_kafka import Consumer, Message


class ConsumeKafka(Processor):
    """Consumes messages from Kafka topics in a consumer group and emits them as
    FlowFiles with ``kafka.topic``, ``kafka.partition``, ``kafka.offset``, ``kafka.key``,
    ``kafka.timestamp`` and ``kafka.count``; headers become attributes when their names
    match Headers to Add as Attributes."""

    tags: ClassVar[tuple[str, ...]] = (
        "kafka",
        "get",
        "ingest",
        "ingress",
        "topic",
        "pubsub",
        "consume",
    )
    input_requirement = InputRequirement.FORBIDDEN

    SUCCESS = Relationship("success", "The messages received.")

    servers = Property(
        "bootstrap.servers",
        "host:port of brokers, comma-separated",
        required=True,
        display_name="Kafka Brokers",
    )
    topics = Property(
        "topic", "Topic names, comma-separated", required=True, display_name="Topic Name(s)"
    )
    group = Property("group.id", "The consumer group", required=True, display_name="Group ID")
    offset_reset = Property(
        "auto.offset.reset",
        "Where a group with no committed offset starts",
        default="latest",
        required=True,
        allowed=("earliest", "latest", "none"),
        display_name="Offset Reset",
    )
    honor_transactions = flag(
        "honor-transactions",
        "Read only committed transactional messages",
        default="true",
        display_name="Honor Transactions",
    )
    demarcator = Property(
        "message-demarcator",
        "Joins the messages of a trigger, per topic and partition, into one FlowFile",
        parse=_demarcator,
        display_name="Message Demarcator",
    )
    header_pattern = Property(
        "header-name-regex",
        "Headers whose names match become attributes",
        display_name="Headers to Add as Attributes (Regex)",
    )
    max_records = Property(
        "max.poll.records",
        "Messages taken per trigger",
        default="10000",
        parse=parse_positive_int,
        display_name="Max Poll Records",
    )
    poll_wait = Property(
        "Poll Timeout",
        "Longest wait for messages in one trigger",
        default="1 sec",
        parse=parse_duration,
    )
    session_timeout = Property(
        "session.timeout.ms",
        "Group session timeout (milliseconds)",
        default="10000",
        parse=parse_positive_int,
        display_name="Session Timeout",
    )

    _consumer: Consumer | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        from confluent_kafka import Consumer

        self._consumer = Consumer(
            {
                "bootstrap.servers": context[self.servers],
                "group.id": context[self.group],
                "auto.offset.reset": context[self.offset_reset],
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed"
                if context[self.honor_transactions]
                else "read_uncommitted",
                "session.timeout.ms": context[self.session_timeout],
            }
        )
        self._consumer.subscribe([t.strip() for t in context[self.topics].split(",") if t.strip()])

    def on_stopped(self, context: ProcessContext) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if self._consumer is None:
            self.on_scheduled(context)
        consumer = self._consumer
        assert consumer is not None
        polled = consumer.consume(context[self.max_records], context[self.poll_wait])
        taken = []
        for message in polled:
            error = message.error()
            if error is None:
                taken.append(message)
            elif error.code() != _partition_eof():
                context.logger.warning("Kafka: %s", error)
        if not taken:
            return
        groups: dict[tuple[str, int], list[Message]] = {}
        for message in taken:
            groups.setdefault((message.topic() or "", message.partition() or 0), []).append(message)
        self.emit(context, session, taken, groups)
        try:
            session.commit()
        except BaseException:
            self._rewind(consumer, groups)
            raise
        try:
            self._commit_offsets(consumer, groups)
        except Exception as exc:  # the FlowFiles are stored: at worst they come again
            context.logger.warning("offsets not committed (%s); these messages may come again", exc)

    def emit(
        self,
        context: ProcessContext,
        session: ProcessSession,
        taken: list[Any],
        groups: dict[tuple[str, int], list[Any]],
    ) -> None:
        """Turn the messages taken into FlowFiles and transfer them."""
        joiner = context.get(self.demarcator)
        bundles = [[m] for m in taken] if joiner is None else list(groups.values())
        for bundle in bundles:
            content = joiner.join(_value(m) for m in bundle) if joiner else _value(bundle[0])
            self.output(context, session, bundle, content, self.SUCCESS)

    def output(
        self,
        context: ProcessContext,
        session: ProcessSession,
        bundle: list[Any],
        content: bytes,
        relationship: Relationship,
        extra: dict[str, str] | None = None,
    ) -> None:
        """A FlowFile of ``content`` with the kafka.* attributes of ``bundle``'s first."""
        first = bundle[0]
        ff = session.write(session.create(), content)
        attributes = {
            "kafka.topic": first.topic() or "",
            "kafka.partition": str(first.partition()),
            "kafka.offset": str(first.offset()),
            "kafka.timestamp": str(first.timestamp()[1]),
            "kafka.count": str(len(bundle)),
            **(extra or {}),
        }
        key = first.key()
        if key is not None:
            attributes["kafka.key"] = key.decode(errors="replace")
        pattern = context.get(self.header_pattern)
        if pattern:
            headers = first.headers() or []
            for name, value in headers.items() if isinstance(headers, dict) else headers:
                if re.fullmatch(pattern, name) and value is not None:
                    raw = value if isinstance(value, bytes) else value.encode()
                    attributes[name] = raw.decode(errors="replace")
        ff = session.put_all_attributes(ff, attributes)
        servers = context[self.servers].split(",")[0]
        session.provenance.receive(ff, f"kafka://{servers}/{first.topic()}")
        session.transfer(ff, relationship)

    @staticmethod
    def _commit_offsets(consumer: Consumer, groups: dict[tuple[str, int], list[Any]]) -> None:
        from confluent_kafka import TopicPartition

        offsets = [TopicPartition(t, p, ms[-1].offset() + 1) for (t, p), ms in groups.items()]
        consumer.commit(offsets=offsets, asynchronous=False)

    @staticmethod
    def _rewind(consumer: Consumer, groups: dict[tuple[str, int], list[Any]]) -> None:
        from confluent_kafka import TopicPartition

        for (topic, partition), messages in groups.items():
            consumer.seek(TopicPartition(topic, partition, messages[0].offset()))


def _partition_eof() -> int:
    from confluent_kafka import KafkaError

    return int(KafkaError._PARTITION_EOF)


def _value(message: Any) -> bytes:
    value = message.value()
    return b"" if value is None else bytes(value)
