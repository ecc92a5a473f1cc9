"""PublishKafka: FlowFile content to a Kafka topic, as one message or, with a Message
Demarcator, one message per demarcated piece (a line of JSON per reading).

A FlowFile goes to ``success`` only after the broker acknowledged its messages
(``acks``); ``flush`` waits for the delivery reports. With Use Transactions (the
default) a trigger's messages are one Kafka transaction, committed before the session,
so a consumer reading committed data sees them all or none; a transaction that cannot
commit is aborted and all its FlowFiles stay queued, penalized, with a warning
bulletin. Without transactions only the FlowFiles with an unacknowledged message wait.
A message over Max Request Size, or a topic name Kafka does not allow, goes to
``failure`` with the reason.
confluent-kafka is imported when the processor is scheduled.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship, flag
from headwater.processors.failure import route_to_failure
from headwater.units import parse_data_size, parse_duration, parse_positive_int

if TYPE_CHECKING:
    from confluent_kafka import Producer

_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_DELIVERY = ("0", "1", "all")
_COMPRESSION = ("none", "gzip", "snappy", "lz4", "zstd")


def _demarcator(text: str) -> bytes:
    return text.encode().decode("unicode_escape").encode()


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


class PublishKafka(Processor):
    """Sends the content of each FlowFile to Kafka, keyed by Kafka Key, with the
    attributes that match a pattern as headers; exactly once into the topic with
    transactions and idempotence, at least once without."""

    tags: ClassVar[tuple[str, ...]] = ("kafka", "put", "send", "message", "pubsub", "publish")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose messages the broker acknowledged.")
    FAILURE = Relationship("failure", "FlowFiles Kafka cannot take (error.message).")

    servers = Property(
        "bootstrap.servers",
        "host:port of brokers, comma-separated",
        required=True,
        display_name="Kafka Brokers",
    )
    topic = Property(
        "topic", "The topic", required=True, expression=True, display_name="Topic Name"
    )
    acks = Property(
        "acks",
        "0: no wait; 1: the leader has it; all: every in-sync replica has it",
        default="all",
        required=True,
        allowed=_DELIVERY,
        display_name="Delivery Guarantee",
    )
    transactions = flag(
        "use-transactions",
        "One Kafka transaction per trigger, committed before the session",
        default="true",
        display_name="Use Transactions",
    )
    transactional_prefix = Property(
        "transactional-id-prefix",
        "Prefix of the transactional id (a uuid follows)",
        default="headwater-",
        display_name="Transactional Id Prefix",
    )
    idempotence = flag(
        "enable.idempotence",
        "No duplicates from the producer's own retries",
        default="true",
        display_name="Enable Idempotence",
    )
    key = Property("kafka-key", "The message key", expression=True, display_name="Kafka Key")
    headers = Property(
        "attribute-name-regex",
        "Attributes whose names match are sent as message headers",
        parse=_pattern,
        display_name="Attributes to Send as Headers (Regex)",
    )
    demarcator = Property(
        "message-demarcator",
        "Splits the content into one message per piece (\\n for lines)",
        parse=_demarcator,
        display_name="Message Demarcator",
    )
    compression = Property(
        "compression.type",
        "Compression of message batches",
        default="none",
        required=True,
        allowed=_COMPRESSION,
        display_name="Compression Type",
    )
    max_request = Property(
        "max.request.size",
        "Largest message",
        default="1 MB",
        required=True,
        parse=parse_data_size,
        display_name="Max Request Size",
    )
    ack_wait = Property(
        "ack.wait.time",
        "Longest wait for the broker's acknowledgements",
        default="5 secs",
        required=True,
        parse=parse_duration,
        display_name="Acknowledgment Wait Time",
    )
    batch_size = Property(
        "Batch Size",
        "FlowFiles per trigger (and per transaction)",
        default="500",
        parse=parse_positive_int,
    )

    _producer: Producer | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        self._producer = None

    def _connect(self, context: ProcessContext) -> Producer:
        from confluent_kafka import Producer

        if self._producer is not None:
            return self._producer
        config: dict[str, Any] = {
            "bootstrap.servers": context[self.servers],
            "acks": context[self.acks],
            "compression.type": context[self.compression],
            "enable.idempotence": context[self.idempotence] or context[self.transactions],
            "message.max.bytes": context[self.max_request] + 1024,
            "linger.ms": 5,
            "message.timeout.ms": max(1000, int(context[self.ack_wait] * 1000)),
        }
        if context[self.transactions]:
            config["transactional.id"] = context[self.transactional_prefix] + str(uuid.uuid4())
        producer = Producer(config)
        if context[self.transactions]:
            producer.init_transactions(context[self.ack_wait])
        self._producer = producer
        return producer

    def on_stopped(self, context: ProcessContext) -> None:
        if self._producer is not None:
            self._producer.flush(context[self.ack_wait])
            self._producer = None

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        from confluent_kafka import KafkaException

        batch = session.get_batch(context[self.batch_size])
        if not batch:
            return
        try:
            producer = self._connect(context)
        except KafkaException as exc:
            self._wait(context, session, batch, f"cannot start the producer: {exc}")
            return
        started = time.monotonic()
        outcome: dict[str, _Delivery] = {}  # FlowFile uuid → its messages' reports
        pending: list[tuple[FlowFile, str]] = []
        use_tx = context[self.transactions]
        try:
            if use_tx:
                producer.begin_transaction()
            for ff in batch:
                problem = self._produce(context, session, producer, ff, outcome)
                if problem is not None:
                    route_to_failure(context, session, ff, self.FAILURE, problem)
                else:
                    pending.append((ff, context.evaluate(self.topic, ff)))
            left = producer.flush(context[self.ack_wait])
            if left or any(outcome[ff.uuid].errors for ff, _ in pending):
                raise _NotDelivered(f"{left} message(s) unacknowledged")
            if use_tx:
                producer.commit_transaction(context[self.ack_wait])
        except (_NotDelivered, KafkaException) as exc:
            if use_tx:
                self._abort(producer, context)
                delivered: list[tuple[FlowFile, str]] = []  # the transaction is undone
            else:  # what Kafka acknowledged stays acknowledged: only the rest again
                delivered = [(ff, t) for ff, t in pending if outcome[ff.uuid].complete]
            done = {ff.uuid for ff, _ in delivered}
            waiting = [ff for ff, _ in pending if ff.uuid not in done]
            errors = {e for ff in waiting for e in outcome[ff.uuid].errors}
            why = f"{exc}; " + "; ".join(sorted(errors)[:3]) if errors else str(exc)
            self._wait(context, session, waiting, why)
            pending = delivered
        millis = int((time.monotonic() - started) * 1000)
        servers = context[self.servers].split(",")[0]
        for ff, topic in pending:
            session.provenance.send(ff, f"kafka://{servers}/{topic}", millis=millis)
            session.transfer(ff, self.SUCCESS)

    def _produce(
        self,
        context: ProcessContext,
        session: ProcessSession,
        producer: Producer,
        ff: FlowFile,
        outcome: dict[str, _Delivery],
    ) -> str | None:
        """Queue ``ff``'s messages; the reason it cannot be sent, or None."""
        topic = context.evaluate(self.topic, ff)
        if not _TOPIC.fullmatch(topic) or topic in (".", ".."):
            return f"not a Kafka topic name (letters, digits, . _ -; at most 249): {topic!r}"
        try:
            messages, keys = self.messages(context, session, ff)
        except Unfit as exc:
            return str(exc)
        limit = context[self.max_request]
        largest = max(map(len, messages), default=0)
        if largest > limit:
            return f"a message of {largest} bytes is over Max Request Size ({limit} bytes)"
        key = context.evaluate(self.key, ff).encode() if context.is_set(self.key) else None
        pattern = context.get(self.headers)
        headers: list[tuple[str, str | bytes | None]] | None = (
            [(k, v.encode()) for k, v in ff.attributes.items() if pattern.fullmatch(k)]
            if pattern is not None
            else None
        )
        delivery = outcome[ff.uuid] = _Delivery(len(messages))

        def report(error: Any, message: Any) -> None:
            if error is None:
                delivery.acknowledged += 1
            else:
                delivery.errors.append(str(error))

        # In a transaction, commit_transaction fails if any message was not delivered,
        # so no per-message report is needed: a Python call per message costs a third
        # of the rate.
        options: dict[str, Any] = {} if context[self.transactions] else {"on_delivery": report}
        if key is not None:
            options["key"] = key
        if headers:
            options["headers"] = headers
        produce = producer.produce
        if keys is None:
            for message in messages:
                try:
                    produce(topic, message, **options)
                except BufferError:  # the local queue is full: let deliveries drain it
                    self._produce_when_room(producer, topic, message, options)
        else:
            for message, options["key"] in zip(messages, keys, strict=True):
                try:
                    produce(topic, message, **options)
                except BufferError:
                    self._produce_when_room(producer, topic, message, options)
        producer.poll(0)
        return None

    def messages(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[list[bytes], list[bytes | None] | None]:
        """The message values of ``ff`` and, when each has its own, their keys (else
        Kafka Key keys them all). Raises ``Unfit`` for content that cannot be sent."""
        content = session.read(ff)
        joiner = context.get(self.demarcator)
        return ([m for m in content.split(joiner) if m] if joiner else [content]), None

    @staticmethod
    def _produce_when_room(
        producer: Producer, topic: str, message: bytes, options: dict[str, Any]
    ) -> None:
        while True:
            producer.poll(0.1)
            try:
                producer.produce(topic, message, **options)
                return
            except BufferError:
                continue

    def _abort(self, producer: Producer, context: ProcessContext) -> None:
        from confluent_kafka import KafkaException

        try:
            producer.abort_transaction(context[self.ack_wait])
        except KafkaException:
            self._producer = None  # a fenced or broken producer: start a new one next time

    def _wait(
        self, context: ProcessContext, session: ProcessSession, flowfiles: list[FlowFile], why: str
    ) -> None:
        context.logger.warning(
            "Kafka did not take the messages (%s); %d FlowFile(s) stay queued and are sent again",
            why,
            len(flowfiles),
        )
        session.transfer_all([session.penalize(ff) for ff in flowfiles])
        context.yield_()


class _NotDelivered(Exception):
    pass


class _Delivery:
    """The delivery reports of one FlowFile's messages (without transactions)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.acknowledged = 0
        self.errors: list[str] = []

    @property
    def complete(self) -> bool:
        return self.acknowledged == self.expected and not self.errors


class Unfit(Exception):
    """The FlowFile's content cannot become messages (records that do not parse)."""
