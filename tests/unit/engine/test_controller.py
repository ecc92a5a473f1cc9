"""FlowController: a flow over a data directory, its lifecycle, status and restart."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from headwater.context import ProcessContext
from headwater.engine.controller import FlowController
from headwater.engine.session import ProcessSession
from headwater.errors import ApiError, ConfigurationError, RepositoryError
from headwater.flow.model import (
    ConnectionDefinition,
    EngineSettings,
    FlowDefinition,
    ProcessorDefinition,
    Schedule,
)
from headwater.processor import PROCESSOR_TYPES, Processor, Relationship
from headwater.processors.attributes import UpdateAttribute
from headwater.processors.generate import GenerateFlowFile


class CtlProbe(Processor):
    """Counts lifecycle calls and triggers; a source of empty FlowFiles by default."""

    SUCCESS = Relationship("success")

    def __init__(self) -> None:
        self.scheduled = 0
        self.stopped = 0
        self.triggers = 0

    def on_scheduled(self, context: ProcessContext) -> None:
        self.scheduled += 1

    def on_stopped(self, context: ProcessContext) -> None:
        self.stopped += 1

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.triggers += 1
        session.transfer(session.create(), self.SUCCESS)


class CtlSink(CtlProbe):
    """Removes what arrives, remembering uuid, content and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.seen: list[tuple[str, bytes, dict[str, str]]] = []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.triggers += 1
        got = []
        for ff in session.get_batch():
            got.append((ff.uuid, session.read(ff), dict(ff.attributes)))
            session.remove(ff)
        session.commit()
        with self.lock:
            self.seen += got


