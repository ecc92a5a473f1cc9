"""The provenance repository: every event of every FlowFile, in one SQLite file.

``directory/provenance.db`` runs in WAL mode with ``synchronous=NORMAL``: a kill -9
loses nothing committed, a power cut may lose the last few commits, which is fine
because the FlowFile repository is the durable one and provenance is its record.

Writes go through one connection behind a lock, one transaction per ``register``
call (sessions hand over whole batches), with event ids assigned here so they only
ever increase, even after retention has emptied the table. Reads use a small pool of
their own connections, so the API reads while worker threads write (WAL lets readers
see the last commit without waiting for the writer).

The row layout is in ``provenance_rows``. At most three secondary indexes (FlowFile,
component, type), because each costs about a microsecond per event; a flow names the
ones it wants (``provenance-indexed-fields``): an agent, whose events are searched on
the hub they are shipped to, keeps none. Event ids follow
commit order and timestamps follow it within a session's duration, so time is searched
by binary search over event ids (with a margin for that skew), and retention always
removes a prefix of ids, which is what lets the content repository know when no retained
event can point at a claim (``retained_from``; see ``repository/content.py``). A
register without FORK/JOIN/CLONE relatives is one statement: one release and retake of
the GIL instead of four.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from headwater.errors import RepositoryError
from headwater.provenance import EventBatch, ProvenanceEvent, Recorded
from headwater.repository.lineage import MAX_LINEAGE_FLOWFILES, connected_flowfiles, lineage_graph
from headwater.repository.provenance_rows import (
    BLOCK_COLUMN,
    INDEXED_FIELDS,
    INSERT_HEAD,
    ROW_VALUES,
    SCHEMA,
    SCHEMA_VERSION,
    SELECT,
    TIME_SKEW_MS,
    TYPE_CODES,
    PreparedEvents,
    block_members,
    block_row,
    event_rows,
    events_from_rows,
    first_id_at,
    index_script,
)
from headwater.repository.sqlite import PAGE_SIZE, WalCheckpointer, flat_params, insert_flat

_RETENTION_CHUNK = 10_000  # events per delete transaction, so writers wait briefly
_WRITE_SLICE = 1_000  # rows (events, or blocks of them) per statement: about 5 ms of SQLite
_LINK_SLICE = 5_000  # (uuid, event id) pairs per statement: a few ms
_RELATIVE_HEAD = "INSERT OR IGNORE INTO event_relative (uuid, event_id)"
_MEMBER_HEAD = "INSERT INTO event_member (uuid, event_id)"


class SqliteProvenanceRepository:
    """Provenance events in SQLite, kept for ``max_age_seconds`` and ``max_bytes``.

    Thread-safe: ``register`` from many worker threads, reads from any thread. One
    process per directory (event ids are assigned in this process).
    """

    def __init__(
        self,
        directory: Path,
        *,
        max_age_seconds: float = 30 * 86400,
        max_bytes: int = 10 * 1024**3,
        cache_bytes: int = 64 * 1024**2,
        indexed: Collection[str] = tuple(INDEXED_FIELDS),
        background_checkpoints: bool = True,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.path = Path(directory) / "provenance.db"
        self._page_size = page_size
        self._uuid_index = "FlowFileUUID" in indexed  # and so blocks' members: see provenance_rows
        # SQLite's page cache: the writer's, a quarter for each reader, at most 2 MB for
        # the checkpointer. A hub's writer keeps its indexes' hot pages in 64 MB; an
        # agent's caches would otherwise grow with its repository (``provenance-cache-size``).
        self._cache_kb = max(64, cache_bytes // 1024)
        self.max_age_seconds = max_age_seconds
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # the writer connection
        self._waiting = 0  # threads waiting for it
        self._waiting_lock = threading.Lock()
        self._id_lock = threading.Lock()  # the event id counter and the unsettled ids
        self._unsettled: set[int] = set()  # first ids of prepared, unconfirmed events
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RepositoryError(f"cannot create provenance directory {directory}: {exc}") from exc
        with self._translate("open"):
            self._writer = self._connect(self._cache_kb)
            try:
                (version,) = self._writer.execute("PRAGMA user_version").fetchone()
                if 0 < version < SCHEMA_VERSION:
                    raise RepositoryError(
                        f"{self.path} has provenance schema {version}, this headwater writes"
                        f" {SCHEMA_VERSION}: move the provenance_repository folder aside to"
                        " start a new one (the FlowFile and content repositories are unaffected)"
                    )
                columns = [row[1] for row in self._writer.execute("PRAGMA table_info(event)")]
                if columns and "first_id" not in columns:  # made before blocks
                    self._writer.execute(f"ALTER TABLE event ADD COLUMN {BLOCK_COLUMN}")
                had_index = self._has_uuid_index()
                self._writer.executescript(SCHEMA + index_script(indexed))
                if self._uuid_index and not had_index:
                    self._index_members()
                (last,) = self._writer.execute(
                    "SELECT max(coalesce((SELECT max(event_id) FROM event), 0),"
                    " coalesce((SELECT value FROM meta WHERE key = 'last_event_id'), 0))"
                ).fetchone()
                self._checkpointer = WalCheckpointer(
                    self._writer,
                    lambda: self._connect(min(2048, self._cache_kb)),
                    f"provenance-checkpoint {self.path}",
                    background=background_checkpoints,
                )
            except (sqlite3.Error, RepositoryError):
                self._writer.close()
                raise
        self._next_id: int = last + 1

    # -- plumbing ---------------------------------------------------------------------

    def _has_uuid_index(self) -> bool:
        index = INDEXED_FIELDS["FlowFileUUID"][0]
        found = self._writer.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
        ).fetchone()
        return found is not None

    def _index_members(self) -> None:
        """Blocks written while FlowFile uuids were not indexed get their members."""
        writer = self._writer
        writer.execute("BEGIN")
        writer.execute("DELETE FROM event_member")
        cursor = writer.execute(f"{SELECT} WHERE first_id IS NOT NULL")
        for row in cursor.fetchall():
            pairs = [value for e in events_from_rows([row]) for value in (e.flowfile_uuid, row[0])]
            insert_flat(writer, _MEMBER_HEAD, 2, pairs)
        writer.execute("COMMIT")

    def _connect(self, cache_kb: int) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute(f"PRAGMA page_size = {self._page_size}")  # a new database's, before WAL
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = {-cache_kb}")
        conn.execute("PRAGMA temp_store = MEMORY")
        return conn

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise RepositoryError(
                f"provenance repository {self.path}: {what} failed: {exc}"
            ) from exc

    def _check_open(self) -> None:
        if self._closed:
            raise RepositoryError(f"provenance repository {self.path} is closed")

    @contextmanager
    def _reading(self, what: str) -> Iterator[sqlite3.Connection]:
        """A read connection of the pool, for one call; errors become RepositoryError."""
        self._check_open()
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        with self._translate(what):
            if conn is None:
                conn = self._connect(max(64, self._cache_kb // 4))
                conn.execute("PRAGMA query_only = 1")
                with self._pool_lock:
                    self._readers.append(conn)
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                with self._pool_lock:
                    if self._closed:
                        conn.close()
                    else:
                        self._idle.append(conn)

    @contextmanager
    def _writing(self, what: str, transaction: bool = True) -> Iterator[sqlite3.Connection]:
        """The writer connection under the lock, inside one transaction unless the
        caller runs a single statement (which SQLite makes a transaction of its own)."""
        with self._waiting_lock:
            self._waiting += 1
        with self._lock:
            with self._waiting_lock:
                self._waiting -= 1
            self._check_open()
            with self._translate(what):
                conn = self._writer
                if not transaction:
                    yield conn
                    return
                conn.execute("BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

    # -- writing ----------------------------------------------------------------------

    def register(self, events: Sequence[Recorded]) -> None:
        """Store ``events`` now, settled at once (for events no FlowFile commit has to
        confirm; sessions use ``prepare``, ``write`` and ``settle``)."""
        if events:
            prepared = self.prepare(events)
            try:
                self.write(prepared)
            finally:
                self.settle(prepared.first_id)

    def prepare(self, events: Sequence[Recorded]) -> PreparedEvents:
        """Reserve ids for ``events`` (setting ``event_id``, or a batch's ``first_id``)
        and build their rows, before taking the writer: the lock is then held only while
        SQLite works, with the GIL released, and sessions pipeline. The ids stay
        unsettled until ``settle``."""
        total = sum(len(e) if isinstance(e, EventBatch) else 1 for e in events)
        with self._id_lock:
            first = self._next_id
            self._next_id = first + total
            self._unsettled.add(first)
        params: list[Any] = []
        relatives: list[Any] = []
        members: list[Any] = []
        next_id = first
        for run in _runs(events):
            if isinstance(run, EventBatch):
                run.first_id = next_id
                if not run:  # no events, so no block (its last id would be taken)
                    continue
                params += block_row(run)
                if self._uuid_index:
                    members += block_members(run)
                next_id += len(run)
                continue
            for event_id, event in enumerate(run, next_id):
                event.event_id = event_id
                if event.parent_uuids or event.child_uuids:
                    uuids = {event.flowfile_uuid, *event.parent_uuids, *event.child_uuids}
                    relatives += [value for uuid in uuids for value in (uuid, event_id)]
            params += flat_params(event_rows(run, next_id))
            next_id += len(run)
        return PreparedEvents(first, next_id - 1, params, relatives, members)

    def write(self, prepared: PreparedEvents) -> None:
        """Store prepared rows, a slice of at most ``_WRITE_SLICE`` events per statement.

        A statement is its own transaction, and the writer is given up between slices
        (and the GIL too, when another thread waits for the writer):
        a merge of 10,000 (10,000 DROPs and a JOIN with 10,000 parents) held it for
        70 ms in one transaction, and every small session waited that long behind it.
        Sliced, they wait for one slice. Atomicity is not lost: until the FlowFile
        commit confirms these ids, a crash leaves them unconfirmed and the next start
        removes them, and a failure here has the session ``remove`` them.
        """
        width = _WRITE_SLICE * ROW_VALUES
        slices = [
            (INSERT_HEAD, ROW_VALUES, prepared.params[start : start + width])
            for start in range(0, len(prepared.params), width)
        ]
        for head, links in ((_RELATIVE_HEAD, prepared.relatives), (_MEMBER_HEAD, prepared.members)):
            slices += [
                (head, 2, links[start : start + _LINK_SLICE * 2])
                for start in range(0, len(links), _LINK_SLICE * 2)
            ]
        for index, (head, columns, params) in enumerate(slices):
            if index and self._waiting:
                time.sleep(0)  # let a writer woken by the release take the lock first
            with self._writing("register", transaction=False):
                insert_flat(self._writer, head, columns, params)

    def settle(self, first_id: int) -> None:
        """The events prepared from ``first_id`` are confirmed (or abandoned)."""
        with self._id_lock:
            self._unsettled.discard(first_id)

    def settled_through(self) -> int:
        """Every event id up to this one is settled."""
        with self._id_lock:
            return min(self._unsettled) - 1 if self._unsettled else self._next_id - 1

    def remove(self, first_id: int, last_id: int) -> None:
        """Delete events by id range (a session's that will never be confirmed)."""
        with self._writing("remove"):
            self._delete(self._writer, list(range(first_id, last_id + 1)), keep_mark=False)

    def remove_unconfirmed(self, settled: int, confirmed: Iterable[tuple[int, int]]) -> int:
        """At start: delete events above ``settled`` outside every ``confirmed`` range
        (written for sessions whose FlowFiles never committed); returns how many."""
        ranges = sorted(confirmed)
        with self._reading("remove_unconfirmed") as conn:
            rows = conn.execute(f"{_ROW_SIZES} WHERE event_id > ? ORDER BY event_id", (settled,))
            doomed = [
                (i, n) for i, n in rows if not any(first <= i <= last for first, last in ranges)
            ]
        if doomed:
            with self._writing("remove_unconfirmed") as conn:
                self._delete(conn, [i for i, _ in doomed], keep_mark=False)
        return sum(n for _, n in doomed)

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Drop events older than ``max_age_seconds``, then the oldest until the used
        size is at most ``max_bytes``. Returns how many events went.

        Deletes run in chunks of their own transactions, so ``register`` calls slip in
        between and the engine never waits long for the cleaner.
        """
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        cutoff = now - int(self.max_age_seconds * 1000)
        removed = 0
        with self._reading("retention by age") as conn:
            boundary = first_id_at(conn, cutoff)
        while True:
            with self._writing("retention by age") as conn:
                rows = conn.execute(
                    f"{_ROW_SIZES} WHERE event_id < ? ORDER BY event_id LIMIT ?",
                    (boundary, _RETENTION_CHUNK),
                ).fetchall()
                self._delete(conn, [i for i, _ in rows])
            removed += int(sum(n for _, n in rows))
            if len(rows) < _RETENTION_CHUNK:
                break
        remaining = self.count()
        while remaining:
            used = self.size_bytes()
            if used <= self.max_bytes:
                break
            per_event = used / remaining
            wanted = math.ceil((used - self.max_bytes) / per_event)
            batch = min(max(wanted, 100, remaining // 100), _RETENTION_CHUNK, remaining)
            with self._writing("retention by size") as conn:
                rows = conn.execute(f"{_ROW_SIZES} ORDER BY event_id LIMIT ?", (batch,)).fetchall()
                self._delete(conn, [i for i, _ in rows])
            if not rows:
                break
            gone = int(sum(n for _, n in rows))
            removed += gone
            remaining -= gone
        return removed

    def _delete(self, conn: sqlite3.Connection, ids: list[int], keep_mark: bool = True) -> None:
        if not ids:
            return
        if keep_mark:  # keep ids increasing across restarts even if every event goes
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_event_id', ?)",
                (self._next_id - 1,),
            )
        doomed = orjson.dumps(ids)
        for table in ("event_relative", "event_member"):
            conn.execute(
                f"DELETE FROM {table} WHERE event_id IN (SELECT value FROM json_each(?))",
                (doomed,),
            )
        conn.execute(
            "DELETE FROM event WHERE event_id IN (SELECT value FROM json_each(?))", (doomed,)
        )

    # -- reading ----------------------------------------------------------------------

    def get(self, event_id: int) -> ProvenanceEvent | None:
        with self._reading("get") as conn:  # the event's row, or the block holding it
            rows = conn.execute(
                f"{SELECT} WHERE event_id >= ? ORDER BY event_id LIMIT 1", (event_id,)
            ).fetchall()
        return next((e for e in events_from_rows(rows) if e.event_id == event_id), None)

    def query(
        self,
        *,
        flowfile: str | None = None,
        event_type: str | None = None,
        component: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 1000,
        newest_first: bool = True,
    ) -> list[ProvenanceEvent]:
        """Events matching every filter given; times are inclusive; ordered by event id."""
        where: list[str] = []
        params: list[Any] = []
        if flowfile is not None:  # its events' rows, and the blocks that may hold one
            where.append(f"(flowfile_uuid = ? OR {self._blocks_of('= ?')})")
            params += [flowfile, flowfile] if self._uuid_index else [flowfile]
        if event_type is not None:
            code = TYPE_CODES.get(str(event_type).upper())
            if code is None:
                return []
            where.append("event_type = ?")
            params.append(code)
        if component is not None:
            where.append("component_id = ?")
            params.append(component)
        with self._reading("query") as conn:
            if since_ms is not None:
                where.append("event_id >= ? AND timestamp >= ?")
                params += [first_id_at(conn, since_ms - TIME_SKEW_MS), since_ms]
            if until_ms is not None:
                where.append("event_id < ? AND timestamp <= ?")
                params += [first_id_at(conn, until_ms + 1 + TIME_SKEW_MS), until_ms]
            sql = SELECT
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY event_id {'DESC' if newest_first else 'ASC'}"
            if flowfile is None or self._uuid_index:  # each row has an event to show
                sql += " LIMIT ?"
                params.append(max(limit, 0))
            rows = conn.execute(sql, params).fetchall()
        events = events_from_rows(rows)
        if flowfile is not None:
            events = [e for e in events if e.flowfile_uuid == flowfile]
        events.sort(key=_event_id, reverse=newest_first)
        return events[: max(limit, 0)]

    def events_for(self, uuids: Iterable[str]) -> list[ProvenanceEvent]:
        """All events of these FlowFiles, oldest first (by timestamp, then event id)."""
        with self._reading("events_for") as conn:
            return self._events_for(conn, list(uuids))

    def _events_for(self, conn: sqlite3.Connection, uuids: list[str]) -> list[ProvenanceEvent]:
        if not uuids:
            return []
        listed = orjson.dumps(uuids)
        among = "IN (SELECT value FROM json_each(?))"
        rows = conn.execute(
            f"{SELECT} WHERE flowfile_uuid {among} OR {self._blocks_of(among)}",
            (listed, listed) if self._uuid_index else (listed,),
        ).fetchall()
        wanted = set(uuids)
        events = [e for e in events_from_rows(rows) if e.flowfile_uuid in wanted]
        events.sort(key=_by_time)
        return events

    def _blocks_of(self, condition: str) -> str:
        """SQL for the block rows that may hold FlowFiles whose uuid meets ``condition``:
        found through their members, or every block when uuids are not indexed."""
        if self._uuid_index:
            return f"event_id IN (SELECT event_id FROM event_member WHERE uuid {condition})"
        return "first_id IS NOT NULL"

    def lineage(
        self, uuid: str, *, max_flowfiles: int = MAX_LINEAGE_FLOWFILES
    ) -> dict[str, list[dict[str, Any]]]:
        """NiFi's lineage graph of ``uuid``: ``{"nodes": [...], "links": [...]}``.

        Holds every FlowFile joined to it through FORK/CLONE/JOIN/REPLAY, in both
        directions, up to ``max_flowfiles`` of them (nearest first).
        """
        with self._reading("lineage") as conn:
            conn.execute("BEGIN")  # one snapshot for the walk and the events
            flowfiles = connected_flowfiles(conn, uuid, max_flowfiles)
            events = self._events_for(conn, flowfiles)
            conn.execute("COMMIT")
        if not events:
            return {"nodes": [], "links": []}
        return lineage_graph(flowfiles, events)

    def high_water(self) -> int:
        """The highest event id handed out so far (registered or being registered)."""
        with self._id_lock:
            return self._next_id - 1

    def retained_from(self) -> int:
        """The lowest event id the repository may still hold: retention removes ids
        oldest first, so nothing below it will be seen again."""
        with self._reading("retained_from") as conn:  # the first row's first event
            row = conn.execute(
                "SELECT coalesce(first_id, event_id) FROM event ORDER BY event_id LIMIT 1"
            ).fetchone()
        return int(row[0]) if row is not None else self.high_water() + 1

    def count(self) -> int:
        with self._reading("count") as conn:
            (n,) = conn.execute(
                "SELECT count(*) + coalesce(sum(event_id - first_id), 0) FROM event"
            ).fetchone()
        return int(n)

    def size_bytes(self) -> int:
        """Bytes in use inside the database: ``(page_count - freelist_count) * page_size``."""
        with self._reading("size_bytes") as conn:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
            (free,) = conn.execute("PRAGMA freelist_count").fetchone()
            (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        return int((pages - free) * page_size)

    def close(self) -> None:
        """Close every connection; later calls raise RepositoryError. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._checkpointer.stop()
            with self._translate("close"):
                self._writer.execute("PRAGMA optimize")
                self._writer.close()
                with self._pool_lock:
                    readers, self._readers, self._idle = self._readers, [], []
                for conn in readers:
                    conn.close()

    def __enter__(self) -> SqliteProvenanceRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ROW_SIZES = "SELECT event_id, event_id - coalesce(first_id, event_id) + 1 FROM event"
"""Each row's (event id, how many events it holds)."""


def _event_id(event: ProvenanceEvent) -> int:
    return event.event_id


def _by_time(event: ProvenanceEvent) -> tuple[int, int]:
    return event.timestamp, event.event_id


def _runs(events: Sequence[Recorded]) -> Iterator[EventBatch | list[ProvenanceEvent]]:
    """Batches one by one, and the events between them together, in order."""
    run: list[ProvenanceEvent] = []
    for event in events:
        if isinstance(event, EventBatch):
            if run:
                yield run
                run = []
            yield event
        else:
            run.append(event)
    if run:
        yield run
