"""Site-to-site end to end on 127.0.0.1: a hub (FlowController + its API under uvicorn)
with an InputPort, and a RemoteProcessGroup sending to it from a TestRunner (real
repositories on both sides). Delivery is byte for byte with attributes and uuids;
a transaction sent twice, a confirm whose answer is lost, a stream damaged in transit
and a hub that is down for a while all end with every FlowFile stored exactly once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.api.app import create_app
from headwater.api.server import ApiServer
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict
from headwater.s2s.client import SiteToSiteClient
from headwater.s2s.hubhttp import HubClient, HubRequest, HubResponse, HubUnreachable
from headwater.s2s.protocol import encode
from headwater.s2s.remote import RemoteProcessGroup
from headwater.testing import TestRunner

PORT = "readings"
HELD = "in/success/hold"


class HubProcess:
    """A hub whose InputPort's FlowFiles wait in a queue to a disabled processor."""

    def __init__(self, data_dir: Path, ttl: str = "30 sec", port: int = 0) -> None:
        flow = load_flow_dict(
            {
                "flow": "hub",
                "processors": {
                    "in": {
                        "type": "InputPort",
                        "properties": {"Port Name": PORT, "Transaction TTL": ttl},
                    },
                    "hold": {
                        "type": "UpdateAttribute",
                        "enabled": "false",
                        "auto-terminate": ["success"],
                    },
                },
                "connections": [{"from": "in", "relationships": ["success"], "to": "hold"}],
            }
        )
        self.controller = FlowController(flow, data_dir)
        self.server = ApiServer(create_app(self.controller), "127.0.0.1", port)
        self.server.start()
        self.controller.start()
        self.url = self.server.url

    def received(self) -> dict[str, tuple[dict[str, str], bytes]]:
        """uuid → (attributes, content) of every FlowFile the port queued."""
        queue = self.controller.connections[HELD].queue
        content = self.controller.repositories.content
        return {
            ff.uuid: (dict(ff.attributes), content.read(ff.claim, ff.offset, ff.size))
            for ff in queue.listing(100_000)
        }

    def count(self) -> int:
        return self.controller.connections[HELD].queue.count

    def events(self, kind: str) -> list[Any]:
        return self.controller.repositories.provenance.query(event_type=kind, limit=100_000)

    def stop(self) -> None:
        self.server.stop()
        self.controller.stop()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    running = HubProcess(tmp_path / "hub")
    yield running
    running.stop()


def sender(urls: str, **properties: str) -> TestRunner:
    return TestRunner(
        RemoteProcessGroup,
        {"Target URLs": urls, "Port Name": PORT, "Communications Timeout": "5 sec", **properties},
    )


def enqueue_some(runner: TestRunner, count: int) -> dict[str, tuple[dict[str, str], bytes]]:
    sent = {}
    for i in range(count):
        content = os.urandom(i * 37 % 2000) if i % 5 else b""
        ff = runner.enqueue(content, filename=f"reading-{i}.json", sensor="bme680 ☂", index=str(i))
        sent[ff.uuid] = (dict(ff.attributes), content)
    return sent


def test_flowfiles_arrive_byte_for_byte_with_attributes_and_lineage(hub: HubProcess) -> None:
    with sender(hub.url, **{"Batch Count": "7"}) as runner:
        sent = enqueue_some(runner, 40)
        runner.run(stop=False)
        assert runner.queue_size() == 0
        assert runner.provenance_types().count("SEND") == 40
        send = next(e for e in runner.provenance_events() if str(e.event_type) == "SEND")
        assert send.transit_uri and "/data-transfer/input-ports/readings/transactions/" in (
            send.transit_uri
        )
    assert hub.received() == sent
    receives = hub.events("RECEIVE")
    assert {e.flowfile_uuid for e in receives} == set(sent)
    assert all(e.source_system_flowfile_id == f"urn:nifi:{e.flowfile_uuid}" for e in receives)
    assert all(e.transit_uri.endswith("/flow-files") for e in receives)


def test_compressed_transactions_arrive_intact(hub: HubProcess) -> None:
    with sender(hub.url, **{"Use Compression": "true"}) as runner:
        sent = enqueue_some(runner, 25)
        runner.run()
    assert hub.received() == sent


