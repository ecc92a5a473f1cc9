"""Provenance from the device, end to end on 127.0.0.1: an agent flow (GenerateFlowFile
→ RemoteProcessGroup, and a SiteToSiteProvenanceReportingTask) and a hub flow
(InputPort → PutFile, and InputPort → ImportProvenanceEvents), each a FlowController
over its own data directory, the hub behind its API. The hub's lineage API then draws
one graph from the device's CREATE to the hub's file; a restart of the agent that
ships everything again adds no event twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from headwater.api.app import create_app
from headwater.api.server import ApiServer
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict
from headwater.repository.flowfile import SqliteFlowFileRepository
from headwater.s2s.reporting import STATE_KEY

AGENT = "edge-1"
COUNT = 5
T = TypeVar("T")


def hub_flow(out_dir: Path) -> dict[str, Any]:
    return {
        "flow": "hub",
        "processors": {
            "readings": {"type": "InputPort", "properties": {"Port Name": "readings"}},
            "store": {
                "type": "PutFile",
                "properties": {"Directory": str(out_dir)},
                "auto-terminate": ["success", "failure"],
            },
            "provenance": {"type": "InputPort", "properties": {"Port Name": "provenance"}},
            "import": {"type": "ImportProvenanceEvents", "auto-terminate": ["success", "failure"]},
        },
        "connections": [
            {"from": "readings", "relationships": ["success"], "to": "store"},
            {"from": "provenance", "relationships": ["success"], "to": "import"},
        ],
    }


def parquet_hub_flow(out_dir: Path) -> dict[str, Any]:
    """The readings merged into one Parquet file before PutFile (a JOIN on the hub)."""
    flow = hub_flow(out_dir)
    flow["services"] = {
        "json": {"type": "JsonTreeReader"},
        "parquet": {"type": "ParquetRecordSetWriter"},
    }
    flow["processors"]["merge"] = {
        "type": "MergeRecord",
        "properties": {
            "record-reader": "json",
            "record-writer": "parquet",
            "min-records": str(COUNT),
            "max-bin-age": "5 sec",
        },
        "auto-terminate": ["original", "failure"],
    }
    flow["connections"][0]["to"] = "merge"
    flow["connections"].append({"from": "merge", "relationships": ["merged"], "to": "store"})
    return flow


def agent_flow(hub_url: str, *, generate: bool = True, batch: int = 4) -> dict[str, Any]:
    return {
        "flow": "device",
        "settings": {"provenance-max-age": "1 hour", "provenance-max-size": "16 MB"},
        "processors": {
            "make": {
                "type": "GenerateFlowFile",
                "properties": {"Batch Size": str(COUNT), "Custom Text": '{"cputemp": 51}'},
                "schedule": {"period": "1 hour"},  # one trigger: COUNT FlowFiles
                "enabled": "true" if generate else "false",
            },
            "send": {
                "type": "RemoteProcessGroup",
                "properties": {"Target URLs": hub_url, "Port Name": "readings"},
            },
            "report": {
                "type": "SiteToSiteProvenanceReportingTask",
                "properties": {
                    "Destination URL": hub_url,
                    "Input Port Name": "provenance",
                    "Platform": AGENT,
                    "Batch Size": str(batch),
                },
                "schedule": {"period": "0.1 sec"},
            },
        },
        "connections": [{"from": "make", "relationships": ["success"], "to": "send"}],
    }


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[FlowController, str]]:
    yield from running_hub(hub_flow(tmp_path / "lake"), tmp_path / "hub")


def running_hub(flow: dict[str, Any], data_dir: Path) -> Iterator[tuple[FlowController, str]]:
    controller = FlowController(load_flow_dict(flow), data_dir)
    server = ApiServer(create_app(controller), "127.0.0.1", 0)
    server.start()
    controller.start()
    yield controller, server.url
    server.stop()
    controller.stop()


def run_agent(
    data_dir: Path, hub_url: str, *, generate: bool = True, batch: int = 4
) -> FlowController:
    """An agent whose reporting task ships ``batch`` events per transaction."""
    flow = agent_flow(hub_url, generate=generate, batch=batch)
    agent = FlowController(load_flow_dict(flow), data_dir)
    agent.start()
    return agent


def device_events(hub: FlowController) -> list[Any]:
    events = hub.repositories.provenance.query(limit=100_000)
    return [e for e in events if e.origin == AGENT]


def test_lineage_on_the_hub_starts_at_the_device_create(
    hub: tuple[FlowController, str], tmp_path: Path
) -> None:
    controller, url = hub
    agent = run_agent(tmp_path / "agent", url)
    try:
        stored = wait_for(
            lambda: (
                found
                if len(found := controller.repositories.provenance.query(component="store"))
                >= COUNT
                else None
            ),
            "the hub's PutFile to store every reading",
        )
        uuid = stored[0].flowfile_uuid

        def graph() -> dict[str, Any] | None:
            answer = httpx.get(f"{url}/api/v1/provenance/lineage/{uuid}")
            assert answer.status_code == 200
            body: dict[str, Any] = answer.json()
            kinds = {(n.get("origin"), n.get("eventType")) for n in body["nodes"]}
            return body if {(AGENT, "CREATE"), (AGENT, "DROP")} <= kinds else None

        lineage = wait_for(graph, "the device's events in the hub's lineage")
    finally:
        agent.stop()

    nodes = {n["id"]: n for n in lineage["nodes"]}
    events = [n for n in lineage["nodes"] if n["type"] == "EVENT"]
    first = events[0]
    assert (first["eventType"], first["origin"], first["componentId"]) == (
        "CREATE",
        AGENT,
        f"{AGENT}/make",
    )
    following: dict[str, list[str]] = {}
    for link in lineage["links"]:
        following.setdefault(link["source"], []).append(link["target"])
    assert following[uuid] == [first["id"]]  # the FlowFile node leads to the device CREATE

    def step(event_id: str, kind: str, origin: str | None) -> str:
        (found,) = [
            t
            for t in following.get(event_id, [])
            if nodes[t]["eventType"] == kind and nodes[t].get("origin") == origin
        ]
        return found

    sent = step(first["id"], "SEND", AGENT)  # the RemoteProcessGroup on the device
    assert nodes[sent]["componentId"] == f"{AGENT}/send"
    step(sent, "DROP", AGENT)  # the device let it go after the hub confirmed: a branch
    received = step(sent, "RECEIVE", None)  # the hub's input port
    assert nodes[received]["componentId"] == "readings"
    stored_event = step(received, "SEND", None)  # PutFile: the file on the hub
    assert nodes[stored_event]["componentId"] == "store"
    assert [n["eventType"] for n in events].count("RECEIVE") == 1


def test_a_restarted_agent_ships_nothing_twice(
    hub: tuple[FlowController, str], tmp_path: Path
) -> None:
    controller, url = hub
    agent = run_agent(tmp_path / "agent", url)
    try:
        wait_for(lambda: len(device_events(controller)) >= 3 * COUNT, "every device event")
        time.sleep(0.5)  # let the reporting task go idle with nothing left
    finally:
        agent.stop()
    before = device_events(controller)
    assert len(before) == 3 * COUNT  # CREATE, SEND, DROP per reading, once each
    assert Counter((e.flowfile_uuid, e.event_type) for e in before).most_common(1)[0][1] == 1

    repository = SqliteFlowFileRepository(tmp_path / "agent" / "flowfile_repository")
    try:
        shipped = repository.load_state("report")
        assert int(shipped[STATE_KEY]) >= 3 * COUNT
        repository.save_state("report", {STATE_KEY: "0"})  # as if the position were lost
    finally:
        repository.close()
    # Other batches than before, so the input port takes them as new FlowFiles and only
    # the importer can tell the events are already there.
    again = run_agent(tmp_path / "agent", url, generate=False, batch=100)
    importer = controller.nodes["import"]
    try:
        wait_for(
            lambda: (
                importer.stats.counters.get("Provenance events already imported", 0) >= 3 * COUNT
            ),
            "the hub to recognise every event sent again",
        )
    finally:
        again.stop()
    assert len(device_events(controller)) == 3 * COUNT


def test_the_lineage_of_a_parquet_file_reaches_every_device_create(tmp_path: Path) -> None:
    hub = running_hub(parquet_hub_flow(tmp_path / "lake"), tmp_path / "hub")
    controller, url = next(hub)
    agent = run_agent(tmp_path / "agent", url)
    try:
        (stored,) = wait_for(
            lambda: controller.repositories.provenance.query(component="store", event_type="SEND"),
            "the Parquet file on the hub",
        )
        creates: set[str] = set()

        def graph() -> dict[str, Any] | None:
            body: dict[str, Any] = httpx.get(
                f"{url}/api/v1/provenance/lineage/{stored.flowfile_uuid}"
            ).json()
            creates.clear()
            creates.update(
                n["flowFileUuid"]
                for n in body["nodes"]
                if n.get("eventType") == "CREATE" and n.get("origin") == AGENT
            )
            return body if len(creates) == COUNT else None

        lineage = wait_for(graph, "every reading's device CREATE in the Parquet file's lineage")
    finally:
        agent.stop()
        next(hub, None)
    events = [n for n in lineage["nodes"] if n["type"] == "EVENT"]
    assert (events[0]["eventType"], events[0]["origin"]) == ("CREATE", AGENT)
    nodes = {n["id"]: n for n in lineage["nodes"]}
    (join,) = [n for n in events if n["eventType"] == "JOIN"]
    into_join = [nodes[link["source"]] for link in lineage["links"] if link["target"] == join["id"]]
    parents = [n for n in into_join if n["type"] == "EVENT"]  # and the merged FlowFile's node
    assert len(parents) == COUNT
    assert {(n["eventType"], n.get("origin")) for n in parents} == {("RECEIVE", None)}
    assert nodes[stored_id(lineage, stored.flowfile_uuid)]["componentId"] == "store"


def stored_id(lineage: dict[str, Any], uuid: str) -> str:
    """The id of the merged FlowFile's SEND (PutFile) event."""
    (found,) = [
        n["id"]
        for n in lineage["nodes"]
        if n.get("eventType") == "SEND" and n["flowFileUuid"] == uuid
    ]
    return str(found)
