"""PublishMQTT and ConsumeMQTT against Debian's mosquitto, started on 127.0.0.1 for
this module (plain and TLS listeners, persistence on, so a restart keeps sessions)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from bulk import enqueue_many

from headwater.flow.model import Schedule
from headwater.processors.mqtt_consume import ConsumeMQTT
from headwater.processors.mqtt_publish import PublishMQTT
from headwater.services.ssl import StandardSSLContextService
from headwater.testing import TestRunner
from ports import free_ports

pytestmark = pytest.mark.integration

MAX_PACKET = 65536


class Mosquitto:
    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail(
                "mosquitto is not installed (Debian package mosquitto; .ci/run installs it)"
            )
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="headwater-mqtt-"))
        self.port, self.tls_port = free_ports(2)
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1")
        cert.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        cert.private_key_pem.write_to_path(str(self.root / "key.pem"))
        self.ca.cert_pem.write_to_path(str(self.root / "ca.pem"))
        (self.root / "mosquitto.conf").write_text(
            f"""user {getpass.getuser()}
persistence true
persistence_location {self.root}/
max_inflight_messages 1000
max_queued_messages 0
max_packet_size {MAX_PACKET}
log_dest stderr
listener {self.port} 127.0.0.1
allow_anonymous true
listener {self.tls_port} 127.0.0.1
certfile {self.root}/cert.pem
keyfile {self.root}/key.pem
"""
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.root / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "log", "ab"),  # noqa: SIM115 - the broker keeps it
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start: " + (self.root / "log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence file
            self.process.wait(10)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    server = Mosquitto()
    yield server
    server.close()


def publisher(broker: Mosquitto, **extra: str) -> TestRunner:
    props = {
        "Broker URI": f"tcp://127.0.0.1:{broker.port}",
        "Topic": "sensors/${sensor}/readings",
        "Quality of Service (QoS)": "1",
        **extra,
    }
    return TestRunner(PublishMQTT, props, schedule=Schedule(penalty=0.1))


def consumer(broker: Mosquitto, client_id: str, **extra: str) -> TestRunner:
    props = {
        "Broker URI": f"tcp://127.0.0.1:{broker.port}",
        "Topic Filter": "sensors/+/readings",
        "Quality of Service (QoS)": "1",
        "Client ID": client_id,
        "Session state": "Resume Session",
        **extra,
    }
    runner = TestRunner(ConsumeMQTT, props)
    return runner


def drain(runner: TestRunner, expected: int, seconds: float = 15) -> int:
    """Trigger the consumer until ``expected`` FlowFiles came out or time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runner.run(1, stop=False)
        if runner.node.outgoing and runner._relationship_queue("Message").count >= expected:
            break
        time.sleep(0.02)
    return runner._relationship_queue("Message").count


def connected(runner: TestRunner) -> None:
    """Schedule the processor and wait until it is connected (and subscribed)."""
    processor = runner.processor
    assert isinstance(processor, PublishMQTT | ConsumeMQTT)
    runner.context  # noqa: B018 - schedules: connects in the background
    assert processor.wait_connected(10), "not connected to mosquitto"
    time.sleep(0.1)  # the SUBACK


