"""ConsumeMQTT: messages from an MQTT topic filter into FlowFiles, acknowledged only
after the session commits.

paho's network thread puts each message in a bounded queue and wakes the processor;
the trigger turns what is queued into FlowFiles, commits, and only then acknowledges
the QoS 1 and 2 messages (paho's manual acks). A crash between receipt and commit
leaves them unacknowledged, so the broker sends them again: nothing is lost, and with
Resume Session nothing is lost across a disconnect or a broker restart either (the
broker keeps the subscription and queues for us). A full queue stops reading the
socket, which is MQTT's back pressure.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import InputRequirement, Property, Relationship
from headwater.processors.mqtt_client import AbstractMQTTProcessor, parse_qos
from headwater.units import parse_positive_int

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt


def _demarcator(text: str) -> bytes:
    return text.encode().decode("unicode_escape").encode()


class ConsumeMQTT(AbstractMQTTProcessor):
    """Subscribes to a topic filter (``+`` and ``#`` wildcards) on an MQTT broker and
    emits each message as a FlowFile, or, with a Message Demarcator, the messages of
    one trigger and topic together in one FlowFile.

    Attributes: ``mqtt.broker``, ``mqtt.topic``, ``mqtt.qos``, ``mqtt.isDuplicate``,
    ``mqtt.isRetained`` (of the first message in the FlowFile).
    """

    tags = ("subscribe", "mqtt", "iot", "consume", "listen", "ingress")
    input_requirement = InputRequirement.FORBIDDEN

    MESSAGE = Relationship("Message", "The messages received.")

    topic_filter = Property("Topic Filter", "The topics to subscribe to", required=True)
    qos = Property(
        "Quality of Service (QoS)",
        "The most QoS the broker may use to send to us; 1 and 2 are acknowledged after commit",
        default="0",
        required=True,
        parse=parse_qos,
    )
    max_queue = Property(
        "Max Queue Size",
        "Messages held in memory between triggers; a full queue stops reading the broker",
        default="10000",
        required=True,
        parse=parse_positive_int,
    )
    demarcator = Property(
        "Message Demarcator",
        "When set, the messages of a trigger on one topic go in one FlowFile, separated"
        " by this (\\n for a newline)",
        parse=_demarcator,
    )
    batch_size = Property(
        "Batch Size", "Messages taken per trigger", default="10000", parse=parse_positive_int
    )

    def __init__(self) -> None:
        self._messages: queue.Queue[Any] = queue.Queue()
        self._wake: Callable[[], None] = lambda: None
        self._stopping = threading.Event()

    def attach_wake(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def has_pending_work(self) -> bool:
        return not self._messages.empty()

    def on_scheduled(self, context: ProcessContext) -> None:
        self._messages = queue.Queue(context[self.max_queue])
        topic, qos = context[self.topic_filter], context[self.qos]
        messages = self._messages

        def subscribe(client: mqtt.Client) -> None:
            client.subscribe(topic, qos)

        stopping = self._stopping = threading.Event()

        def on_message(client: mqtt.Client, userdata: Any, message: Any) -> None:
            # A full queue holds paho's thread, which stops reading the socket: back
            # pressure; it lets go when the processor stops, so stopping never hangs.
            while not stopping.is_set():
                try:
                    messages.put(message, timeout=0.5)
                    break
                except queue.Full:
                    continue
            self._wake()

        self.open_client(context, on_connect=subscribe, on_message=on_message, manual_ack=True)

    def on_stopped(self, context: ProcessContext) -> None:
        self._stopping.set()
        self.close_client()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if self._client is None:
            self.on_scheduled(context)
        taken: list[Any] = []
        limit = context[self.batch_size]
        while len(taken) < limit:
            try:
                taken.append(self._messages.get_nowait())
            except queue.Empty:
                break
        if not taken:
            return
        broker = self.transit_uri(context)
        groups: list[list[Any]]
        joiner = context.get(self.demarcator)
        if joiner is None:
            groups = [[m] for m in taken]
        else:
            by_topic: dict[str, list[Any]] = {}
            for message in taken:
                by_topic.setdefault(message.topic, []).append(message)
            groups = list(by_topic.values())
        for group in groups:
            first = group[0]
            ff = session.create()
            content = first.payload if joiner is None else joiner.join(m.payload for m in group)
            ff = session.write(ff, content)
            ff = session.put_all_attributes(
                ff,
                {
                    "mqtt.broker": broker,
                    "mqtt.topic": first.topic,
                    "mqtt.qos": str(first.qos),
                    "mqtt.isDuplicate": str(bool(first.dup)).lower(),
                    "mqtt.isRetained": str(bool(first.retain)).lower(),
                    **({"record.count": str(len(group))} if joiner is not None else {}),
                },
            )
            session.provenance.receive(ff, f"{broker}/{first.topic}")
            session.transfer(ff, self.MESSAGE)
        try:
            session.commit()
        except BaseException:
            for message in reversed(taken):  # not ours yet: back to the front, unacked
                self._messages.queue.appendleft(message)
            raise
        client = self._client
        if client is not None:
            for message in taken:
                if message.qos > 0:
                    client.ack(message.mid, message.qos)
