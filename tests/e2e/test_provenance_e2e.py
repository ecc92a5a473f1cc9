"""Provenance end to end: a FlowFile cloned and routed, its whole lineage through the
hub API, the events kept across a restart, and retention taking old events and then
the content claims nothing points at any more."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict

pytestmark = pytest.mark.e2e


def flow(*, generate: bool = True, max_age: str = "30 days") -> dict[str, Any]:
    """GenerateFlowFile (once) → UpdateAttribute → RouteOnAttribute, whose two
    conditions both match, so the FlowFile is cloned and goes both ways → two sinks."""
    return {
        "flow": "provenance-e2e",
        "settings": {"provenance-max-age": max_age},
        "processors": {
            "generate": {
                "type": "GenerateFlowFile",
                "enabled": generate,
                "properties": {"Custom Text": "hello lineage"},
                "schedule": {"period": "1 hour"},
            },
            "stamp": {"type": "UpdateAttribute", "properties": {"stamped": "yes"}},
            "route": {
                "type": "RouteOnAttribute",
                "properties": {
                    "left": "${stamped:equals('yes')}",
                    "right": "${filename:isEmpty():not()}",
                },
                "auto-terminate": ["unmatched"],
            },
            "sink-left": {"type": "UpdateAttribute", "auto-terminate": ["success"]},
            "sink-right": {"type": "UpdateAttribute", "auto-terminate": ["success"]},
        },
        "connections": [
            {"from": "generate", "relationships": ["success"], "to": "stamp"},
            {"from": "stamp", "relationships": ["success"], "to": "route"},
            {"from": "route", "relationships": ["left"], "to": "sink-left"},
            {"from": "route", "relationships": ["right"], "to": "sink-right"},
        ],
    }


@contextmanager
def hub(data_dir: Path, definition: dict[str, Any], *, start: bool) -> Iterator[TestClient]:
    controller = FlowController(load_flow_dict(definition, "provenance-e2e"), data_dir)
    try:
        if start:
            controller.start()
        with TestClient(create_app(controller)) as client:
            client.controller = controller  # type: ignore[attr-defined]
            yield client
    finally:
        controller.stop()


def poll(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def events(client: TestClient, **query: str) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/provenance/events", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]  # type: ignore[no-any-return]


def claim_files(data_dir: Path) -> set[str]:
    root = data_dir / "content_repository"
    return {p.name for p in root.rglob("*") if p.is_file() and p.name.isdigit()}


EXPECTED_EVENTS = Counter(
    {"CREATE": 1, "ATTRIBUTES_MODIFIED": 1, "CLONE": 1, "ROUTE": 2, "DROP": 2}
)


def check_lineage(client: TestClient, uuid: str, downloads: int = 0) -> dict[str, Any]:
    answer = client.get(f"/api/v1/provenance/lineage/{uuid}")
    assert answer.status_code == 200, answer.text
    graph: dict[str, Any] = answer.json()
    flowfiles = [n for n in graph["nodes"] if n["type"] == "FLOWFILE"]
    assert len(flowfiles) == 2, "the FlowFile and its clone"
    kinds = Counter(n["eventType"] for n in graph["nodes"] if n["type"] == "EVENT")
    assert kinds == EXPECTED_EVENTS + Counter({"DOWNLOAD": downloads})
    return graph


def test_cloned_and_routed_flowfile_lineage_survives_restart_and_retention(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with hub(data_dir, flow(), start=True) as client:
        poll(lambda: len(events(client, type="DROP")) == 2)
        (created,) = events(client, type="CREATE")
        original = created["flowFileUuid"]
        graph = check_lineage(client, original)

        by_id = {n["id"]: n for n in graph["nodes"] if n["type"] == "EVENT"}
        (clone_event,) = [n for n in by_id.values() if n["eventType"] == "CLONE"]
        assert clone_event["flowFileUuid"] == original
        assert clone_event["componentId"] == "route"
        clone = next(
            n["id"] for n in graph["nodes"] if n["type"] == "FLOWFILE" and n["id"] != original
        )
        # The CLONE event links the parent's story to the clone's first event.
        assert any(
            link["source"] == clone_event["id"] and link["flowFileUuid"] == clone
            for link in graph["links"]
        )
        routes = {e["relationship"]: e["flowFileUuid"] for e in events(client, type="ROUTE")}
        assert set(routes) == {"left", "right"}
        assert set(routes.values()) == {original, clone}
        drops = {e["componentId"] for e in events(client, type="DROP")}
        assert drops == {"sink-left", "sink-right"}
        # The clone's lineage is the same graph, found from the other side.
        other_side = check_lineage(client, clone)
        assert sorted(n["id"] for n in other_side["nodes"]) == sorted(
            n["id"] for n in graph["nodes"]
        )

        content = client.get(f"/api/v1/flowfiles/{clone}/content")
        assert content.status_code == 200
        assert content.content == b"hello lineage"
        before = events(client)

    claims = claim_files(data_dir)
    assert claims, "the content was written to a claim file"

    with hub(data_dir, flow(generate=False), start=True) as client:
        assert events(client) == before
        check_lineage(client, original, downloads=1)

    with hub(data_dir, flow(generate=False, max_age="1 ms"), start=False) as client:
        repositories = client.controller.repositories  # type: ignore[attr-defined]
        newest = max(e["eventTime"] for e in before)
        poll(lambda: time.time() * 1000 > newest + 5)
        removed_events, removed_claims = repositories.maintain()
        assert removed_events == len(before)
        assert events(client) == []
        assert client.get(f"/api/v1/provenance/lineage/{original}").status_code == 404
        assert removed_claims == len(claims)
        assert claim_files(data_dir) == set(), "no FlowFile and no event needs the content"
