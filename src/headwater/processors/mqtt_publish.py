"""PublishMQTT: each FlowFile's content as one MQTT message.

A trigger publishes its batch, then waits for the broker: a FlowFile goes to
``success`` only once the message is out (QoS 0) or acknowledged (PUBACK for QoS 1,
PUBCOMP for QoS 2), so a broker that goes away mid-batch leaves the unacknowledged
FlowFiles in their queue, penalized, with a warning bulletin, and they are published
again when it returns: at least once, as MQTT's QoS 1 promises. A topic that is not a
topic (empty, wildcards, a NUL) or a message over the broker's Maximum Packet Size
(MQTT 5) goes to ``failure`` with the reason.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.processors.mqtt_client import AbstractMQTTProcessor, parse_qos
from headwater.units import parse_bool, parse_positive_int

_TOPIC_MAX = 65535


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` cannot be published to, or None."""
    if not topic:
        return "the topic is empty"
    if "+" in topic or "#" in topic:
        return f"a topic to publish to has no wildcards, got {topic!r}"
    if "\0" in topic:
        return f"a topic has no NUL character, got {topic!r}"
    if len(topic.encode()) > _TOPIC_MAX:
        return f"a topic is at most {_TOPIC_MAX} bytes"
    return None


class PublishMQTT(AbstractMQTTProcessor):
    """Publishes the content of each FlowFile as a message to an MQTT broker, on the
    Topic (Expression Language), with QoS 0, 1 or 2 and, optionally, retained.

    The agent can publish its readings this way instead of site-to-site; the hub's
    ConsumeMQTT takes them in.
    """

    tags = ("publish", "mqtt", "iot", "agent", "send", "egress")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles the broker took (acknowledged for QoS 1 and 2).")
    FAILURE = Relationship("failure", "FlowFiles that cannot be published (error.message).")

    topic = Property("Topic", "The topic to publish to", required=True, expression=True)
    qos = Property(
        "Quality of Service (QoS)",
        "0 at most once, 1 at least once, 2 exactly once (between client and broker)",
        default="0",
        required=True,
        expression=True,
        parse=parse_qos,
    )
    retain = Property(
        "Retain Message",
        "Whether the broker keeps the message for subscribers that come later",
        default="false",
        required=True,
        expression=True,
        parse=parse_bool,
    )
    batch_size = Property(
        "Batch Size",
        "Messages published per trigger before waiting for the broker",
        default="1000",
        parse=parse_positive_int,
    )
    ack_timeout = Property(
        "Acknowledgement Timeout (seconds)",
        "Longest wait for the broker's acknowledgements",
        default="10",
        parse=parse_positive_int,
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        self.open_client(context)

    def on_stopped(self, context: ProcessContext) -> None:
        self.close_client()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if self._client is None:
            self.on_scheduled(context)
        batch = session.get_batch(context[self.batch_size])
        if not batch:
            return
        if not self.wait_connected(min(5.0, context[self.connect_timeout])):
            self._wait(context, session, batch, "not connected")
            return
        client = self._client
        assert client is not None
        started = time.monotonic()
        sent: list[tuple[FlowFile, Any, str]] = []
        for ff in batch:
            try:
                topic = context.evaluate(self.topic, ff)
                qos = context.evaluate(self.qos, ff)
                retain = context.evaluate(self.retain, ff)
            except ValueError as exc:
                route_to_failure(context, session, ff, self.FAILURE, exc)
                continue
            problem = topic_problem(topic)
            payload = session.read(ff)
            if (
                problem is None
                and self.max_packet
                and len(payload) + len(topic) + 16 > self.max_packet
            ):
                problem = (
                    f"a message of {len(payload)} bytes is over the broker's"
                    f" limit of {self.max_packet}"
                )
            if problem is not None:
                route_to_failure(context, session, ff, self.FAILURE, problem)
                continue
            sent.append((ff, client.publish(topic, payload, qos, retain), topic))
        deadline = time.monotonic() + context[self.ack_timeout]
        waiting: list[FlowFile] = []
        for ff, info, topic in sent:
            # RuntimeError: not queued (disconnected); it then counts as not published
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if not info.is_published():
                waiting.append(ff)
                continue
            session.provenance.send(
                ff,
                self.transit_uri(context, topic),
                millis=int((time.monotonic() - started) * 1000),
            )
            session.transfer(ff, self.SUCCESS)
        if waiting:
            self._wait(context, session, waiting, "no acknowledgement")

    def _wait(
        self, context: ProcessContext, session: ProcessSession, flowfiles: list[FlowFile], why: str
    ) -> None:
        context.logger.warning(
            "MQTT broker %s: %s; %d FlowFile(s) stay queued and are published again",
            self.transit_uri(context),
            why,
            len(flowfiles),
        )
        session.transfer_all([session.penalize(ff) for ff in flowfiles])
        context.yield_()
