"""A processor raising an unexpected exception: its session is rolled back (inputs back
in their queue, none of its provenance kept), the processor yields, and the status API
shows the error as a bulletin."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import create_app
from headwater.context import ProcessContext
from headwater.engine.controller import FlowController
from headwater.engine.session import ProcessSession
from headwater.flow.model import (
    ConnectionDefinition,
    EngineSettings,
    FlowDefinition,
    ProcessorDefinition,
    Schedule,
)
from headwater.processor import Processor, Relationship
from headwater.processors.attributes import UpdateAttribute
from headwater.processors.generate import GenerateFlowFile

pytestmark = pytest.mark.e2e

BATCH = 5
INCOMING = "stamp-to-explode"


class _Explode(Processor):
    """Does everything a session can (attributes, content, a child, a clone, a ROUTE
    event, a transfer, a removal) and then raises."""

    SUCCESS = Relationship("success", "Never reached: the trigger always raises.")
    made: ClassVar[list[str]] = []  # uuids created inside the failed sessions

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch()
        if not batch:
            return
        for ff in batch[1:]:
            ff = session.put_attribute(ff, "touched", "yes")
            ff = session.write(ff, b"rewritten")
            child = session.create(ff)
            clone = session.clone(ff)
            self.made += [child.uuid, clone.uuid]
            session.provenance.route(ff, self.SUCCESS)
            session.transfer(ff, self.SUCCESS)
            session.transfer(child, self.SUCCESS)
            session.remove(clone)
        session.remove(batch[0])
        raise RuntimeError("boom: the test processor always fails")


def definition() -> FlowDefinition:
    return FlowDefinition(
        "processor-failure",
        {
            "generate": ProcessorDefinition(
                "generate",
                GenerateFlowFile,
                {"generate-ff-custom-text": "original", "Batch Size": str(BATCH)},
                Schedule(period=3600.0),
            ),
            "stamp": ProcessorDefinition("stamp", UpdateAttribute, {"stamped": "yes"}),
            "explode": ProcessorDefinition("explode", _Explode),
            "after": ProcessorDefinition(
                "after", UpdateAttribute, auto_terminate=frozenset({"success"}), enabled=False
            ),
        },
        (
            ConnectionDefinition("generate-to-stamp", "generate", ("success",), "stamp"),
            ConnectionDefinition(INCOMING, "stamp", ("success",), "explode"),
            ConnectionDefinition("explode-to-after", "explode", ("success",), "after"),
        ),
        settings=EngineSettings(administrative_yield=30.0),
    )


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[FlowController, TestClient]]:
    controller = FlowController(definition(), tmp_path / "data")
    try:
        controller.start()
        with TestClient(create_app(controller)) as client:
            yield controller, client
    finally:
        controller.stop()


def poll(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def status_of(client: TestClient) -> dict[str, Any]:
    answer = client.get("/api/v1/status")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_unexpected_exception_rolls_back_yields_and_shows_in_status(
    hub: tuple[FlowController, TestClient],
) -> None:
    controller, client = hub
    explode = controller.nodes["explode"]

    def failed_and_settled() -> bool:
        return explode.stats.errors >= 1 and explode.active_tasks == 0

    poll(failed_and_settled)
    status = status_of(client)
    processors = {p["id"]: p for p in status["processors"]}
    connections = {c["id"]: c for c in status["connections"]}

    # The error shows in the status API, as a bulletin naming the processor.
    failed = processors["explode"]
    assert failed["errors"] == 1
    assert failed["lastError"]["level"] == "ERROR"
    assert failed["lastError"]["componentId"] == "explode"
    assert failed["lastError"]["componentType"] == "_Explode"
    assert "boom: the test processor always fails" in failed["lastError"]["message"]
    assert failed["bulletins"][-1] == failed["lastError"]

    # The processor yields (administratively, 30 s), so it is not triggered again now.
    assert failed["yielded"] is True
    assert explode.yield_until - time.monotonic() > 20
    assert failed["tasks"] == 1

    # Inputs are back in their queue, unchanged; nothing went downstream.
    assert connections[INCOMING]["queuedCount"] == BATCH
    assert connections["explode-to-after"]["queuedCount"] == 0
    assert failed["flowFilesIn"] == 0 and failed["flowFilesOut"] == 0
    listing = client.get(f"/api/v1/connections/{INCOMING}/flowfiles")
    assert listing.status_code == 200, listing.text
    queued = listing.json()["flowFiles"]
    assert len(queued) == BATCH
    for item in queued:
        assert item["attributes"]["stamped"] == "yes"
        assert "touched" not in item["attributes"]
        assert item["penalized"] is True, "rolled back with a penalty"
        content = client.get(f"/api/v1/flowfiles/{item['uuid']}/content")
        assert content.content == b"original"

    # No provenance event of the failed session was kept.
    answer = client.get("/api/v1/provenance/events", params={"component": "explode"})
    assert answer.json()["events"] == []
    assert _Explode.made, "the failed session did create FlowFiles"
    for uuid in _Explode.made:
        answer = client.get("/api/v1/provenance/events", params={"flowfile": uuid})
        assert answer.json()["events"] == []