def test_a_transaction_sent_twice_is_stored_once(hub: HubProcess) -> None:
    packets = [
        ({"uuid": f"0190c5a0-0000-7000-8000-{i:012d}", "n": str(i)}, b"x" * i) for i in range(50)
    ]
    stream = encode(packets)
    client = SiteToSiteClient([hub.url], PORT)
    try:
        first = client.send(stream, 50)
        again = client.send(stream, 50)
        assert client.send(b"").message == "nothing to send; cancelled"
        overlapping = client.send(encode([*packets[40:], ({"uuid": "new-id"}, b"y")]), 11)
    finally:
        client.close()
    assert first.message == "50 FlowFiles stored"
    assert again.message == "0 FlowFiles stored, 50 already stored before"
    assert overlapping.message == "1 FlowFiles stored, 10 already stored before"
    assert hub.count() == 51


def test_receipts_outlive_a_hub_restart(tmp_path: Path) -> None:
    stream = encode([({"uuid": "0190c5a0-0000-7000-8000-00000000000a"}, b"reading")])
    first = HubProcess(tmp_path / "hub")
    client = SiteToSiteClient([first.url], PORT)
    try:
        assert client.send(stream, 1).message == "1 FlowFiles stored"
    finally:
        client.close()
        first.stop()
    again = HubProcess(tmp_path / "hub")
    client = SiteToSiteClient([again.url], PORT)
    try:
        assert client.send(stream, 1).message == "0 FlowFiles stored, 1 already stored before"
        assert again.count() == 1  # the one stored before the restart, restored
    finally:
        client.close()
        again.stop()


Fault = Callable[[HubRequest], HubRequest | None]


