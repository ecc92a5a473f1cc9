"""A connection's queue: prioritizers, penalties, expiration, back pressure, swapping.

Every FlowFile in a queue is already durable in the FlowFile repository before it is
put here, so swapping out costs nothing: past ``swap_threshold`` the queue keeps only
the seq numbers of the FlowFiles it holds on disk (8 bytes each) and their byte total,
and pages them back in, in arrival order, when the in-memory part runs low. A restart
is the same move: every queue starts fully swapped out, as one seq range. (As in NiFi,
prioritizers order the in-memory part; swapped FlowFiles come back in arrival order.)
Sessions commit concurrently, so FlowFiles may arrive slightly out of seq order; a
page is fetched by the seq range of the numbers it wants and filtered to exactly them.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from itertools import count as counter
from typing import Any

from headwater.flowfile import FlowFile

SwapReader = Callable[[str, int, int, int], list[FlowFile]]
"""(queue id, first seq, last seq, limit) -> FlowFiles from the FlowFile repository."""
OverflowHandler = Callable[["FlowFileQueue", list[FlowFile]], None]
"""Makes the FlowFiles a capped queue let go gone for good (repository, DROP events)."""

SWAP_PAGE = 10_000
_NO_LIMIT = 1 << 62

log = logging.getLogger("headwater.queue")


def _priority_key(flowfile: FlowFile) -> tuple[int, int | str]:
    value = flowfile.attributes.get("priority")
    if value is None:
        return (2, 0)
    try:
        return (0, int(value))
    except ValueError:
        return (1, value)


PRIORITIZERS: dict[str, Callable[[FlowFile], Any]] = {
    "FirstInFirstOutPrioritizer": lambda ff: (ff.queued_at, ff.seq),
    "OldestFlowFileFirstPrioritizer": lambda ff: ff.lineage_start,
    "NewestFlowFileFirstPrioritizer": lambda ff: -ff.lineage_start,
    "PriorityAttributePrioritizer": _priority_key,
}


class FlowFileQueue:
    """Thread-safe queue of one connection. ``in_flight`` FlowFiles (polled into a
    session, not yet committed) still count towards back pressure, as in NiFi."""

    def __init__(
        self,
        queue_id: str,
        *,
        swap_reader: SwapReader | None = None,
        prioritizers: Sequence[str] = (),
        back_pressure_objects: int = 10_000,
        back_pressure_bytes: int = 1024**3,
        expiration_ms: int = 0,
        swap_threshold: int = 20_000,
        overflow_bytes: int = 0,
        overflow_objects: int = 0,
        on_overflow: OverflowHandler | None = None,
    ) -> None:
        self.id = queue_id
        self.back_pressure_objects = back_pressure_objects
        self.back_pressure_bytes = back_pressure_bytes
        self.expiration_ms = expiration_ms
        self.swap_threshold = max(1, swap_threshold)
        self._swap_reader = swap_reader
        self._lock = threading.Lock()
        keys = [PRIORITIZERS[name] for name in prioritizers]
        self._ordered = not keys or prioritizers[0] == "FirstInFirstOutPrioritizer"
        self._key: Callable[[FlowFile], Any] | None = (
            None if self._ordered else (lambda ff: (*(k(ff) for k in keys), ff.seq))
        )
        self._fifo: deque[FlowFile] = deque()
        self._heap: list[tuple[Any, int, FlowFile]] = []
        self._tie = counter()
        self._penalized: list[tuple[float, int, FlowFile]] = []
        self._active_bytes = 0
        self._swap_seqs = array("q")  # swapped FlowFiles that arrived while running
        self._swapped_bytes = 0
        self._restored = 0  # swapped FlowFiles found at start, all in one seq range
        self._restored_first = 0
        self._restored_last = 0
        self._in_flight = 0
        self._in_flight_bytes = 0
        self.overflow_bytes = overflow_bytes  # store-and-forward cap; 0: none
        self.overflow_objects = overflow_objects
        self._on_overflow = on_overflow
        self._evict_lock = threading.Lock()  # one eviction at a time, in order
        self.dropped_count = 0  # FlowFiles the cap dropped (the controller restores them)
        self.dropped_bytes = 0

    # -- sizes -----------------------------------------------------------------------

    def _active(self) -> int:
        return len(self._fifo) + len(self._heap) + len(self._penalized)

    @property
    def count(self) -> int:
        return self._active() + self.swapped + self._in_flight

    @property
    def bytes(self) -> int:
        return self._active_bytes + self._swapped_bytes + self._in_flight_bytes

    @property
    def swapped(self) -> int:
        return self._restored + len(self._swap_seqs)

    def is_full(self) -> bool:
        """Back pressure: the source of this connection must not be scheduled."""
        objects, size = self.back_pressure_objects, self.back_pressure_bytes
        return bool((objects and self.count >= objects) or (size and self.bytes >= size))

    def is_over_cap(self) -> bool:
        """Past the overflow cap: the oldest waiting FlowFiles are to be dropped. Those in
        flight (being sent now) do not count: they are about to leave, not waiting."""
        objects, size = self.overflow_objects, self.overflow_bytes
        waiting = self.count - self._in_flight
        return bool(
            (objects and waiting > objects) or (size and self.bytes - self._in_flight_bytes > size)
        )

    def is_ready(self, now: float) -> bool:
        """Whether a poll now could return something (not all penalized)."""
        return bool(
            self._fifo
            or self._heap
            or self._restored
            or self._swap_seqs
            or (self._penalized and self._penalized[0][0] <= now)
        )

    # -- putting ---------------------------------------------------------------------

    def put_all(self, flowfiles: Sequence[FlowFile]) -> None:
        """Add committed FlowFiles (already in the repository, in seq order): in memory
        up to the swap threshold, the rest (and all, once any are swapped) left on disk."""
        now = time.monotonic()
        with self._lock:
            swapping = self._restored or self._swap_seqs
            room = 0 if swapping else max(0, self.swap_threshold - self._active())
            active = flowfiles[:room]
            if self._key is None and all(ff.penalized_until <= now for ff in active):
                self._fifo.extend(active)
            else:
                for ff in active:
                    self._push(ff, now)
            self._active_bytes += sum(ff.size for ff in active)
            if len(flowfiles) > room:
                swapped = flowfiles[room:]
                self._swap_seqs.extend([ff.seq for ff in swapped])
                self._swapped_bytes += sum(ff.size for ff in swapped)
        if self._on_overflow is not None and self.is_over_cap():
            self.shed()

    def shed(self) -> int:
        """Drop the oldest queued FlowFiles until the queue is within its overflow cap;
        how many went. The handler makes them gone (it raises on a repository failure,
        which is an engine fault: the FlowFiles are still in the repository then)."""
        if self._on_overflow is None:
            return 0
        with self._evict_lock:
            with self._lock:
                evicted = self._evict_oldest()
            if evicted:
                self._on_overflow(self, evicted)
                with self._lock:
                    self.dropped_count += len(evicted)
                    self.dropped_bytes += sum(ff.size for ff in evicted)
            return len(evicted)

    def _evict_oldest(self) -> list[FlowFile]:
        """Under the lock: take the longest-queued FlowFiles (lowest seq) off the queue
        until it is within its cap. In-flight FlowFiles belong to a session and stay."""
        evicted: list[FlowFile] = []
        while self.is_over_cap():
            if not (self._fifo or self._heap or self._penalized):
                if not self.swapped or self._swap_reader is None:
                    break
                self._swap_in(SWAP_PAGE)
                continue
            if self._key is None and not self._penalized:
                ff = self._fifo.popleft()
            else:
                ff = self._pop_lowest_seq()
            self._active_bytes -= ff.size
            evicted.append(ff)
        if not self.swapped:
            self._swapped_bytes = 0
        return evicted

    def _pop_lowest_seq(self) -> FlowFile:
        """The active FlowFile queued first, wherever prioritizers or a penalty put it."""
        candidates = [(self._fifo[0].seq, 0, 0)] if self._fifo else []
        candidates += [(item[2].seq, 1, i) for i, item in enumerate(self._heap)]
        candidates += [(item[2].seq, 2, i) for i, item in enumerate(self._penalized)]
        _, where, index = min(candidates)
        if where == 0:
            return self._fifo.popleft()
        items = self._heap if where == 1 else self._penalized
        ff = items[index][2]
        items[index] = items[-1]
        items.pop()
        heapq.heapify(items)
        return ff

    def _push(self, ff: FlowFile, now: float = 0.0) -> None:
        if ff.penalized_until > now:
            heapq.heappush(self._penalized, (ff.penalized_until, next(self._tie), ff))
        elif self._key is None:
            self._fifo.append(ff)
        else:
            heapq.heappush(self._heap, (self._key(ff), next(self._tie), ff))

    def restore(self, count: int, size: int, first_seq: int, last_seq: int) -> None:
        """At start: the repository holds ``count`` FlowFiles of this queue."""
        with self._lock:
            self._restored, self._swapped_bytes = count, size
            self._restored_first, self._restored_last = first_seq, last_seq

    # -- taking ----------------------------------------------------------------------

    def poll(
        self, max_count: int, now: float, now_ms: int
    ) -> tuple[list[FlowFile], list[FlowFile]]:
        """Up to ``max_count`` FlowFiles ready now, and the expired ones found on the way.

        Both lists are in flight until ``acknowledge`` or ``requeue``.
        """
        taken: list[FlowFile] = []
        expired: list[FlowFile] = []
        oldest = now_ms - self.expiration_ms if self.expiration_ms else 0
        with self._lock:
            penalized = self._penalized
            while penalized and penalized[0][0] <= now:
                self._push(heapq.heappop(penalized)[2], now)
            ready = len(self._fifo) + len(self._heap)  # penalized ones must not strand swapped
            if self.swapped and ready < self.swap_threshold // 2 + max_count:
                self._swap_in(min(SWAP_PAGE, max(self.swap_threshold - ready, max_count)))
            fifo, heap = self._fifo, self._heap
            while len(taken) < max_count:
                if fifo:
                    ff = fifo.popleft()
                elif heap:
                    ff = heapq.heappop(heap)[2]
                else:
                    break
                self._active_bytes -= ff.size
                if oldest and ff.entry_date < oldest:
                    expired.append(ff)
                else:
                    taken.append(ff)
            moved = len(taken) + len(expired)
            self._in_flight += moved
            self._in_flight_bytes += sum(ff.size for ff in taken) + sum(ff.size for ff in expired)
        return taken, expired

    def _swap_in(self, limit: int) -> None:
        if self._swap_reader is None:
            return
        if self._restored:
            page = self._swap_reader(self.id, self._restored_first, self._restored_last, limit)
            self._restored = 0 if not page else max(0, self._restored - len(page))
            if page:
                self._restored_first = page[-1].seq + 1
        else:
            wanted = self._swap_seqs[:limit]
            chosen = set(wanted)
            rows = self._swap_reader(self.id, min(wanted), max(wanted), _NO_LIMIT)
            page = [ff for ff in rows if ff.seq in chosen]
            del self._swap_seqs[: len(wanted)]
            if len(page) != len(wanted):
                log.error(
                    "queue %s: %d swapped FlowFiles missing from the repository",
                    self.id,
                    len(wanted) - len(page),
                )
        for ff in page:
            self._push(ff)
            self._active_bytes += ff.size
        self._swapped_bytes -= sum(ff.size for ff in page)
        if not self.swapped:
            self._swapped_bytes = 0

    def acknowledge(self, count: int, size: int) -> None:
        """FlowFiles polled earlier have left this queue for good (session committed)."""
        with self._lock:
            self._in_flight -= count
            self._in_flight_bytes -= size

    def requeue(self, flowfiles: Sequence[FlowFile]) -> None:
        """Put polled FlowFiles back (session rolled back), ahead of newer ones."""
        now = time.monotonic()
        with self._lock:
            self._in_flight -= len(flowfiles)
            self._in_flight_bytes -= sum(ff.size for ff in flowfiles)
            if self._key is None:
                ready = [ff for ff in flowfiles if ff.penalized_until <= now]
                self._fifo.extendleft(reversed(ready))
                for ff in flowfiles:
                    if ff.penalized_until > now:
                        self._push(ff, now)
            else:
                for ff in flowfiles:
                    self._push(ff, now)
            self._active_bytes += sum(ff.size for ff in flowfiles)

    def listing(self, limit: int = 100) -> list[FlowFile]:
        """The next FlowFiles in order (in memory only), for the queue listing API."""
        with self._lock:
            if self._key is None:
                head = list(self._fifo)[:limit]
            else:
                head = [item[2] for item in heapq.nsmallest(limit, self._heap)]
            return head + [item[2] for item in sorted(self._penalized)][: limit - len(head)]
