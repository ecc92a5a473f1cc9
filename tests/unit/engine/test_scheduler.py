"""The scheduler inside a FlowController: when processors run, and what failure does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from headwater.context import ProcessContext
from headwater.engine.controller import FlowController
from headwater.engine.cron import QuartzCron
from headwater.engine.node import ScheduledState
from headwater.engine.session import ProcessSession
from headwater.flow.model import (
    ConnectionDefinition,
    EngineSettings,
    FlowDefinition,
    ProcessorDefinition,
    Schedule,
    SchedulingStrategy,
)
from headwater.processor import PROCESSOR_TYPES, Processor, Relationship
from headwater.processors.generate import GenerateFlowFile


class SchedProbeBase(Processor):
    """Counts triggers (with their monotonic times) and lifecycle calls."""

    SUCCESS = Relationship("success")

    def __init__(self) -> None:
        self.triggers: list[float] = []
        self.scheduled = 0
        self.stopped = 0

    def on_scheduled(self, context: ProcessContext) -> None:
        self.scheduled += 1

    def on_stopped(self, context: ProcessContext) -> None:
        self.stopped += 1

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.triggers.append(time.monotonic())
        self.work(context, session)

    def work(self, context: ProcessContext, session: ProcessSession) -> None:
        """A source: one empty FlowFile to success."""
        session.transfer(session.create(), self.SUCCESS)


class SchedTickSource(SchedProbeBase):
    pass


class SchedSink(SchedProbeBase):
    def work(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch():
            session.remove(ff)


class SchedExploder(SchedProbeBase):
    """Takes its input, makes a FlowFile, reports events, then fails."""

    def work(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch()
        for ff in batch:
            session.provenance.route(ff, "success")
            session.transfer(session.put_attribute(ff, "touched", "yes"), self.SUCCESS)
        session.transfer(session.create(), self.SUCCESS)
        raise RuntimeError(f"boom after {len(batch)}")


class SchedYielder(SchedProbeBase):
    def work(self, context: ProcessContext, session: ProcessSession) -> None:
        context.yield_()


class SchedFlakyStart(SchedProbeBase):
    """on_scheduled fails the first time."""

    def on_scheduled(self, context: ProcessContext) -> None:
        self.scheduled += 1
        if self.scheduled == 1:
            raise RuntimeError("not ready yet")


class SchedPairedTask(SchedProbeBase):
    """Two tasks must run at the same time to get past the barrier."""

    barrier = threading.Barrier(2)

    def work(self, context: ProcessContext, session: ProcessSession) -> None:
        self.barrier.wait(timeout=3)
        context.yield_()


for _probe in (
    SchedProbeBase,
    SchedTickSource,
    SchedSink,
    SchedExploder,
    SchedYielder,
    SchedFlakyStart,
    SchedPairedTask,
):
    PROCESSOR_TYPES.pop(_probe.type_name(), None)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., FlowController]]:
    """Builds and starts a controller over tmp_path; stops it after the test."""
    made: list[FlowController] = []

    def build(
        processors: list[ProcessorDefinition],
        connections: tuple[ConnectionDefinition, ...] = (),
        settings: EngineSettings | None = None,
        run: bool = True,
    ) -> FlowController:
        flow = FlowDefinition(
            "scheduler-test",
            {p.id: p for p in processors},
            connections,
            settings=settings or EngineSettings(threads=2),
        )
        controller = FlowController(flow, tmp_path, maintenance_interval=3600)
        made.append(controller)
        if run:
            controller.start()
        return controller

    yield build
    for controller in made:
        controller.stop(timeout=5)


def probe(controller: FlowController, node_id: str) -> SchedProbeBase:
    processor = controller.nodes[node_id].processor
    assert isinstance(processor, SchedProbeBase)
    return processor


def status_of(controller: FlowController, node_id: str) -> dict[str, object]:
    (found,) = [p for p in controller.status()["processors"] if p["id"] == node_id]
    return found  # type: ignore[no-any-return]


def connect(source: str, destination: str, **options: object) -> ConnectionDefinition:
    return ConnectionDefinition(
        f"{source}-{destination}", source, ("success",), destination, **options
    )  # type: ignore[arg-type]


def test_timer_period_is_respected(start: Callable[..., FlowController]) -> None:
    controller = start(
        [
            ProcessorDefinition(
                "tick",
                SchedTickSource,
                schedule=Schedule(period=0.2),
                auto_terminate=frozenset({"success"}),
            )
        ]
    )
    tick = probe(controller, "tick")
    wait_for(lambda: len(tick.triggers) >= 4, timeout=3)
    times = list(tick.triggers)
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= 0.18, gaps
    assert max(gaps) < 0.6, gaps
    assert len(times) <= 6  # ~5 a second, loosely


def test_cron_driven_next_run_is_computed(start: Callable[..., FlowController]) -> None:
    expression = "0 0 12 * * ?"
    controller = start(
        [
            ProcessorDefinition(
                "noon",
                SchedTickSource,
                schedule=Schedule(strategy=SchedulingStrategy.CRON_DRIVEN, cron=expression),
                auto_terminate=frozenset({"success"}),
            )
        ]
    )
    wall = datetime.now(UTC)
    expected = (QuartzCron(expression).next_after(wall) - wall).total_seconds()
    node = controller.nodes["noon"]
    assert abs((node.next_run - time.monotonic()) - expected) < 2
    assert probe(controller, "noon").triggers == []


def test_cron_driven_node_fires_when_due(start: Callable[..., FlowController]) -> None:
    controller = start(
        [
            ProcessorDefinition(
                "every-second",
                SchedTickSource,
                schedule=Schedule(strategy=SchedulingStrategy.CRON_DRIVEN, cron="* * * * * ?"),
                auto_terminate=frozenset({"success"}),
            )
        ]
    )
    tick = probe(controller, "every-second")
    wait_for(lambda: len(tick.triggers) >= 1, timeout=2.5)
    assert controller.nodes["every-second"].next_run > tick.triggers[0]


def test_source_waits_while_its_queue_is_full(start: Callable[..., FlowController]) -> None:
    controller = start(
        [
            ProcessorDefinition("gen", SchedTickSource),
            ProcessorDefinition("stuck", SchedSink, enabled=False),
        ],
        (connect("gen", "stuck", back_pressure_objects=10),),
    )
    queue = controller.connections["gen-stuck"].queue
    wait_for(lambda: queue.count >= 10)
    tasks = len(probe(controller, "gen").triggers)
    time.sleep(0.2)  # a period-0 source would trigger thousands of times here
    assert len(probe(controller, "gen").triggers) == tasks
    assert queue.count == 10
    (connection,) = controller.status()["connections"]
    assert connection["backPressured"] is True and connection["queuedCount"] == 10
    assert probe(controller, "stuck").triggers == []


def test_back_pressure_by_bytes(start: Callable[..., FlowController]) -> None:
    controller = start(
        [
            ProcessorDefinition(
                "gen", GenerateFlowFile, {"File Size": "100B"}, schedule=Schedule(period=0.0)
            ),
            ProcessorDefinition("stuck", SchedSink, enabled=False),
        ],
        (connect("gen", "stuck", back_pressure_objects=0, back_pressure_bytes=450),),
    )
    queue = controller.connections["gen-stuck"].queue
    wait_for(lambda: queue.bytes >= 450)
    time.sleep(0.1)
    assert (queue.count, queue.bytes) == (5, 500)


def test_source_resumes_when_the_queue_drains(start: Callable[..., FlowController]) -> None:
    controller = start(
        [
            ProcessorDefinition("gen", SchedTickSource),
            ProcessorDefinition("sink", SchedSink, enabled=False),
        ],
        (connect("gen", "sink", back_pressure_objects=5),),
    )
    queue = controller.connections["gen-sink"].queue
    wait_for(lambda: queue.count == 5)
    controller.nodes["sink"].state = ScheduledState.STOPPED  # enable it, then start it
    controller.start_processor("sink")
    wait_for(lambda: len(probe(controller, "gen").triggers) >= 20)


def test_failing_trigger_rolls_back_penalizes_and_yields(
    start: Callable[..., FlowController],
) -> None:
    controller = start(
        [
            ProcessorDefinition(
                "gen",
                GenerateFlowFile,
                {"Batch Size": "2", "generate-ff-custom-text": "x"},
                schedule=Schedule(period=3600),
            ),
            ProcessorDefinition("explode", SchedExploder, auto_terminate=frozenset({"success"})),
        ],
        (connect("gen", "explode"),),
    )
    explode = probe(controller, "explode")
    wait_for(lambda: status_of(controller, "explode")["errors"] == 1)
    node = controller.nodes["explode"]
    queue = controller.connections["gen-explode"].queue
    assert queue.count == 2
    assert not queue.is_ready(time.monotonic()), "the inputs come back penalized"
    assert queue.is_ready(time.monotonic() + 31)
    stored = controller.repositories.flowfiles.page("gen-explode", 0, 1 << 62, 10)
    assert len(stored) == 2 and all("touched" not in ff.attributes for ff in stored)
    assert node.yield_until > time.monotonic() + 25, "administratively yielded"
    status = status_of(controller, "explode")
    assert status["yielded"] is True
    assert status["flowFilesIn"] == 0 and status["flowFilesOut"] == 0
    last = status["lastError"]
    assert isinstance(last, dict)
    assert last["message"] == "RuntimeError: boom after 2"
    assert (last["componentId"], last["componentType"], last["level"]) == (
        "explode",
        "SchedExploder",
        "ERROR",
    )
    assert controller.repositories.provenance.query(component="explode") == []
    assert len(explode.triggers) == 1
    assert controller.queued() == 2


def test_yield_holds_the_processor_for_its_yield_duration(
    start: Callable[..., FlowController],
) -> None:
    controller = start(
        [ProcessorDefinition("yielder", SchedYielder, schedule=Schedule(yield_duration=5.0))]
    )
    yielder = probe(controller, "yielder")
    wait_for(lambda: len(yielder.triggers) == 1)
    wait_for(lambda: controller.nodes["yielder"].yield_until > 0)
    remaining = controller.nodes["yielder"].yield_until - time.monotonic()
    assert 4.0 < remaining <= 5.0
    assert status_of(controller, "yielder")["yielded"] is True
    time.sleep(0.1)
    assert len(yielder.triggers) == 1


def test_short_yield_runs_again_after_it(start: Callable[..., FlowController]) -> None:
    controller = start(
        [ProcessorDefinition("yielder", SchedYielder, schedule=Schedule(yield_duration=0.15))]
    )
    yielder = probe(controller, "yielder")
    wait_for(lambda: len(yielder.triggers) >= 3, timeout=3)
    times = list(yielder.triggers)
    assert min(b - a for a, b in pairwise(times)) >= 0.14


def test_concurrent_tasks_run_side_by_side(start: Callable[..., FlowController]) -> None:
    SchedPairedTask.barrier.reset()
    controller = start(
        [
            ProcessorDefinition(
                "pair",
                SchedPairedTask,
                schedule=Schedule(concurrent_tasks=2, yield_duration=60),
            )
        ],
        settings=EngineSettings(threads=3),
    )
    wait_for(lambda: status_of(controller, "pair")["tasks"] == 2)
    assert status_of(controller, "pair")["errors"] == 0


def test_one_task_at_a_time_by_default(start: Callable[..., FlowController]) -> None:
    SchedPairedTask.barrier.reset()
    controller = start(
        [ProcessorDefinition("pair", SchedPairedTask, schedule=Schedule(yield_duration=60))],
        settings=EngineSettings(threads=3, administrative_yield=60),
    )
    node = controller.nodes["pair"]
    wait_for(lambda: node.active_tasks == 1)
    time.sleep(0.1)
    assert node.active_tasks == 1
    SchedPairedTask.barrier.abort()  # release the lone task (it fails: BrokenBarrierError)
    wait_for(lambda: status_of(controller, "pair")["errors"] == 1)


def test_failing_on_scheduled_is_retried(start: Callable[..., FlowController]) -> None:
    controller = start(
        [ProcessorDefinition("flaky", SchedFlakyStart, auto_terminate=frozenset({"success"}))],
        settings=EngineSettings(threads=2, administrative_yield=0.2),
    )
    flaky = probe(controller, "flaky")
    wait_for(lambda: len(flaky.triggers) >= 1, timeout=3)
    assert flaky.scheduled == 2
    first = controller.nodes["flaky"].bulletins[0]
    assert first.level == "ERROR"
    assert first.message == "could not be scheduled: RuntimeError: not ready yet"


def test_input_processor_is_not_triggered_without_input(
    start: Callable[..., FlowController],
) -> None:
    controller = start(
        [
            ProcessorDefinition("gen", SchedTickSource, enabled=False),
            ProcessorDefinition("sink", SchedSink),
        ],
        (connect("gen", "sink"),),
    )
    time.sleep(0.1)
    assert probe(controller, "sink").triggers == []
    assert probe(controller, "sink").scheduled == 0


def test_enqueued_work_wakes_an_idle_flow_at_once(start: Callable[..., FlowController]) -> None:
    controller = start(
        [
            ProcessorDefinition("gen", SchedTickSource, schedule=Schedule(period=0.3)),
            ProcessorDefinition("sink", SchedSink),
        ],
        (connect("gen", "sink"),),
    )
    gen, sink = probe(controller, "gen"), probe(controller, "sink")
    wait_for(lambda: len(gen.triggers) >= 2, timeout=3)
    wait_for(lambda: len(sink.triggers) >= 2)
    lags = [s - g for g, s in zip(gen.triggers, sink.triggers, strict=False)]
    assert max(lags) < 0.35, lags  # below the workers' idle wait: the commit woke them
