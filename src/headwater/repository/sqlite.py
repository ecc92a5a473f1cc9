"""Batched SQLite writes that keep the GIL out of the way.

``executemany`` gives up and retakes the GIL around every row; with other Python
threads busy, each retake waits for the interpreter's switch interval, and a batch of
a thousand rows crawls (measured here: 114k rows/s alone, 10k rows/s beside a busy
thread). One multi-row ``INSERT ... VALUES (...), (...)`` binds everything in C and
steps once, so SQLite does the whole batch with the GIL released (210k rows/s alone,
about 5x executemany beside a busy thread).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from functools import lru_cache
from itertools import chain
from typing import Any

MAX_PARAMETERS = 32_766  # SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32


@lru_cache(maxsize=64)
def _values_sql(head: str, columns: int, rows: int) -> str:
    row = "(" + ",".join("?" * columns) + ")"
    return f"{head} VALUES {','.join([row] * rows)}"


@lru_cache(maxsize=64)
def _in_sql(head: str, count: int) -> str:
    return f"{head} IN ({','.join('?' * count)})"


def packed(data: bytes) -> bytes:
    """``data`` copied into a buffer of its own size, for an orjson output that a batch
    keeps (a row's payload until SQLite has it). Dropped at once, an output costs
    0.18 us; kept by the thousand, 2.2 us, as each touches a fresh page; copied, 0.4 us.
    Every provenance event and FlowFile row goes through here."""
    return memoryview(data).tobytes()


def flat_params(rows: Iterable[Sequence[Any]]) -> list[Any]:
    """Rows as one flat parameter list, for ``insert_flat`` (build it outside locks)."""
    return list(chain.from_iterable(rows))


def insert_flat(db: sqlite3.Connection, head: str, columns: int, params: Sequence[Any]) -> None:
    """``head`` is ``INSERT INTO table (cols)``; ``params`` the rows' values one after
    another; they go in as few statements as fit."""
    per_statement = (MAX_PARAMETERS // columns) * columns
    for start in range(0, len(params), per_statement):
        chunk = params[start : start + per_statement]
        db.execute(_values_sql(head, columns, len(chunk) // columns), chunk)


def insert_rows(
    db: sqlite3.Connection, head: str, columns: int, rows: Iterable[Sequence[Any]]
) -> None:
    """``insert_flat`` for rows given as tuples."""
    insert_flat(db, head, columns, flat_params(rows))


def delete_in(db: sqlite3.Connection, head: str, values: Sequence[Any]) -> None:
    """``head`` is ``DELETE FROM table WHERE column``; deletes rows whose column is in values."""
    for start in range(0, len(values), MAX_PARAMETERS):
        chunk = values[start : start + MAX_PARAMETERS]
        db.execute(_in_sql(head, len(chunk)), chunk)


def select_in(db: sqlite3.Connection, head: str, values: Sequence[Any]) -> list[Any]:
    """``head`` is ``SELECT ... FROM table WHERE column``; the rows whose column is in
    values, read in as few statements as fit."""
    rows: list[Any] = []
    for start in range(0, len(values), MAX_PARAMETERS):
        chunk = values[start : start + MAX_PARAMETERS]
        rows += db.execute(_in_sql(head, len(chunk)), chunk).fetchall()
    return rows


PAGE_SIZE = 64 * 1024
"""SQLite's page size for a new repository (an existing file keeps its own): a hub writes
thousands of rows per commit, and larger pages mean fewer system calls for the WAL and
a cheaper checkpoint. An agent's flow sets 4 KB (``repository-page-size``): each page a
small database touches is memory."""
MAX_PAGE_SIZE = 64 * 1024  # SQLite's largest

WAL_BACKSTOP = 64 * 1024**2
"""In the background, a writer checkpoints itself past this much WAL: the backstop when
the checkpointer falls behind."""
WAL_ON_COMMIT = 4 * 1024**2
"""On commit, a writer checkpoints past this much WAL: SQLite's default of 1,000 pages,
at its default page size of 4 KB, whatever the page size."""


def wal_pages(writer: sqlite3.Connection, size: int) -> int:
    """How many of ``writer``'s pages make ``size`` bytes."""
    (page,) = writer.execute("PRAGMA page_size").fetchone()
    return max(1, size // int(page))


class WalCheckpointer:
    """Copies a WAL database's log into it off the commit path, on the other core.

    SQLite's default has the committing connection checkpoint every 1,000 pages, so one
    commit in a few hundred pays for copying and syncing megabytes while every other
    writer waits (tens to hundreds of milliseconds of tail latency). In the background,
    a thread runs PASSIVE checkpoints, which never block the writer, with the GIL
    released while SQLite copies, and the writer's own autocheckpoint moves out to
    ``WAL_BACKSTOP``, by when most frames are already copied. Not in the background (a
    device's trickle of commits, setting ``repository-checkpoints: on-commit``), the
    writer checkpoints every ``WAL_ON_COMMIT``: no thread, no second connection, no
    wake-ups ten times a second.
    """

    def __init__(
        self,
        writer: sqlite3.Connection,
        connect: Callable[[], sqlite3.Connection],
        name: str,
        *,
        background: bool = True,
        seconds: float = 0.1,
    ) -> None:
        self._thread: threading.Thread | None = None
        if not background:
            writer.execute(f"PRAGMA wal_autocheckpoint = {wal_pages(writer, WAL_ON_COMMIT)}")
            return
        writer.execute(f"PRAGMA wal_autocheckpoint = {wal_pages(writer, WAL_BACKSTOP)}")
        writer.execute(f"PRAGMA journal_size_limit = {WAL_BACKSTOP}")
        self._conn = connect()
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self._seconds):
                # Busy or a passing I/O error: the next round or the writer copies.
                with suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self._conn.close()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
