"""A small real flow for the API tests, run briefly over a temp data directory.

``gen`` (GenerateFlowFile, "hello" as greeting.txt) → ``route`` (RouteOnAttribute,
two true conditions, so each FlowFile is cloned) → ``a`` → ``upper`` (uppercases the
content) → ``tag`` (UpdateAttribute, auto-terminated); ``b`` → ``held`` (disabled),
whose queue fills to its back-pressure limit of 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from headwater.api import create_app
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
from headwater.processors.routing import RouteOnAttribute

HELD = "route/b/held"


class _Uppercase(Processor):
    """Uppercases the content (a CONTENT_MODIFIED event with input and output content)."""

    SUCCESS = Relationship("success", "Uppercased.")

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch():
            session.transfer(session.write(ff, session.read(ff).upper()), self.SUCCESS)


class _Explode(Processor):
    """Raises on every trigger, so its status shows an error bulletin."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        if session.get_batch():
            raise RuntimeError("boom: the test processor always fails")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)


def flow_definition() -> FlowDefinition:
    return FlowDefinition(
        "api-test",
        {
            "gen": ProcessorDefinition(
                "gen",
                GenerateFlowFile,
                {"generate-ff-custom-text": "hello", "filename": "greeting.txt"},
                Schedule(period=0.02),
            ),
            "route": ProcessorDefinition("route", RouteOnAttribute, {"a": "true", "b": "true"}),
            "upper": ProcessorDefinition("upper", _Uppercase),
            "tag": ProcessorDefinition(
                "tag", UpdateAttribute, {"tagged": "yes"}, auto_terminate=frozenset({"success"})
            ),
            "held": ProcessorDefinition(
                "held", UpdateAttribute, auto_terminate=frozenset({"success"}), enabled=False
            ),
            "explode": ProcessorDefinition("explode", _Explode),
        },
        (
            ConnectionDefinition("gen/success/route,explode", "gen", ("success",), "route"),
            ConnectionDefinition("gen/success/explode", "gen", ("success",), "explode"),
            ConnectionDefinition("route/a/upper", "route", ("a",), "upper"),
            ConnectionDefinition("upper/success/tag", "upper", ("success",), "tag"),
            ConnectionDefinition(HELD, "route", ("b",), "held", back_pressure_objects=3),
        ),
        settings=EngineSettings(threads=2, administrative_yield=60.0),
    )


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[FlowController]:
    """The flow after a short run: scheduling stopped, repositories still open."""
    controller = FlowController(flow_definition(), tmp_path, maintenance_interval=3600)
    try:
        controller.start()
        tag, held = controller.nodes["tag"], controller.connections[HELD].queue
        wait_until(lambda: tag.stats.flowfiles_in >= 3 and held.count >= 3)
        wait_until(lambda: bool(controller.nodes["explode"].bulletins))
        controller.scheduler.stop()
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def client(controller: FlowController) -> TestClient:
    return TestClient(create_app(controller))
