"""FlowFileQueue: order, prioritizers, penalties, expiration, back pressure, swapping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import headwater.engine.queue as queue_module
from headwater.engine.queue import FlowFileQueue
from headwater.flowfile import FlowFile
from headwater.repository.flowfile import SqliteFlowFileRepository

NOW = 1_000.0  # a monotonic "now" where nothing is penalized
NOW_MS = 1_700_000_000_000  # a wall-clock "now" for expiration checks


def flowfile(seq: int, *, size: int = 0, lineage: int = 0, **attributes: str) -> FlowFile:
    ff = FlowFile.create(attributes, lineage_start=lineage or NOW_MS)
    ff.seq, ff.size, ff.queued_at, ff.entry_date = seq, size, NOW_MS, NOW_MS
    return ff


def unbounded(**options: object) -> FlowFileQueue:
    return FlowFileQueue("q", back_pressure_objects=0, back_pressure_bytes=0, **options)  # type: ignore[arg-type]


def drain(queue: FlowFileQueue, *, step: int = 7, now: float = NOW) -> list[FlowFile]:
    """Poll everything ready, acknowledging each batch as a committed session would."""
    out: list[FlowFile] = []
    while True:
        taken, expired = queue.poll(step, now, NOW_MS)
        assert not expired
        if not taken:
            return out
        queue.acknowledge(len(taken), sum(ff.size for ff in taken))
        out += taken


def seqs(flowfiles: list[FlowFile]) -> list[int]:
    return [ff.seq for ff in flowfiles]


# -- order and prioritizers ------------------------------------------------------------


@pytest.mark.parametrize("prioritizers", [(), ("FirstInFirstOutPrioritizer",)])
def test_first_in_first_out(prioritizers: tuple[str, ...]) -> None:
    queue = unbounded(prioritizers=prioritizers)
    queue.put_all([flowfile(s) for s in range(1, 6)])
    queue.put_all([flowfile(s) for s in range(6, 9)])
    assert seqs(drain(queue, step=3)) == list(range(1, 9))


def test_newest_flowfile_first_orders_by_lineage_start_descending() -> None:
    queue = unbounded(prioritizers=("NewestFlowFileFirstPrioritizer",))
    queue.put_all([flowfile(1, lineage=100), flowfile(2, lineage=300), flowfile(3, lineage=200)])
    queue.put_all([flowfile(4, lineage=300)])  # a tie keeps arrival order
    assert seqs(drain(queue, step=1)) == [2, 4, 3, 1]


def test_oldest_flowfile_first_orders_by_lineage_start_ascending() -> None:
    queue = unbounded(prioritizers=("OldestFlowFileFirstPrioritizer",))
    queue.put_all([flowfile(1, lineage=300), flowfile(2, lineage=100), flowfile(3, lineage=200)])
    queue.put_all([flowfile(4, lineage=100)])
    assert seqs(drain(queue, step=2)) == [2, 4, 3, 1]


def test_priority_attribute_numbers_then_text_then_missing() -> None:
    queue = unbounded(prioritizers=("PriorityAttributePrioritizer",))
    values = {1: "10", 2: "b", 3: None, 4: "2", 5: "a", 6: "-1", 7: None, 8: "2"}
    queue.put_all(
        [flowfile(s) if v is None else flowfile(s, priority=v) for s, v in values.items()]
    )
    order = seqs(drain(queue, step=3))
    assert order == [6, 4, 8, 1, 5, 2, 3, 7]


def test_later_prioritizer_breaks_ties_of_the_first() -> None:
    queue = unbounded(
        prioritizers=("PriorityAttributePrioritizer", "NewestFlowFileFirstPrioritizer")
    )
    queue.put_all(
        [
            flowfile(1, lineage=100, priority="1"),
            flowfile(2, lineage=200, priority="1"),
            flowfile(3, lineage=300, priority="2"),
        ]
    )
    assert seqs(drain(queue)) == [2, 1, 3]


def test_unknown_prioritizer_is_refused() -> None:
    with pytest.raises(KeyError):
        unbounded(prioritizers=("NoSuchPrioritizer",))


# -- penalties and expiration ----------------------------------------------------------


@pytest.mark.parametrize("prioritizers", [(), ("OldestFlowFileFirstPrioritizer",)])
def test_penalized_flowfiles_wait_until_due(prioritizers: tuple[str, ...]) -> None:
    queue = unbounded(prioritizers=prioritizers)
    now = time.monotonic()  # put_all compares penalties with the real monotonic clock
    penalized = flowfile(1)
    penalized.penalized_until = now + 5
    queue.put_all([penalized])
    assert queue.count == 1
    assert not queue.is_ready(now)
    assert queue.poll(10, now, NOW_MS) == ([], [])
    queue.put_all([flowfile(2)])
    assert queue.is_ready(now)
    assert seqs(queue.poll(10, now, NOW_MS)[0]) == [2]
    assert not queue.is_ready(now + 4.9)
    assert queue.is_ready(now + 5)
    taken, _ = queue.poll(10, now + 5, NOW_MS)
    assert seqs(taken) == [1]


def test_penalty_relative_to_the_real_clock_on_put() -> None:
    """put_all decides with time.monotonic() whether a FlowFile is still penalized."""
    queue = unbounded()
    later = flowfile(1)
    later.penalized_until = time.monotonic() + 60
    queue.put_all([later, flowfile(2)])
    now = time.monotonic()
    assert seqs(queue.poll(10, now, NOW_MS)[0]) == [2]
    assert seqs(queue.poll(10, now + 61, NOW_MS)[0]) == [1]


def test_expired_flowfiles_are_returned_apart_and_stay_in_flight() -> None:
    queue = unbounded(expiration_ms=1_000)
    old, fresh = flowfile(1, size=5), flowfile(2, size=7)
    old.entry_date = NOW_MS - 1_001
    fresh.entry_date = NOW_MS - 999
    queue.put_all([old, fresh])
    taken, expired = queue.poll(10, NOW, NOW_MS)
    assert seqs(taken) == [2]
    assert seqs(expired) == [1]
    assert (queue.count, queue.bytes) == (2, 12)  # both in flight until the session ends
    queue.acknowledge(2, 12)
    assert (queue.count, queue.bytes) == (0, 0)


def test_no_expiration_by_default() -> None:
    queue = unbounded()
    ancient = flowfile(1)
    ancient.entry_date = 1
    queue.put_all([ancient])
    assert seqs(queue.poll(10, NOW, NOW_MS)[0]) == [1]


# -- back pressure and bookkeeping -----------------------------------------------------


def test_back_pressure_by_objects_counts_in_flight() -> None:
    queue = FlowFileQueue("q", back_pressure_objects=3, back_pressure_bytes=0)
    queue.put_all([flowfile(1), flowfile(2)])
    assert not queue.is_full()
    queue.put_all([flowfile(3)])
    assert queue.is_full()
    taken, _ = queue.poll(2, NOW, NOW_MS)
    assert queue.is_full(), "FlowFiles in a session still count"
    queue.acknowledge(len(taken), 0)
    assert not queue.is_full()
    assert queue.count == 1


def test_back_pressure_by_bytes_counts_in_flight() -> None:
    queue = FlowFileQueue("q", back_pressure_objects=0, back_pressure_bytes=100)
    queue.put_all([flowfile(1, size=60)])
    assert not queue.is_full()
    queue.put_all([flowfile(2, size=40)])
    assert queue.is_full()
    taken, _ = queue.poll(1, NOW, NOW_MS)
    assert queue.bytes == 100 and queue.is_full()
    queue.acknowledge(1, taken[0].size)
    assert queue.bytes == 40 and not queue.is_full()


def test_zero_limits_mean_no_back_pressure() -> None:
    queue = unbounded()
    queue.put_all([flowfile(s, size=1 << 30) for s in range(1, 20_001)])
    assert not queue.is_full()


def test_default_back_pressure_is_ten_thousand_objects_and_one_gigabyte() -> None:
    queue = FlowFileQueue("q")
    assert (queue.back_pressure_objects, queue.back_pressure_bytes) == (10_000, 1024**3)


def test_requeue_puts_flowfiles_back_ahead_of_newer_ones() -> None:
    queue = unbounded()
    queue.put_all([flowfile(s, size=s) for s in range(1, 6)])
    taken, _ = queue.poll(3, NOW, NOW_MS)
    assert (queue.count, queue.bytes) == (5, 15)
    queue.put_all([flowfile(6, size=6)])
    queue.requeue(taken)
    assert (queue.count, queue.bytes) == (6, 21)
    assert seqs(drain(queue)) == [1, 2, 3, 4, 5, 6]
    assert (queue.count, queue.bytes) == (0, 0)


def test_requeue_of_penalized_flowfiles_holds_them_back() -> None:
    queue = unbounded()
    queue.put_all([flowfile(s) for s in range(1, 4)])
    taken, _ = queue.poll(2, NOW, NOW_MS)
    until = time.monotonic() + 60
    queue.requeue([ff.evolve(penalized_until=until) for ff in taken])
    assert queue.count == 3
    now = time.monotonic()
    assert seqs(queue.poll(10, now, NOW_MS)[0]) == [3]
    assert seqs(queue.poll(10, until, NOW_MS)[0]) == [1, 2]


def test_listing_shows_the_head_without_taking() -> None:
    queue = unbounded()
    queue.put_all([flowfile(s) for s in range(1, 6)])
    assert seqs(queue.listing(3)) == [1, 2, 3]
    assert queue.count == 5


# -- swapping --------------------------------------------------------------------------


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[SqliteFlowFileRepository]:
    repo = SqliteFlowFileRepository(tmp_path / "flowfile_repository", synchronous="OFF")
    yield repo
    repo.close()


def persist(
    repo: SqliteFlowFileRepository, queue_id: str, count: int, size: int = 3
) -> list[FlowFile]:
    """FlowFiles made durable in ``queue_id`` first, as a commit does before put_all."""
    flowfiles = []
    for seq in repo.next_seqs(count):
        ff = flowfile(seq, size=size, n=str(seq))
        flowfiles.append(ff)
    repo.commit([repo.row(queue_id, ff) for ff in flowfiles], [])
    return flowfiles


def in_memory(queue: FlowFileQueue) -> int:
    """FlowFiles held in memory (counted, not swapped); call with nothing in flight."""
    return queue.count - queue.swapped


def test_swapping_keeps_memory_near_the_threshold(repository: SqliteFlowFileRepository) -> None:
    queue = FlowFileQueue("q", swap_reader=repository.page, swap_threshold=100)
    arrived = persist(repository, "q", 1_000)
    for start in range(0, 1_000, 50):
        queue.put_all(arrived[start : start + 50])
        assert in_memory(queue) <= 100
    assert queue.count == 1_000 and queue.swapped == 900
    assert queue.bytes == 3_000
    peak, out = 0, []
    while True:
        taken, _ = queue.poll(10, NOW, NOW_MS)
        if not taken:
            break
        queue.acknowledge(len(taken), sum(ff.size for ff in taken))
        out += taken
        peak = max(peak, in_memory(queue))
    assert seqs(out) == seqs(arrived), "every FlowFile once, in arrival order"
    assert [ff.attributes["n"] for ff in out[:3]] == ["1", "2", "3"]
    assert (queue.count, queue.bytes, queue.swapped) == (0, 0, 0)
    assert peak <= 2 * 100, f"{peak} FlowFiles in memory with a swap threshold of 100"


def test_swapped_flowfiles_all_come_back_once(repository: SqliteFlowFileRepository) -> None:
    """The same drain as above, without the memory bound: nothing lost or doubled."""
    queue = FlowFileQueue("q", swap_reader=repository.page, swap_threshold=100)
    arrived = persist(repository, "q", 1_000)
    queue.put_all(arrived)
    out = drain(queue, step=33)
    assert seqs(out) == seqs(arrived)
    assert (queue.count, queue.bytes) == (0, 0)


def test_swapped_pages_smaller_than_the_backlog(
    repository: SqliteFlowFileRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_module, "SWAP_PAGE", 64)
    queue = FlowFileQueue("q", swap_reader=repository.page, swap_threshold=100)
    arrived = persist(repository, "q", 1_000)
    queue.put_all(arrived)
    peak, out = 0, []
    while taken := queue.poll(10, NOW, NOW_MS)[0]:
        queue.acknowledge(len(taken), sum(ff.size for ff in taken))
        out += taken
        peak = max(peak, in_memory(queue))
    assert seqs(out) == seqs(arrived)
    assert peak <= 200


def test_out_of_order_arrival_while_swapped(
    repository: SqliteFlowFileRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent commits may put seqs slightly out of order; none is lost or doubled."""
    monkeypatch.setattr(queue_module, "SWAP_PAGE", 5)
    queue = FlowFileQueue("q", swap_reader=repository.page, swap_threshold=10)
    arrived = persist(repository, "q", 40)
    first, rest = arrived[:10], arrived[10:]
    shuffled = [ff for pair in zip(rest[1::2], rest[0::2], strict=True) for ff in pair]
    queue.put_all(first)
    for ff in shuffled:
        queue.put_all([ff])
    assert queue.swapped == 30
    out = drain(queue, step=3)
    assert seqs(out[:10]) == seqs(first)
    assert sorted(seqs(out)) == seqs(arrived)
    assert len(set(seqs(out))) == 40


