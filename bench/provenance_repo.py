"""How fast the provenance repository records events, against raw SQLite inserts.

Run: ``python bench/provenance_repo.py [--events N] [--batch N]``

Prints events/s for ``SqliteProvenanceRepository.register`` in batches (events with
eight attributes, time-ordered uuids, a few components), and, in the same run on the
same disk, plain ``executemany`` of the very same rows into a bare table with no
indexes: the ceiling SQLite sets. The ratio is what the indexes, the relatives table
and building the rows cost.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from headwater.provenance import ProvenanceEvent, ProvenanceEventType
from headwater.repository.provenance import SqliteProvenanceRepository
from headwater.repository.provenance_rows import event_rows
from headwater.uuids import uuid7

_TYPES = (
    ProvenanceEventType.RECEIVE,
    ProvenanceEventType.ATTRIBUTES_MODIFIED,
    ProvenanceEventType.CONTENT_MODIFIED,
    ProvenanceEventType.ROUTE,
    ProvenanceEventType.SEND,
    ProvenanceEventType.DROP,
)


def make_events(count: int) -> list[ProvenanceEvent]:
    """Events like a busy flow's: one FlowFile gets several in a row, one FORK in 50."""
    events: list[ProvenanceEvent] = []
    start = time.time_ns() // 1_000_000
    uuid = uuid7()
    for i in range(count):
        if i % 6 == 0:
            uuid = uuid7()
        kind = _TYPES[i % 6]
        children: tuple[str, ...] = ()
        if i % 50 == 0:
            kind = ProvenanceEventType.FORK
            children = (uuid7(), uuid7())
        events.append(
            ProvenanceEvent(
                event_type=kind,
                flowfile_uuid=uuid,
                component_id=f"processor-{i % 12}",
                component_type="RouteOnAttribute",
                timestamp=start + i // 100,
                attributes={
                    "uuid": uuid,
                    "filename": f"bog_image_20240101120000_{uuid}.jpg",
                    "path": "./",
                    "mime.type": "image/jpeg",
                    "device.id": f"edge-{i % 40}",
                    "sensor.kind": "camera",
                    "route": "matched",
                    "retry.count": "0",
                },
                entry_date=start,
                lineage_start=start,
                size=48_213,
                claim=1 + i // 1000,
                offset=(i % 1000) * 48_213,
                previous_attributes={"route": "unmatched"} if i % 6 == 1 else {},
                child_uuids=children,
                parent_uuids=(uuid,) if children else (),
                relationship="matched" if kind is ProvenanceEventType.ROUTE else None,
            )
        )
    return events


def bench_register(directory: Path, events: list[ProvenanceEvent], batch: int) -> float:
    repo = SqliteProvenanceRepository(directory)
    try:
        began = time.perf_counter()
        for i in range(0, len(events), batch):
            repo.register(events[i : i + batch])
        elapsed = time.perf_counter() - began
    finally:
        repo.close()
    return len(events) / elapsed


def bench_raw(directory: Path, events: list[ProvenanceEvent], batch: int) -> float:
    rows = list(event_rows(events, 1))
    conn = sqlite3.connect(directory / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"CREATE TABLE raw ({', '.join(f'c{i}' for i in range(len(rows[0])))})")
    insert = f"INSERT INTO raw VALUES ({', '.join('?' * len(rows[0]))})"
    try:
        began = time.perf_counter()
        for i in range(0, len(rows), batch):
            conn.execute("BEGIN")
            conn.executemany(insert, rows[i : i + batch])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - began
    finally:
        conn.close()
    return len(rows) / elapsed


def spin_rate(seconds: float, work: Callable[[], object] | None = None) -> float:
    """Pure-Python loop iterations/s in a second thread, alone or while ``work`` runs."""
    stop = threading.Event()
    counted = [0]

    def spin() -> None:
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                n += 1
        counted[0] = n

    thread = threading.Thread(target=spin)
    began = time.perf_counter()
    thread.start()
    if work is None:
        time.sleep(seconds)
    else:
        work()
    stop.set()
    thread.join()
    return counted[0] / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = make_events(args.events)
    registered: list[float] = []
    raw: list[float] = []
    for _ in range(args.rounds):
        for event in events:
            event.event_id = -1
        with tempfile.TemporaryDirectory() as tmp:
            registered.append(bench_register(Path(tmp) / "repo", events, args.batch))
            raw.append(bench_raw(Path(tmp), events, args.batch))
    reg, base = statistics.median(registered), statistics.median(raw)
    print(f"events: {args.events:,} in batches of {args.batch}, median of {args.rounds} rounds")
    print(f"register (indexes, relatives, row building): {reg:>10,.0f} events/s")
    print(f"raw executemany, bare table, prebuilt rows:  {base:>10,.0f} rows/s")
    print(f"ratio register / raw: {reg / base:.2f}")
    # sqlite3 lets go of the GIL inside SQLite, so worker threads keep running while
    # register writes: how much of a pure-Python thread's speed survives alongside it.
    alone = spin_rate(1.0)
    for event in events:
        event.event_id = -1
    with tempfile.TemporaryDirectory() as tmp:
        shared = spin_rate(0, lambda: bench_register(Path(tmp), events, args.batch))
    print(f"a Python thread running beside register keeps {shared / alone:.0%} of its speed")


if __name__ == "__main__":
    main()
