"""Helpers of the end-to-end tests: the seed's fixtures, a hub running a flow with its
status API, and polling with a deadline (fixtures are in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.engine.controller import FlowController

REPOSITORY = Path(__file__).resolve().parents[2]
SEED = REPOSITORY / ".." / "shared" / "seed"
SENSOR_SCHEMA = REPOSITORY / "flows" / "schemas" / "sensor.avsc"
"""The Avro schema of the seed's sensor reading, for flows' AvroSchemaRegistry."""


def seed_path(name: str) -> Path:
    path = SEED / name
    if not path.is_file():
        pytest.fail(f"seed fixture {path} not found: shared/ must sit beside the repository")
    return path


def poll(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Wait until ``check()`` holds, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.02)


class Hub:
    """A running flow and its status API (through starlette's TestClient)."""

    def __init__(self, controller: FlowController, client: TestClient) -> None:
        self.controller = controller
        self.client = client

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(f"/api/v1{path}", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def status(self) -> dict[str, Any]:
        return self.get("/status")  # type: ignore[no-any-return]

    def processor(self, node_id: str) -> dict[str, Any]:
        (found,) = [p for p in self.status()["processors"] if p["id"] == node_id]
        return found  # type: ignore[no-any-return]

    def queued(self, connection_id: str) -> int:
        return self.controller.connections[connection_id].queue.count

    def flowfiles(self, connection_id: str) -> list[dict[str, Any]]:
        """The FlowFiles waiting in a connection, as the API lists them."""
        listed = self.get(f"/connections/{connection_id}/flowfiles", limit=10_000)
        return listed["flowFiles"]  # type: ignore[no-any-return]

    def content(self, uuid: str) -> bytes:
        answer = self.client.get(f"/api/v1/flowfiles/{uuid}/content")
        assert answer.status_code == 200, answer.text
        return answer.content

    def events(self, **query: str) -> list[dict[str, Any]]:
        return self.get("/provenance/events", limit="10000", **query)["events"]  # type: ignore[no-any-return]

    def settled(self, *node_ids: str) -> bool:
        """None of these processors is running a task now."""
        return all(self.controller.nodes[n].active_tasks == 0 for n in node_ids)


RunFlow = Callable[..., Hub]
"""``run_flow(flow, parameters=None, start=True)``: the fixture that starts a flow and
returns its Hub."""
