"""Store-and-forward on 127.0.0.1: an agent flow (GenerateFlowFile → RemoteProcessGroup,
the connection capped with ``overflow``) runs while its hub is down. Past the cap the
oldest readings are dropped (DROP events naming the cap, counted); when the hub comes
up the rest arrive oldest first, each exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from test_site_to_site import PORT, HubProcess

from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict
from ports import free_port

QUEUE = "make/success/send"
MADE = 30
KEPT = 10  # 1 KB of 100-byte readings
T = TypeVar("T")


def agent_flow(hub_url: str) -> dict[str, Any]:
    return {
        "flow": "device",
        "processors": {
            "make": {
                "type": "GenerateFlowFile",
                "properties": {
                    "Batch Size": str(MADE),
                    "Custom Text": "r" * 100,
                    "index": "${nextInt()}",
                },
                "schedule": {"period": "1 hour"},  # one trigger: MADE readings
            },
            "send": {
                "type": "RemoteProcessGroup",
                "properties": {
                    "Target URLs": hub_url,
                    "Port Name": PORT,
                    "Batch Count": "3",  # several transactions, to see their order
                    "Communications Timeout": "2 sec",
                },
                "schedule": {"yield": "0.1 sec"},
            },
        },
        "connections": [
            {
                "from": "make",
                "relationships": ["success"],
                "to": "send",
                "overflow": {"size": "1 KB", "strategy": "drop-oldest"},
            }
        ],
    }


def wait_for(probe: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_past_the_cap_the_oldest_go_and_the_rest_arrive_oldest_first_once(
    tmp_path: Path,
) -> None:
    port = free_port()
    agent = FlowController(load_flow_dict(agent_flow(f"http://127.0.0.1:{port}")), tmp_path / "a")
    queue = agent.connections[QUEUE].queue
    send = agent.nodes["send"]
    hub: HubProcess | None = None
    try:
        agent.start()
        wait_for(lambda: queue.dropped_count == MADE - KEPT, "the cap to drop the oldest")
        wait_for(
            lambda: any("no hub took the transaction" in b.message for b in send.bulletins),
            "the sender to find the hub away",
        )
        assert queue.count == KEPT and queue.bytes == KEPT * 100
        dropped = agent.dropped()
        assert (dropped.count, dropped.bytes) == (MADE - KEPT, (MADE - KEPT) * 100)
        assert agent.status()["connections"][0]["droppedCount"] == MADE - KEPT
        drops = agent.repositories.provenance.query(event_type="DROP", newest_first=False)
        assert len(drops) == MADE - KEPT
        assert all(e.component_id == QUEUE for e in drops)
        assert all("store-and-forward cap of 1 KB reached" in (e.details or "") for e in drops)
        made = agent.repositories.provenance.query(event_type="CREATE", newest_first=False)
        order = sorted(made, key=lambda e: int(e.attributes["index"]))
        oldest = {e.flowfile_uuid for e in order[: MADE - KEPT]}
        assert {e.flowfile_uuid for e in drops} == oldest

        hub = HubProcess(tmp_path / "hub", port=port)
        wait_for(lambda: queue.count == 0, "the agent to deliver the rest")
        wait_for(lambda: hub is not None and hub.count() == KEPT, "the hub to hold the rest")
        arrived = list(hub.received().values())  # in the order the hub queued them
        indices = [int(attributes["index"]) for attributes, _ in arrived]
        expected = [int(e.attributes["index"]) for e in order[MADE - KEPT :]]
        assert indices == expected  # the newest KEPT, oldest first
        time.sleep(0.3)  # nothing more comes: exactly once
        assert hub.count() == KEPT and len(hub.events("RECEIVE")) == KEPT
        sends = agent.repositories.provenance.query(component="send", event_type="SEND")
        assert len(sends) == KEPT
    finally:
        agent.stop()
        if hub is not None:
            hub.stop()