def test_swapped_queue_ignores_other_queues_rows(repository: SqliteFlowFileRepository) -> None:
    queue = FlowFileQueue("q", swap_reader=repository.page, swap_threshold=5)
    mine, theirs = [], []
    for _ in range(10):
        mine += persist(repository, "q", 2)
        theirs += persist(repository, "other", 1)
    queue.put_all(mine)
    assert seqs(drain(queue)) == seqs(mine)


def test_restore_after_reopen_returns_everything(tmp_path: Path) -> None:
    directory = tmp_path / "flowfile_repository"
    repo = SqliteFlowFileRepository(directory, synchronous="OFF")
    arrived = persist(repo, "q", 250, size=4)
    persist(repo, "other", 3)
    repo.close()

    repo = SqliteFlowFileRepository(directory, synchronous="OFF")
    try:
        summaries = repo.queue_summaries()
        assert summaries["q"] == (250, 1_000, arrived[0].seq, arrived[-1].seq)
        queue = FlowFileQueue("q", swap_reader=repo.page, swap_threshold=50)
        queue.restore(*summaries["q"])
        assert (queue.count, queue.bytes, queue.swapped) == (250, 1_000, 250)
        assert queue.is_ready(NOW)
        later = persist(repo, "q", 5, size=4)
        queue.put_all(later)
        out = drain(queue, step=9)
        assert seqs(out) == seqs(arrived) + seqs(later)
        assert out[0].attributes["n"] == str(arrived[0].seq)
        assert (queue.count, queue.bytes, queue.swapped) == (0, 0, 0)
    finally:
        repo.close()


