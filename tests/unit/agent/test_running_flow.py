"""Swapping the agent's flow: queued FlowFiles survive, a bad flow changes nothing, and a
queue the new flow no longer has is kept on disk and comes back with its connection."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from headwater.agent.running_flow import RunningFlow

# gen makes 5 FlowFiles once, queued for a disabled processor: they stay queued.
HELD = """\
flow: held
processors:
  gen:
    type: GenerateFlowFile
    properties: {Batch Size: "5", File Size: 16 B, Unique FlowFiles: "true"}
    schedule: {period: 1000 days}
  hold: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
connections:
  - {from: gen, relationships: [success], to: hold}
"""
# The same connection, gen disabled (so nothing new is made), one processor more.
CHANGED = """\
flow: changed
processors:
  gen: {type: GenerateFlowFile, enabled: false}
  hold: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
  spare: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
connections:
  - {from: gen, relationships: [success], to: hold}
"""
# No connection into hold any more.
WITHOUT = """\
flow: without
processors:
  gen: {type: GenerateFlowFile, enabled: false, auto-terminate: [success]}
"""
QUEUE = "gen/success/hold"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningFlow]:
    flow = RunningFlow(tmp_path, stop_timeout=5, maintenance_interval=3600)
    flow.start(HELD)
    controller = flow.controller
    assert controller is not None
    wait_until(lambda: controller.connections[QUEUE].queue.count == 5)
    try:
        yield flow
    finally:
        flow.stop()


def queued(flow: RunningFlow, queue: str = QUEUE) -> int:
    assert flow.controller is not None
    return flow.controller.connections[queue].queue.count


def test_queued_flowfiles_survive_the_swap(running: RunningFlow, tmp_path: Path) -> None:
    before = running.version
    result = running.replace(CHANGED)
    assert result.applied, result.details
    assert running.controller is not None and running.controller.flow.name == "changed"
    assert running.version != before
    assert queued(running) == 5
    assert "5 FlowFiles queued" in result.details
    assert (tmp_path / "c2" / "flow.yaml").read_text() == CHANGED


def test_an_invalid_flow_is_not_applied_and_the_old_one_runs_on(running: RunningFlow) -> None:
    old = running.controller
    result = running.replace(HELD.replace("UpdateAttribute", "UpdateAttributes"))
    assert not result.applied
    assert "processors.hold.type" in result.details
    assert "UpdateAttribute" in result.details
    assert running.controller is old and old is not None and old.scheduler.running
    assert queued(running) == 5


def test_a_flow_that_cannot_start_brings_the_old_one_back(running: RunningFlow) -> None:
    missing = CHANGED.replace(
        "processors:",
        "services:\n  tls: {type: StandardSSLContextService, properties:"
        " {Truststore Filename: /etc/hostname, Truststore Type: PEM}}\nprocessors:",
    )  # a truststore that exists (validation passes) but holds no certificate
    result = running.replace(missing)
    assert not result.applied
    assert "previous flow runs again" in result.details
    assert running.controller is not None and running.controller.flow.name == "held"
    assert running.controller.scheduler.running
    assert queued(running) >= 5  # the five kept (the restarted gen may add five more)


def contents(flow: RunningFlow) -> dict[str, bytes]:
    """uuid -> content of what the FlowFile repository holds for QUEUE."""
    assert flow.controller is not None
    repositories = flow.controller.repositories
    _, _, first, last = repositories.flowfiles.queue_summaries()[QUEUE]
    listing = repositories.flowfiles.page(QUEUE, first, last, 100)
    return {
        ff.uuid: repositories.content.read(ff.claim, ff.offset, ff.size) if ff.claim else b""
        for ff in listing
    }


def test_a_removed_connection_keeps_its_flowfiles_on_disk(running: RunningFlow) -> None:
    before = contents(running)
    assert len(before) == 5 and all(before.values())
    result = running.replace(WITHOUT)
    assert result.applied
    assert running.orphaned == {QUEUE: 5}
    assert "kept on disk" in result.details and QUEUE in result.details
    assert running.controller is not None
    running.controller.repositories.maintain()  # content reclamation must spare them
    back = running.replace(CHANGED)
    assert back.applied
    assert running.orphaned == {}
    assert contents(running) == before


def test_the_same_flow_again_is_applied_without_a_restart(running: RunningFlow) -> None:
    controller = running.controller
    result = running.replace(HELD)
    assert result.applied and "already runs" in result.details
    assert running.controller is controller