class FlakyTransport:
    """Damages or loses one chosen request's exchange, once, on a real connection."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.used = False
        self.network = HubClient({}, 30.0)

    def __call__(self, request: HubRequest) -> HubResponse:
        if not self.used:
            changed = self.fault(request)
            if changed is not None:
                self.used = True
                if changed is request:  # the hub gets it, its answer is lost
                    self.network.exchange(request)
                    raise HubUnreachable("TimeoutError: answer lost")
                return self.network.exchange(changed)
        return self.network.exchange(request)


def flaky_sender(urls: str, fault: Fault) -> TestRunner:
    transport = FlakyTransport(fault)

    def client(*args: Any, **kwargs: Any) -> SiteToSiteClient:
        return SiteToSiteClient(*args, **kwargs, transport=transport)

    runner = sender(urls)
    assert isinstance(runner.processor, RemoteProcessGroup)
    runner.processor.client_factory = client
    return runner


def test_a_lost_confirm_answer_is_resent_and_stored_once(hub: HubProcess) -> None:
    def lose_confirm(request: HubRequest) -> HubRequest | None:
        return request if request.method == "DELETE" else None

    with flaky_sender(hub.url, lose_confirm) as runner:
        sent = enqueue_some(runner, 30)
        runner.run(stop=False)
        assert runner.queue_size() == 30  # not confirmed: everything stays queued
        assert hub.count() == 30  # but the hub had committed
        assert any("stay queued" in b.message for b in runner.node.bulletins)
        runner.node.yield_until = 0
        runner.run(stop=False)
        assert runner.queue_size() == 0
    assert hub.received() == sent


def test_a_damaged_stream_is_refused_and_sent_again(hub: HubProcess) -> None:
    def damage(request: HubRequest) -> HubRequest | None:
        if not request.url.endswith("/flow-files"):
            return None
        body = bytearray(request.content)
        body[-1] ^= 0xFF  # inside the last FlowFile's content: the framing still holds
        return replace(request, content=bytes(body))

    with flaky_sender(hub.url, damage) as runner:
        sent = enqueue_some(runner, 12)
        runner.run(stop=False)
        assert runner.queue_size() == 12
        assert hub.count() == 0
        assert any("damaged in transit" in b.message for b in runner.node.bulletins)
        runner.run(stop=False)
        assert runner.queue_size() == 0
    assert hub.received() == sent


def test_hub_down_then_up_delivers_everything_once(tmp_path: Path) -> None:
    probe = ApiServer(_empty_app(), "127.0.0.1", 0)  # finds a free port
    probe.start()
    port = probe.port
    probe.stop()
    with sender(f"http://127.0.0.1:{port}") as runner:
        sent = enqueue_some(runner, 20)
        runner.run(stop=False)
        assert runner.queue_size() == 20
        assert any("no hub took the transaction" in b.message for b in runner.node.bulletins)
        up = HubProcess(tmp_path / "hub", port=port)
        try:
            runner.run(stop=False)
            assert runner.queue_size() == 0
            runner.run(stop=False)  # nothing left to send twice
            assert up.received() == sent
        finally:
            up.stop()


def _empty_app() -> Any:
    from fastapi import FastAPI

    return FastAPI()


def test_failover_to_the_second_url(hub: HubProcess) -> None:
    with sender(f"http://127.0.0.1:9/,{hub.url}") as runner:
        sent = enqueue_some(runner, 10)
        runner.run()
    assert hub.received() == sent


def test_refusals_are_4xx_with_a_reason(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub", ttl="0.3 sec")
    base = f"{hub.url}/data-transfer/input-ports"
    try:
        with httpx.Client() as http:
            unknown = http.post(f"{base}/nowhere/transactions")
            assert unknown.status_code == 404 and "nowhere" in unknown.json()["detail"]

            opened = http.post(f"{base}/{PORT}/transactions")
            assert opened.status_code == 201
            assert opened.headers["x-nifi-site-to-site-server-transaction-ttl"] == "0.3"
            tx = opened.headers["location"]
            broken = http.post(f"{tx}/flow-files", content=b"\x00\x00\x00\x02\x00")
            assert broken.status_code == 400 and "malformed" in broken.json()["detail"]
            assert http.delete(tx, params={"responseCode": 12}).status_code == 410

            tx = http.post(f"{base}/{PORT}/transactions").headers["location"]
            assert http.put(tx).json()["responseCode"] == 10  # TTL renewed
            stream = encode([({"uuid": "a"}, b"data")])
            crc = http.post(f"{tx}/flow-files", content=stream)
            assert crc.status_code == 202
            assert http.delete(tx, params={"responseCode": 7}).status_code == 400
            assert http.delete(tx).status_code == 422
            wrong = http.delete(tx, params={"responseCode": 12, "checksum": "1"})
            assert wrong.status_code == 400 and wrong.json()["responseCode"] == 19
            assert hub.count() == 0

            tx = http.post(f"{base}/{PORT}/transactions").headers["location"]
            http.post(f"{tx}/flow-files", content=stream)
            cancelled = http.delete(tx, params={"responseCode": 15})
            assert cancelled.status_code == 200 and cancelled.json()["responseCode"] == 15

            tx = http.post(f"{base}/{PORT}/transactions").headers["location"]
            deadline_passed = _wait_past(0.35)
            assert deadline_passed
            expired = http.post(f"{tx}/flow-files", content=stream)
            assert expired.status_code == 410 and "TTL" in expired.json()["detail"]
            assert hub.count() == 0
            assert (
                http.get(f"{hub.url}/site-to-site").json()["controller"]["inputPorts"][0]["name"]
                == PORT
            )
    finally:
        hub.stop()


def _wait_past(seconds: float) -> bool:
    import threading

    return not threading.Event().wait(seconds)


def test_nifi_clients_find_the_resources_under_nifi_api(hub: HubProcess) -> None:
    """NiFi and MiNiFi take a hub URL like http://hub:8080/nifi and ask /nifi-api."""
    with httpx.Client() as http:
        described = http.get(f"{hub.url}/nifi-api/site-to-site").json()
        assert [p["name"] for p in described["controller"]["inputPorts"]] == [PORT]
        peers = http.get(f"{hub.url}/nifi-api/site-to-site/peers").json()["peers"]
        assert peers[0]["port"] == hub.server.port
    client = SiteToSiteClient([f"{hub.url}/nifi-api"], PORT)
    try:
        result = client.send(encode([({"uuid": "0190c5a0-0000-7000-8000-0000000000ff"}, b"x")]), 1)
    finally:
        client.close()
    assert "/nifi-api/data-transfer/input-ports/readings/transactions/" in result.transaction_url
    assert hub.count() == 1
