"""The FlowFile repository: every queued FlowFile, durable, in SQLite (WAL).

One row per FlowFile in a queue, keyed by its queue sequence number ``seq``: a
FlowFile that moves to another queue gets a new ``seq`` (delete + insert), so rows
are always appended in key order and no uuid index is needed. The (queue, seq) index
lets a queue page its FlowFiles back in from disk, which is how swapping works: a
queue past its swap threshold simply forgets FlowFiles that are safe here.

A session's whole commit is one transaction (``commit``): ``synchronous=FULL`` makes
it durable on power loss, and grouping many FlowFiles per transaction makes that
nearly free.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from headwater.errors import RepositoryError
from headwater.flowfile import FlowFile
from headwater.repository.sqlite import (
    MAX_PARAMETERS,
    PAGE_SIZE,
    WalCheckpointer,
    delete_in,
    flat_params,
    insert_flat,
    packed,
    select_in,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flowfile (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    -- JSON [uuid, attributes, claim, offset, size, entry_date, lineage_start, queued_at]:
    -- one bound value instead of eight, since binding is paid holding the GIL
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS flowfile_queue ON flowfile (queue, seq);
DROP TABLE IF EXISTS provenance_journal;
CREATE TABLE IF NOT EXISTS component_state (
    component TEXT PRIMARY KEY,
    state BLOB NOT NULL
);
-- receipts: keys of data received from outside (site-to-site: port and the sender's
-- FlowFile uuid), written in the same transaction as the FlowFiles they made, so a
-- transaction sent twice is recognised and stored once
CREATE TABLE IF NOT EXISTS receipt (
    key BLOB PRIMARY KEY,
    received INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS receipt_received ON receipt (received);
"""

_INSERT = "INSERT INTO flowfile"
_PRUNE_AT = 1_000  # settled ledger rows kept before a commit that only adds prunes them
_MARK_SEQ = -(1 << 62)  # settled marks are rows at _MARK_SEQ - mark, below every -first
_COLUMNS = "seq, record"
_DELETE = "DELETE FROM flowfile WHERE seq"
_RECEIPT = "INSERT OR IGNORE INTO receipt"
_RECEIPTS_AMONG = "SELECT key FROM receipt WHERE key"
_LEDGER = ""  # the queue name of the provenance ledger's rows, which no connection has

Row = tuple[int, str, bytes]


def _row(queue: str, ff: FlowFile) -> Row:
    return (
        ff.seq,
        queue,
        packed(
            orjson.dumps(
                (
                    ff.uuid,
                    ff.attributes,
                    ff.claim,
                    ff.offset,
                    ff.size,
                    ff.entry_date,
                    ff.lineage_start,
                    ff.queued_at,
                )
            )
        ),
    )


def _flowfile(seq: int, record: bytes) -> FlowFile:
    uuid, attrs, claim, offset, size, entry, lineage, queued = orjson.loads(record)
    return FlowFile(uuid, attrs, claim, offset, size, entry, lineage, 0.0, queued, seq)