def test_ten_thousand_readings_through_the_broker_at_least_once(broker: Mosquitto) -> None:
    sink = consumer(broker, "hub-10k", **{"Message Demarcator": "\\n"})
    connected(sink)
    source = publisher(broker)
    count = 10_000
    enqueue_many(
        source,
        (
            (f'{{"sensor_id": "s{i}", "temperature": 21.5}}'.encode(), {"sensor": f"s{i % 20}"})
            for i in range(count)
        ),
    )
    started = time.monotonic()
    source.run(count // 1000)
    source.assert_all_transferred(PublishMQTT.SUCCESS, count=count)
    deadline = time.monotonic() + 15
    readings: list[str] = []
    while len(readings) < count and time.monotonic() < deadline:
        sink.run(1, stop=False)
        flowfiles = sink.transferred("Message")
        readings = [line for f in flowfiles for line in f.text.splitlines()]
        time.sleep(0.05)
    sink.stop()
    assert len(set(readings)) == count
    flowfiles = sink.transferred("Message")
    assert sum(int(f.attributes["record.count"]) for f in flowfiles) == len(readings)
    first = flowfiles[0]
    assert first.attributes["mqtt.topic"].startswith("sensors/s")
    assert first.attributes["mqtt.qos"] == "1"
    assert first.attributes["mqtt.broker"] == f"tcp://127.0.0.1:{broker.port}"
    assert source.provenance_types().count("SEND") == count
    assert time.monotonic() - started < 20  # about 4 s here, on a shared machine


def test_qos2_retained_message_reaches_a_later_subscriber(broker: Mosquitto) -> None:
    source = publisher(
        broker,
        **{"Topic": "status/${site}", "Quality of Service (QoS)": "2", "Retain Message": "true"},
    )
    source.enqueue(b"pump on", site="bog")
    source.run()
    source.assert_all_transferred("success", count=1)
    sink = consumer(
        broker,
        "late",
        **{
            "Topic Filter": "status/#",
            "Quality of Service (QoS)": "2",
            "Session state": "Clean Session",
        },
    )
    connected(sink)
    assert drain(sink, 1) == 1
    sink.stop()
    (message,) = sink.transferred("Message")
    assert message.content == b"pump on"
    assert message.attributes["mqtt.isRetained"] == "true"
    assert message.attributes["mqtt.qos"] == "2"


def test_an_invalid_topic_and_a_message_over_the_limit_go_to_failure(broker: Mosquitto) -> None:
    source = publisher(broker, **{"MQTT Specification Version": "v5.0"})
    connected(source)
    source.enqueue(b"x", sensor="+")
    source.enqueue(b"x" * (MAX_PACKET + 1), sensor="big")
    source.enqueue(b"fine", sensor="s1")
    source.run()
    source.assert_transferred("failure", 2)
    source.assert_transferred("success", 1)
    reasons = [f.attributes["error.message"] for f in source.transferred("failure")]
    assert reasons[0] == "a topic to publish to has no wildcards, got 'sensors/+/readings'"
    assert (
        reasons[1]
        == f"a message of {MAX_PACKET + 1} bytes is over the broker's limit of {MAX_PACKET}"
    )


def test_broker_stopped_mid_run_nothing_lost_and_delivery_resumes(broker: Mosquitto) -> None:
    sink = consumer(broker, "hub-restart")
    connected(sink)
    source = publisher(broker)
    connected(source)
    for i in range(200):
        source.enqueue(f"r{i}", sensor="s1")
    source.run(1, stop=False)
    source.assert_transferred("success", 200)
    broker.stop()
    try:
        for i in range(200, 400):
            source.enqueue(f"r{i}", sensor="s1")
        source.run(1, stop=False)
        assert source.queue_size() == 200, "nothing lost: they wait in the queue"
        source.assert_transferred("failure", 0)
        assert "stay queued" in source.node.bulletins[-1].message
    finally:
        broker.start()
    assert source.processor.wait_connected(15)  # type: ignore[attr-defined]
    time.sleep(0.15)  # the penalty
    source.run(1)
    source.assert_transferred("success", 400)
    assert sink.processor.wait_connected(15)  # type: ignore[attr-defined]
    drain(sink, 400)
    sink.stop()
    got = {f.text for f in sink.transferred("Message")}
    assert got == {f"r{i}" for i in range(400)}, "the resumed session kept what came meanwhile"


def test_unacknowledged_messages_come_again_to_a_resumed_session(broker: Mosquitto) -> None:
    """Received but never committed (the hub stopped first): not acknowledged, so the
    broker sends them again when the same client id resumes its session."""
    first = consumer(broker, "hub-crash")
    connected(first)
    source = publisher(broker)
    for i in range(5):
        source.enqueue(f"m{i}", sensor="s9")
    source.run()
    deadline = time.monotonic() + 5
    while first.processor.has_pending_work() is False and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    first.stop()  # no trigger ran: nothing committed, nothing acknowledged
    second = consumer(broker, "hub-crash")
    connected(second)
    assert drain(second, 5) == 5
    second.stop()
    messages = second.transferred("Message")
    assert sorted(m.text for m in messages) == [f"m{i}" for i in range(5)]
    assert all(m.attributes["mqtt.isDuplicate"] == "true" for m in messages)


def test_tls_with_the_ssl_context_service(broker: Mosquitto, tmp_path: Path) -> None:
    source = publisher(
        broker, **{"Broker URI": f"ssl://127.0.0.1:{broker.tls_port}", "SSL Context Service": "tls"}
    )
    props = {"Truststore Filename": str(broker.root / "ca.pem"), "Truststore Type": "PEM"}
    source.add_service("tls", StandardSSLContextService(), props)
    sink = consumer(broker, "hub-tls", **{"Session state": "Clean Session"})
    connected(sink)
    source.enqueue(b"over tls", sensor="s3")
    source.run()
    source.assert_all_transferred("success", count=1)
    assert drain(sink, 1) == 1
    sink.stop()
    assert sink.transferred("Message")[0].content == b"over tls"


def test_a_full_queue_leaves_the_rest_at_the_broker_and_stopping_does_not_hang(
    broker: Mosquitto,
) -> None:
    first = consumer(broker, "hub-small", **{"Max Queue Size": "5"})
    connected(first)
    source = publisher(broker)
    for i in range(50):
        source.enqueue(f"q{i}", sensor="s4")
    source.run()
    deadline = time.monotonic() + 5
    while first.processor._messages.qsize() < 5 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    started = time.monotonic()
    first.stop()  # paho's thread is waiting for room; stopping lets it go
    assert time.monotonic() - started < 5
    second = consumer(broker, "hub-small")
    connected(second)
    got = drain(second, 50)
    second.stop()
    assert got == 50
    assert {f.text for f in second.transferred("Message")} == {f"q{i}" for i in range(50)}
