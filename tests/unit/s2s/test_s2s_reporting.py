"""SiteToSiteProvenanceReportingTask: batches of events in id order, its position kept
in state and moved on only after the hub confirmed, Start Position for a new task."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pytest

from headwater.provenance import ProvenanceEvent, ProvenanceEventType
from headwater.s2s.client import SiteToSiteError, TransferResult
from headwater.s2s.protocol import decode
from headwater.s2s.reporting import STATE_KEY, SiteToSiteProvenanceReportingTask
from headwater.testing import TestRunner


class FakeClient:
    """Takes every stream (or refuses them all while ``down``)."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[list[dict[str, Any]]] = []
        self.attributes: list[dict[str, str]] = []

    def __call__(self, urls: Sequence[str], port: str, **options: Any) -> FakeClient:
        return self

    def send(self, stream: bytes | Callable[[], bytes], count: int = 0) -> TransferResult:
        if self.down:
            raise SiteToSiteError("no hub took the transaction: refused")
        assert isinstance(stream, bytes)
        (packet,) = decode(stream)
        self.attributes.append(packet.attributes)
        self.sent.append(orjson.loads(packet.content))
        return TransferResult("http://hub", "http://hub/tx", count, 1, "stored")

    def close(self) -> None:
        pass


def reporter(client: FakeClient, **properties: str) -> TestRunner:
    task = SiteToSiteProvenanceReportingTask()
    task.client_factory = client
    values = {
        "Destination URL": "http://hub:8080",
        "Input Port Name": "provenance",
        "Platform": "edge-1",
        "Batch Size": "3",
        **properties,
    }
    return TestRunner(task, values, node_id="report")


def record(runner: TestRunner, count: int) -> None:
    runner.repositories.provenance.register(
        [
            ProvenanceEvent(
                ProvenanceEventType.CREATE, f"ff-{i}", "make", "GenerateFlowFile", i, {}
            )
            for i in range(count)
        ]
    )


def test_events_go_in_batches_and_the_position_follows_the_confirms() -> None:
    client = FakeClient()
    with reporter(client) as runner:
        record(runner, 7)
        runner.run(stop=False)
        assert [[r["eventOrdinal"] for r in batch] for batch in client.sent] == [
            [1, 2, 3],
            [4, 5, 6],
            [7],
        ]
        assert client.sent[0][0]["platform"] == "edge-1"
        assert client.attributes[0]["mime.type"] == "application/json"
        assert runner.context.state.get() == {STATE_KEY: "7"}
        runner.run(stop=False)
        assert len(client.sent) == 3  # nothing new
        assert runner.provenance_events() == []  # shipping records nothing of its own


def test_a_refused_batch_keeps_the_position_and_is_sent_again() -> None:
    client = FakeClient()
    with reporter(client) as runner:
        record(runner, 2)
        client.down = True
        runner.run(stop=False)
        assert runner.context.state.get() == {STATE_KEY: "0"}
        assert any("not shipped" in b.message for b in runner.node.bulletins)
        client.down = False
        runner.run(stop=False)
        assert [r["eventOrdinal"] for r in client.sent[0]] == [1, 2]
        assert runner.context.state.get() == {STATE_KEY: "2"}


@pytest.mark.parametrize(
    ("position", "shipped"), [("beginning-of-stream", 5), ("end-of-stream", 2)]
)
def test_start_position(position: str, shipped: int) -> None:
    client = FakeClient()
    with reporter(client, **{"Start Position": position}) as runner:
        record(runner, 3)
        runner.run(stop=False)
        record(runner, 2)
        runner.run(stop=False)
        assert sum(len(batch) for batch in client.sent) == shipped


def test_a_replaced_provenance_repository_is_shipped_from_its_start() -> None:
    client = FakeClient()
    with reporter(client) as runner:
        record(runner, 2)
        runner.repositories.flowfiles.save_state("report", {STATE_KEY: "5000"})  # read at start
        runner.run(stop=False)
        assert [r["eventOrdinal"] for r in client.sent[0]] == [1, 2]
        assert any("was replaced" in b.message for b in runner.node.bulletins)