class SqliteFlowFileRepository:
    """Durable record of which FlowFile sits in which queue, with its attributes."""

    def __init__(
        self,
        directory: Path,
        *,
        synchronous: str = "FULL",
        cache_bytes: int = 2 * 1024**2,
        background_checkpoints: bool = True,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.directory = Path(directory)
        self._page_size = page_size
        # SQLite's page cache, per connection: the writer's, the checkpointer's and one per
        # reading thread; each fills up to this as the database grows (a backlog on an agent)
        self._cache_kb = max(64, cache_bytes // 1024)
        self._lock = threading.Lock()  # the writing connection
        self._seq_lock = threading.Lock()
        self._settled = -1  # the settled mark last written
        self._confirmed: list[int] = []  # confirmed ranges written, by first event id
        self._marks: list[int] = []  # settled marks written, oldest first
        self._local = threading.local()
        self._synchronous = synchronous
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = self._connect()
            self._db.executescript(_SCHEMA)
            (top,) = self._db.execute("SELECT coalesce(max(seq), 0) FROM flowfile").fetchone()
            self._checkpointer = WalCheckpointer(
                self._db,
                self._connect,
                f"flowfile-checkpoint {self.directory}",
                background=background_checkpoints,
            )
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot open FlowFile repository in {directory}: {exc}") from exc
        except OSError as exc:
            raise RepositoryError(f"cannot create FlowFile repository {directory}: {exc}") from exc
        self._next_seq = int(top) + 1

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.directory / "flowfiles.db", isolation_level=None, check_same_thread=False
        )
        db.execute(f"PRAGMA page_size = {self._page_size}")  # a new database's, before WAL
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute(f"PRAGMA cache_size = {-self._cache_kb}")
        return db

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def next_seqs(self, count: int) -> range:
        """Reserve ``count`` queue sequence numbers, in order."""
        with self._seq_lock:
            start = self._next_seq
            self._next_seq += count
        return range(start, start + count)

    def commit(
        self,
        inserts: Sequence[Row],
        deletes: Sequence[int],
        events: tuple[int, int] | None = None,
        settled: int | None = None,
        receipts: Sequence[bytes] = (),
        received: int = 0,
    ) -> None:
        """One transaction: new rows (``row(queue, flowfile)``), rows deleted by seq,
        ``receipts`` (keys of what was received, at time ``received``) and
        the provenance ledger: ``events`` confirms the session's event ids (first, last)
        and ``settled`` says every id up to it is confirmed or never needs to be.

        The ledger lets a start tell a session's events that were written but whose
        FlowFiles never committed (a crash in between) from the rest, and remove them:
        rows of the queue ``""``, seq ``-first`` for a confirmed range and
        ``_MARK_SEQ - mark`` for a settled mark, riding in the FlowFiles' own statement.
        Every row is new (marks only rise), and rows the latest mark makes useless are
        pruned by commits that delete anyway: a commit that only adds (a source's) is
        one statement, one release of the GIL instead of four."""
        params = flat_params(inserts)  # before the lock: only SQLite's work is under it
        marks = [value for key in receipts for value in (key, received)]
        try:
            with self._lock:  # the ledger is decided in the order transactions commit
                mark = settled if settled is not None and settled > self._settled else None
                doomed = list(deletes)
                if events is not None:
                    params += (-events[0], _LEDGER, orjson.dumps((events[1],)))
                if mark is not None:
                    params += (_MARK_SEQ - mark, _LEDGER, orjson.dumps((mark,)))
                floor = self._settled if mark is None else mark
                pruned = [first for first in self._confirmed if first <= floor]
                stale = self._marks if mark is not None else self._marks[:-1]
                if (pruned or stale) and (doomed or len(pruned) + len(stale) > _PRUNE_AT):
                    doomed += [-first for first in pruned] + [_MARK_SEQ - m for m in stale]
                else:
                    pruned = stale = []
                db = self._db
                if doomed or marks or len(params) > MAX_PARAMETERS:
                    db.execute("BEGIN")
                    try:
                        delete_in(db, _DELETE, doomed)
                        insert_flat(db, _INSERT, 3, params)
                        if marks:
                            insert_flat(db, _RECEIPT, 2, marks)
                        db.execute("COMMIT")
                    except BaseException:
                        db.execute("ROLLBACK")
                        raise
                elif params:
                    insert_flat(db, _INSERT, 3, params)  # a statement is a transaction
                if stale:
                    self._marks = self._marks[len(stale) :]
                if mark is not None:
                    self._settled = mark
                    self._marks.append(mark)
                if events is not None:
                    self._confirmed.append(events[0])
                if pruned:
                    gone = set(pruned)
                    self._confirmed = [f for f in self._confirmed if f not in gone]
        except sqlite3.Error as exc:
            raise RepositoryError(f"FlowFile repository commit failed: {exc}") from exc

    def ledger(self) -> tuple[int, list[tuple[int, int]]]:
        """The settled mark and the confirmed (first, last) event id ranges above it."""
        rows = (
            self._reader()
            .execute("SELECT seq, record FROM flowfile WHERE queue = ? ORDER BY seq", (_LEDGER,))
            .fetchall()
        )
        marks = [orjson.loads(r)[0] for seq, r in rows if seq <= _MARK_SEQ or seq == 0]
        confirmed = [(-seq, int(orjson.loads(r)[0])) for seq, r in rows if _MARK_SEQ < seq < 0]
        return int(max(marks, default=0)), confirmed

    def reset_ledger(self, settled: int) -> None:
        """After a start has reconciled provenance: everything up to ``settled`` holds."""
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM flowfile WHERE queue = ?", (_LEDGER,))
                self._db.execute(
                    "INSERT INTO flowfile VALUES (?, ?, ?)",
                    (_MARK_SEQ - settled, _LEDGER, orjson.dumps((settled,))),
                )
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot reset the provenance ledger: {exc}") from exc
        with self._lock:
            self._settled, self._confirmed, self._marks = settled, [], [settled]

    row = staticmethod(_row)

    def page(self, queue: str, first_seq: int, last_seq: int, limit: int) -> list[FlowFile]:
        """Up to ``limit`` FlowFiles of ``queue`` with first_seq <= seq <= last_seq, in order."""
        try:
            rows = self._reader().execute(
                f"SELECT {_COLUMNS} FROM flowfile WHERE queue = ? AND seq BETWEEN ? AND ?"
                " ORDER BY seq LIMIT ?",
                (queue, first_seq, last_seq, limit),
            )
            return [_flowfile(seq, record) for seq, record in rows]
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read queue {queue!r}: {exc}") from exc

    def find(self, uuid: str) -> tuple[str, FlowFile] | None:
        """The queue and record of a queued FlowFile, by uuid: a scan, for the API (the
        hot paths go by seq and need no uuid index)."""
        try:
            row = (
                self._reader()
                .execute(
                    f"SELECT queue, {_COLUMNS} FROM flowfile"
                    " WHERE queue != '' AND CAST(record AS TEXT) ->> 0 = ? LIMIT 1",
                    (uuid,),
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot look FlowFile {uuid} up: {exc}") from exc
        return None if row is None else (row[0], _flowfile(row[1], row[2]))

    def queue_summaries(self) -> dict[str, tuple[int, int, int, int]]:
        """Per queue: (count, bytes, first seq, last seq) of what is stored."""
        rows = self._reader().execute(
            "SELECT queue, count(*), coalesce(sum(CAST(record AS TEXT) ->> 4), 0),"
            " min(seq), max(seq) FROM flowfile WHERE queue != '' GROUP BY queue"
        )
        return {q: (n, b, lo, hi) for q, n, b, lo, hi in rows}

    def claim_counts(self) -> dict[int, int]:
        """How many stored FlowFiles point at each content claim."""
        rows = self._reader().execute(
            "SELECT CAST(record AS TEXT) ->> 2 AS claim, count(*) FROM flowfile"
            " WHERE queue != '' AND claim != 0 GROUP BY claim"
        )
        return dict(rows.fetchall())

    def drop_queues(self, keep: Iterable[str]) -> list[FlowFile]:
        """Remove FlowFiles of queues not in ``keep`` (connections removed from the flow)."""
        names = [*keep, _LEDGER]
        marks = ",".join("?" * len(names)) or "''"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM flowfile WHERE queue NOT IN ({marks})", names
            ).fetchall()
            self._db.execute(f"DELETE FROM flowfile WHERE queue NOT IN ({marks})", names)
        return [_flowfile(seq, record) for seq, record in rows]

    def receipts_among(self, keys: Sequence[bytes]) -> set[bytes]:
        """Those of ``keys`` a committed transaction recorded as received."""
        try:
            return {key for (key,) in select_in(self._reader(), _RECEIPTS_AMONG, keys)}
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot read the receipts: {exc}") from exc

    def forget_receipts(self, before: int) -> int:
        """Remove receipts recorded before ``before`` (millis); returns how many went."""
        try:
            with self._lock:
                cursor = self._db.execute("DELETE FROM receipt WHERE received < ?", (before,))
                return cursor.rowcount
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot remove old receipts: {exc}") from exc

    def load_state(self, component: str) -> dict[str, str]:
        row = (
            self._reader()
            .execute("SELECT state FROM component_state WHERE component = ?", (component,))
            .fetchone()
        )
        return dict(orjson.loads(row[0])) if row else {}

    def save_state(self, component: str, state: dict[str, str]) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO component_state VALUES (?, ?)",
                    (component, orjson.dumps(state)),
                )
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot save state of {component}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._checkpointer.stop()
            self._db.close()