class CtlBrokenDisk(CtlProbe):
    """Takes its input, then meets a failing repository."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.triggers += 1
        for ff in session.get_batch():
            session.remove(ff)
        raise RepositoryError("disk full")


for _probe in (CtlProbe, CtlSink, CtlBrokenDisk):
    PROCESSOR_TYPES.pop(_probe.type_name(), None)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


Build = Callable[..., FlowController]


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Build]:
    """Controllers over tmp_path (not started); each is stopped after the test."""
    made: list[FlowController] = []

    def make(
        processors: list[ProcessorDefinition],
        connections: tuple[ConnectionDefinition, ...] = (),
        **settings: object,
    ) -> FlowController:
        flow = FlowDefinition(
            "controller-test",
            {p.id: p for p in processors},
            connections,
            settings=EngineSettings(**{"threads": 2, **settings}),  # type: ignore[arg-type]
        )
        controller = FlowController(flow, tmp_path, maintenance_interval=3600)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.stop(timeout=5)


def connect(source: str, destination: str, **options: object) -> ConnectionDefinition:
    return ConnectionDefinition(
        f"{source}-{destination}",
        source,
        ("success",),
        destination,
        **options,  # type: ignore[arg-type]
    )


def sink(controller: FlowController, node_id: str = "sink") -> CtlSink:
    processor = controller.nodes[node_id].processor
    assert isinstance(processor, CtlSink)
    return processor


def probe(controller: FlowController, node_id: str) -> CtlProbe:
    processor = controller.nodes[node_id].processor
    assert isinstance(processor, CtlProbe)
    return processor


def status_of(controller: FlowController, node_id: str) -> dict[str, object]:
    (found,) = [p for p in controller.status()["processors"] if p["id"] == node_id]
    return found  # type: ignore[no-any-return]


ONCE = Schedule(period=3600)
GENERATE_100 = {"Batch Size": "100", "generate-ff-custom-text": "reading", "sensor": "t1"}


def test_a_flow_moves_every_flowfile(build: Build) -> None:
    controller = build(
        [
            ProcessorDefinition("gen", GenerateFlowFile, GENERATE_100, schedule=ONCE),
            ProcessorDefinition("update", UpdateAttribute, {"stage": "${sensor}-seen"}),
            ProcessorDefinition("sink", CtlSink),
        ],
        (connect("gen", "update"), connect("update", "sink")),
    )
    controller.start()
    wait_for(lambda: len(sink(controller).seen) == 100)
    wait_for(lambda: status_of(controller, "sink")["flowFilesRemoved"] == 100)
    seen = sink(controller).seen
    assert len({uuid for uuid, _, _ in seen}) == 100
    assert all(content == b"reading" for _, content, _ in seen)
    assert all(attrs["stage"] == "t1-seen" for _, _, attrs in seen)
    assert status_of(controller, "gen")["flowFilesOut"] == 100
    update = status_of(controller, "update")
    assert (update["flowFilesIn"], update["flowFilesOut"]) == (100, 100)
    assert update["bytesIn"] == update["bytesOut"] == 700
    assert controller.queued() == 0
    assert all(c["queuedCount"] == 0 for c in controller.status()["connections"])
    assert controller.repositories.flowfiles.queue_summaries() == {}
    events = controller.repositories.provenance.query(limit=10_000)
    assert Counter(str(e.event_type) for e in events) == {
        "CREATE": 100,
        "ATTRIBUTES_MODIFIED": 100,
        "DROP": 100,
    }


def test_status_shape(build: Build) -> None:
    controller = build(
        [
            ProcessorDefinition("gen", CtlProbe, schedule=ONCE, name="Generator"),
            ProcessorDefinition("sink", CtlSink, enabled=False),
        ],
        (connect("gen", "sink", back_pressure_objects=7, name="readings"),),
    )
    controller.start()
    wait_for(lambda: controller.queued() == 1)
    status = controller.status()
    assert status["flow"] == "controller-test" and status["running"] is True
    assert status["fault"] is None
    states = {p["id"]: p["state"] for p in status["processors"]}
    assert states == {"gen": "RUNNING", "sink": "DISABLED"}
    assert status_of(controller, "gen")["name"] == "Generator"
    (connection,) = status["connections"]
    assert connection["name"] == "readings" and connection["queuedCount"] == 1
    assert connection["backPressureObjects"] == 7 and connection["backPressured"] is False


def test_unknown_processor_is_a_404(build: Build) -> None:
    controller = build([ProcessorDefinition("gen", CtlProbe, schedule=ONCE)])
    with pytest.raises(ApiError) as caught:
        controller.start_processor("nope")
    assert "nope" in str(caught.value) and "gen" in str(caught.value)


def test_bad_configuration_lists_problems_and_releases_the_directory(
    build: Build, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build([ProcessorDefinition("gen", GenerateFlowFile, {"Batch Size": "ten"})])
    assert "processors.gen.properties.Batch Size" in str(caught.value)
    controller = build([ProcessorDefinition("gen", CtlProbe, schedule=ONCE)])
    controller.start()


def test_stop_and_start_one_processor(build: Build) -> None:
    controller = build(
        [
            ProcessorDefinition(
                "tick",
                CtlProbe,
                schedule=Schedule(period=0.02),
                auto_terminate=frozenset({"success"}),
            )
        ]
    )
    controller.start()
    tick = probe(controller, "tick")
    wait_for(lambda: tick.triggers >= 2)
    controller.stop_processor("tick")
    assert (tick.scheduled, tick.stopped) == (1, 1)
    assert status_of(controller, "tick")["state"] == "STOPPED"
    after_stop = tick.triggers
    time.sleep(0.1)
    assert tick.triggers == after_stop
    controller.start_processor("tick")
    wait_for(lambda: tick.triggers >= after_stop + 2)
    assert tick.scheduled == 2
    assert status_of(controller, "tick")["state"] == "RUNNING"


def test_stop_calls_on_stopped_once(build: Build) -> None:
    controller = build(
        [
            ProcessorDefinition("gen", CtlProbe, schedule=ONCE),
            ProcessorDefinition("sink", CtlSink),
            ProcessorDefinition("idle", CtlSink),
            ProcessorDefinition("off", CtlProbe, enabled=False),
        ],
        (
            connect("gen", "sink"),
            ConnectionDefinition("off-idle", "off", ("success",), "idle"),
        ),
    )
    controller.start()
    wait_for(lambda: len(sink(controller).seen) == 1)
    controller.stop()
    controller.stop()
    assert controller.stopped.is_set()
    assert controller.status()["running"] is False
    assert (probe(controller, "gen").scheduled, probe(controller, "gen").stopped) == (1, 1)
    assert (sink(controller).scheduled, sink(controller).stopped) == (1, 1)
    assert (sink(controller, "idle").scheduled, sink(controller, "idle").stopped) == (0, 0)
    assert probe(controller, "off").stopped == 0


def test_restart_restores_queued_flowfiles(build: Build) -> None:
    generate = {"Batch Size": "50", "generate-ff-custom-text": "payload"}
    first = build(
        [
            ProcessorDefinition("gen", GenerateFlowFile, generate, schedule=ONCE),
            ProcessorDefinition("sink", CtlSink, enabled=False),
        ],
        (connect("gen", "sink", swap_threshold=10),),
    )
    first.start()
    wait_for(lambda: first.queued() == 50)
    made = [ff.uuid for ff in first.repositories.flowfiles.page("gen-sink", 0, 1 << 62, 100)]
    first.stop()

    second = build(
        [
            ProcessorDefinition("gen", GenerateFlowFile, generate, enabled=False),
            ProcessorDefinition("sink", CtlSink),
        ],
        (connect("gen", "sink", swap_threshold=10),),
    )
    queue = second.connections["gen-sink"].queue
    assert (queue.count, queue.swapped, queue.bytes) == (50, 50, 350)
    (claim,) = second.repositories.flowfiles.claim_counts()
    assert second.repositories.content.count(claim) == 50
    second.start()
    wait_for(lambda: len(sink(second).seen) == 50)
    assert [uuid for uuid, _, _ in sink(second).seen] == made
    assert all(content == b"payload" for _, content, _ in sink(second).seen)
    wait_for(lambda: second.queued() == 0)
    assert second.repositories.flowfiles.queue_summaries() == {}
    assert second.repositories.content.count(claim) == 0


def test_flowfiles_in_a_removed_connection_are_kept(build: Build) -> None:
    first = build(
        [
            ProcessorDefinition("gen", CtlProbe, schedule=ONCE),
            ProcessorDefinition("sink", CtlSink, enabled=False),
        ],
        (connect("gen", "sink"),),
    )
    first.start()
    wait_for(lambda: first.queued() == 1)
    first.stop()
    second = build(
        [ProcessorDefinition("gen", CtlProbe, enabled=False)],
    )
    assert second.queued() == 0
    assert second.repositories.flowfiles.queue_summaries()["gen-sink"][0] == 1


def test_repository_failure_stops_the_engine_with_queues_intact(build: Build) -> None:
    controller = build(
        [
            ProcessorDefinition("gen", CtlProbe, schedule=ONCE),
            ProcessorDefinition("broken", CtlBrokenDisk),
        ],
        (connect("gen", "broken"),),
    )
    controller.start()
    assert controller.stopped.wait(5)
    status = controller.status()
    assert status["running"] is False
    assert status["fault"] == "disk full"
    broken = status_of(controller, "broken")
    assert isinstance(broken["lastError"], dict)
    assert broken["lastError"]["message"] == "engine fault: disk full"
    assert controller.connections["gen-broken"].queue.count == 1
    assert controller.repositories.flowfiles.queue_summaries()["gen-broken"][0] == 1
