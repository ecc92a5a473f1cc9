"""Store-and-forward caps: a connection's ``overflow`` drops its oldest FlowFiles (DROP
events, counted, content let go) instead of filling the disk while its destination
cannot send."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engine.controller import FlowController
from headwater.engine.queue import FlowFileQueue
from headwater.errors import ConfigurationError
from headwater.flow.loader import load_flow_dict
from headwater.flowfile import FlowFile
from headwater.repository.flowfile import SqliteFlowFileRepository

NOW_MS = 1_700_000_000_000


def flowfile(seq: int, size: int) -> FlowFile:
    ff = FlowFile.create({"n": str(seq)})
    ff.seq, ff.size, ff.queued_at, ff.entry_date = seq, size, NOW_MS, NOW_MS
    return ff


class Recorder:
    """An overflow handler that remembers what it was given."""

    def __init__(self) -> None:
        self.dropped: list[FlowFile] = []

    def __call__(self, queue: FlowFileQueue, flowfiles: list[FlowFile]) -> None:
        self.dropped += flowfiles


def capped(handler: Recorder, **options: object) -> FlowFileQueue:
    return FlowFileQueue(
        "q",
        back_pressure_objects=0,
        back_pressure_bytes=0,
        on_overflow=handler,
        **options,  # type: ignore[arg-type]
    )


def test_past_the_size_cap_the_oldest_are_dropped_and_counted() -> None:
    handler = Recorder()
    queue = capped(handler, overflow_bytes=100)
    queue.put_all([flowfile(seq, 30) for seq in range(1, 4)])
    assert not handler.dropped and queue.bytes == 90
    queue.put_all([flowfile(4, 30), flowfile(5, 30)])
    assert [ff.seq for ff in handler.dropped] == [1, 2]
    assert (queue.count, queue.bytes) == (3, 90)
    assert (queue.dropped_count, queue.dropped_bytes) == (2, 60)
    taken, _ = queue.poll(10, 0.0, NOW_MS)
    assert [ff.seq for ff in taken] == [3, 4, 5]  # the rest, oldest first


def test_object_cap() -> None:
    handler = Recorder()
    queue = capped(handler, overflow_objects=3)
    queue.put_all([flowfile(seq, 0) for seq in range(1, 8)])
    assert [ff.seq for ff in handler.dropped] == [1, 2, 3, 4]
    assert queue.count == 3 and queue.dropped_count == 4


def test_in_flight_flowfiles_neither_count_nor_are_dropped() -> None:
    handler = Recorder()
    queue = capped(handler, overflow_objects=2)
    queue.put_all([flowfile(1, 0), flowfile(2, 0)])
    taken, _ = queue.poll(2, 0.0, NOW_MS)  # a session is sending them
    queue.put_all([flowfile(3, 0), flowfile(4, 0)])
    assert handler.dropped == [] and queue.count == 4  # two waiting: within the cap
    queue.put_all([flowfile(5, 0)])
    assert [ff.seq for ff in handler.dropped] == [3]
    queue.requeue(taken)  # the send failed: they wait again, and are the oldest
    queue.put_all([flowfile(6, 0)])
    assert [ff.seq for ff in handler.dropped] == [3, 1, 2, 4]
    assert [ff.seq for ff in queue.poll(10, 0.0, NOW_MS)[0]] == [5, 6]


def test_prioritized_and_penalized_queues_drop_the_longest_queued() -> None:
    handler = Recorder()
    queue = capped(handler, overflow_objects=2, prioritizers=["NewestFlowFileFirstPrioritizer"])
    late = flowfile(1, 0)
    late.penalized_until = time.monotonic() + 60
    queue.put_all([late, flowfile(2, 0), flowfile(3, 0), flowfile(4, 0)])
    assert [ff.seq for ff in handler.dropped] == [1, 2]
    assert queue.count == 2


def test_swapped_flowfiles_are_paged_in_to_be_dropped(tmp_path: Path) -> None:
    repo = SqliteFlowFileRepository(tmp_path / "ff", synchronous="OFF")
    try:
        handler = Recorder()
        queue = capped(handler, overflow_objects=50, swap_reader=repo.page, swap_threshold=10)
        arrived = [flowfile(seq, 1) for seq in repo.next_seqs(40)]
        repo.commit([repo.row("q", ff) for ff in arrived], [])
        queue.put_all(arrived)
        assert queue.swapped == 30
        queue.poll(10, 0.0, NOW_MS)  # the in-memory ten go in flight
        more = [flowfile(seq, 1) for seq in repo.next_seqs(30)]
        repo.commit([repo.row("q", ff) for ff in more], [])
        queue.put_all(more)
        assert [ff.seq for ff in handler.dropped] == [ff.seq for ff in arrived[10:20]]
        assert queue.count == 60 and queue.bytes == 60  # 50 waiting, 10 in flight
    finally:
        repo.close()


def test_without_a_handler_nothing_is_dropped() -> None:
    queue = FlowFileQueue("q", back_pressure_objects=0, overflow_objects=1)
    queue.put_all([flowfile(1, 0), flowfile(2, 0)])
    assert queue.count == 2 and queue.shed() == 0


# -- the flow setting, and the controller doing the dropping -----------------------------


def capped_flow(**connection: object) -> dict[str, object]:
    return {
        "flow": "device",
        "processors": {
            "make": {
                "type": "GenerateFlowFile",
                "properties": {"File Size": "10 B", "Unique FlowFiles": "true"},
                "schedule": {"period": "0 sec"},
            },
            "send": {"type": "UpdateAttribute", "enabled": "false", "auto-terminate": ["success"]},
        },
        "connections": [
            {"id": "out", "from": "make", "relationships": ["success"], "to": "send", **connection}
        ],
    }


def test_overflow_reads_and_turns_back_pressure_off() -> None:
    flow = load_flow_dict(capped_flow(overflow={"size": "100 MB"}))
    (connection,) = flow.connections
    assert connection.overflow is not None
    assert connection.overflow.max_bytes == 100 * 1024**2
    assert connection.overflow.describe() == "100 MB"
    assert (connection.back_pressure_objects, connection.back_pressure_bytes) == (0, 0)
    plain = load_flow_dict(capped_flow())
    assert plain.connections[0].overflow is None
    assert plain.connections[0].back_pressure_objects == 10_000


@pytest.mark.parametrize(
    ("overflow", "pressure", "expected"),
    [
        ({"size": "lots"}, None, "connections[0].overflow.size: expected a data size"),
        ({"size": "1 MB", "strategy": "drop-old"}, None, "unknown overflow strategy 'drop-old'"),
        ({"sizes": "1 MB"}, None, "connections[0].overflow.sizes: unknown overflow key"),
        ({}, None, "connections[0].overflow: sets no cap"),
        ("100 MB", None, "connections[0].overflow: expected a mapping"),
        ({"size": "1 GB"}, {"size": "1 GB"}, "stops the source before the overflow cap"),
    ],
)
def test_overflow_mistakes_are_named(overflow: object, pressure: object, expected: str) -> None:
    extra: dict[str, object] = {"overflow": overflow}
    if pressure is not None:
        extra["back-pressure"] = pressure
    with pytest.raises(ConfigurationError) as caught:
        load_flow_dict(capped_flow(**extra))
    assert expected in str(caught.value)


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[FlowController]:
    flow = load_flow_dict(capped_flow(overflow={"objects": "5"}))
    running = FlowController(flow, tmp_path / "device", maintenance_interval=3600)
    yield running
    running.stop()


def test_the_controller_drops_with_events_counts_and_released_content(
    controller: FlowController, tmp_path: Path
) -> None:
    queue = controller.connections["out"].queue
    controller.start()
    deadline = time.monotonic() + 10
    while queue.dropped_count < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    controller.scheduler.stop_node(controller.nodes["make"])
    dropped = controller.dropped()
    assert dropped.count >= 20 and dropped.bytes == dropped.count * 10
    assert dropped.connections == {"out": (dropped.count, dropped.bytes)}
    assert queue.count == 5
    status = controller.status()
    assert status["droppedCount"] == dropped.count
    (connection,) = status["connections"]
    assert connection["droppedCount"] == dropped.count and connection["overflowObjects"] == 5
    events = controller.repositories.provenance.query(event_type="DROP", limit=10_000)
    assert len(events) == dropped.count
    assert all(e.component_id == "out" and e.component_type == "Connection" for e in events)
    assert "store-and-forward cap of 5 FlowFiles reached" in (events[0].details or "")
    kept = {ff.uuid for ff in queue.listing(100)}
    assert kept.isdisjoint(e.flowfile_uuid for e in events)
    counts = controller.repositories.flowfiles.claim_counts()
    live = {c: controller.repositories.content.count(c) for c in counts}
    assert counts == live  # the dropped FlowFiles' claims were let go
    assert sum(counts.values()) == 5
    summaries = controller.repositories.flowfiles.queue_summaries()
    assert summaries["out"][0] == 5  # and their rows are gone from the repository


def test_dropped_counts_outlive_a_restart(tmp_path: Path) -> None:
    flow = load_flow_dict(capped_flow(overflow={"objects": "2"}))
    first = FlowController(flow, tmp_path / "device", maintenance_interval=3600)
    try:
        first.start()
        queue = first.connections["out"].queue
        deadline = time.monotonic() + 10
        while queue.dropped_count < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        first.scheduler.stop_node(first.nodes["make"])
        counted = first.dropped()
    finally:
        first.stop()
    assert counted.count >= 3
    again = FlowController(flow, tmp_path / "device", maintenance_interval=3600)
    try:
        assert again.dropped() == counted
        assert again.connections["out"].queue.count == 2
    finally:
        again.stop()


def test_a_lowered_cap_drops_the_oldest_of_a_restored_queue_at_start(tmp_path: Path) -> None:
    first = FlowController(
        load_flow_dict(capped_flow(overflow={"objects": "6"})),
        tmp_path / "d",
        maintenance_interval=3600,
    )
    try:
        first.start()
        queue = first.connections["out"].queue
        deadline = time.monotonic() + 10
        while queue.dropped_count < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        first.scheduler.stop_node(first.nodes["make"])
        waiting = sorted(queue.listing(100), key=lambda ff: ff.seq)
    finally:
        first.stop()
    assert len(waiting) == 6
    lowered = load_flow_dict(capped_flow(overflow={"objects": "2"}))
    again = FlowController(lowered, tmp_path / "d", maintenance_interval=3600)
    try:
        queue = again.connections["out"].queue
        assert queue.count == 2
        taken, _ = queue.poll(10, 0.0, 0)
        assert [ff.uuid for ff in taken] == [ff.uuid for ff in waiting[4:]]
        drops = again.repositories.provenance.query(event_type="DROP", limit=1000)
        assert {e.flowfile_uuid for e in drops} >= {ff.uuid for ff in waiting[:4]}
    finally:
        again.stop()


def test_the_disk_is_given_back_once_provenance_retention_passes(tmp_path: Path) -> None:
    data = capped_flow(overflow={"objects": "3"})
    data["settings"] = {"content-claim-max-size": "1 B"}  # a claim file per FlowFile
    controller = FlowController(load_flow_dict(data), tmp_path / "d", maintenance_interval=3600)
    try:
        queue = controller.connections["out"].queue
        controller.start()
        deadline = time.monotonic() + 10
        while queue.dropped_count < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        controller.scheduler.stop_node(controller.nodes["make"])
        repositories = controller.repositories
        kept = {ff.claim for ff in queue.listing(100)}
        assert len(kept) == 3
        assert len(repositories.content.claims_on_disk()) > 10
        repositories.provenance.max_age_seconds = 0  # an agent's small repository, aged out
        repositories.maintain()
        assert repositories.content.claims_on_disk() == kept
    finally:
        controller.stop()