def test_restore_in_several_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue_module, "SWAP_PAGE", 16)
    repo = SqliteFlowFileRepository(tmp_path / "ff", synchronous="OFF")
    try:
        arrived = persist(repo, "q", 100)
        queue = FlowFileQueue("q", swap_reader=repo.page, swap_threshold=20)
        queue.restore(*repo.queue_summaries()["q"])
        assert seqs(drain(queue, step=5)) == seqs(arrived)
        assert queue.count == 0
    finally:
        repo.close()


@pytest.mark.parametrize("max_count", [1, 10])
def test_penalized_flowfiles_in_memory_do_not_strand_swapped_ones(
    repository: SqliteFlowFileRepository, max_count: int
) -> None:
    """A memory full of penalized FlowFiles must not hide ready ones on disk: is_ready
    says a poll could return something, so the poll must return it."""
    queue = FlowFileQueue("q", swap_reader=repository.page, swap_threshold=10)
    arrived = persist(repository, "q", 15)
    now = time.monotonic()
    for ff in arrived[:10]:
        ff.penalized_until = now + 60
    queue.put_all(arrived)
    assert queue.swapped == 5
    assert queue.is_ready(now)
    taken, _ = queue.poll(max_count, now, NOW_MS)
    assert seqs(taken) == seqs(arrived[10 : 10 + max_count])
