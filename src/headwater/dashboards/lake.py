"""``Lake``: the dashboards' answers, from a DuckDB database that follows the lake.

The database (by default ``<lake>/../dashboards.duckdb``, next to the lake in the data
dir) keeps what has been loaded, so a restarted hub only loads the files written since.
It is a cache of the lake, nothing more: when it was made by another schema, another
DuckDB or for another lake, or is damaged, it is made again; when another process
holds it or it cannot be written, the lake is loaded into memory instead. The lake is
taken to only grow, as the hub writes it: the rows of a file deleted from the lake
stay counted until the database is deleted.

Before answering, a query loads the lake's new files: a stat of each folder tells
which changed (a file renamed in changes its folder's time), and only those are listed
again, so following a lake of tens of thousands of files costs about a millisecond
when nothing is new. Queries arriving while one loads wait for it.
DuckDB connections are not thread-safe, so each query runs on its own cursor (a
connection to the same database, which sees the last committed load).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from headwater.dashboards import queries, tables
from headwater.dashboards.loader import LakeLoader, LoadReport
from headwater.errors import RepositoryError

log = logging.getLogger("headwater.dashboards")

DATABASE_NAME = "dashboards.duckdb"


class Lake:
    """The lake at ``lake`` (``sensors/``, ``images/``, ``jobstatus/``) and the JPEGs of
    the image store at ``images``.

    ``database``: a file, ``":memory:"``, or None for ``<lake>/../dashboards.duckdb``;
    ``refresh_seconds``: how often the folders modified too recently for their time to
    be trusted are listed again (new files in other folders are seen at once).
    """

    def __init__(
        self,
        lake: Path,
        *,
        images: Path | None = None,
        database: Path | str | None = None,
        refresh_seconds: float = 2.0,
        threads: int = 2,
        memory_limit: str = "512MB",
    ) -> None:
        self.root = Path(lake).resolve()
        self.images_dir = Path(images).resolve() if images is not None else None
        self.refresh_seconds = refresh_seconds
        target = database if database is not None else self.root.parent / DATABASE_NAME
        config = {"threads": threads, "memory_limit": memory_limit}
        self._con = _connect(str(target), config)
        self._prepare()
        self._loading = self._con.cursor()  # the loader's own connection
        self._loader = LakeLoader(self._loading, self.root)
        self._load_lock = threading.Lock()
        self._cursor_lock = threading.Lock()
        self._settled_at = float("-inf")
        self._closed = False

    def _prepare(self) -> None:
        """Use the database as it is when it was made for this lake by this schema and
        DuckDB; else start it again."""
        tables.create_tables(self._con)
        wanted = {
            "schema": str(tables.SCHEMA_VERSION),
            "duckdb": duckdb.__version__,
            "lake": str(self.root),
        }
        found = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        if found == wanted:
            return
        if found:
            log.info("dashboards: rebuilding the database (made for %s, now %s)", found, wanted)
        tables.drop_tables(self._con)
        tables.create_tables(self._con)
        self._con.executemany("INSERT INTO meta VALUES (?, ?)", list(wanted.items()))

    def refresh(self, *, force: bool = False) -> LoadReport:
        """Load the lake's new files; what was loaded.

        Every call stats the lake's folders and lists those that changed, so an answer
        holds every file renamed into the lake before it was asked; every
        ``refresh_seconds`` (or with ``force``) it also lists the folders modified too
        recently for their time to be trusted (see ``scan.py``). A query arriving while
        another thread loads waits for that load (the first load of a big lake makes the
        first queries wait: about 3.5 s a million readings)."""
        with self._load_lock:
            if self._closed:
                return LoadReport()
            began = time.monotonic()
            settle = force or began - self._settled_at >= self.refresh_seconds
            report = self._loader.load_new(settle=settle)
            if settle:
                self._settled_at = began
        if report.files > 100:
            log.info(
                "dashboards: loaded %d files (%d rows) from %s in %.1f s",
                report.files,
                report.rows,
                self.root,
                time.monotonic() - began,
            )
        return report

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one query, after loading what is new. DuckDB's errors
        become ``RepositoryError`` (the API answers 503 with the reason)."""
        try:
            self.refresh()
            with self._cursor_lock:  # the shared connection is touched by one thread at once
                cursor = self._con.cursor()
        except duckdb.Error as exc:
            raise RepositoryError(f"the dashboards' database failed: {exc}") from exc
        try:
            yield cursor
        except duckdb.Error as exc:
            raise RepositoryError(f"a dashboards query failed: {exc}") from exc
        finally:
            cursor.close()

    def devices(self) -> list[dict[str, Any]]:
        """Each device with readings: its count, first and last time, latest values."""
        with self._cursor() as cur:
            return queries.devices(cur)

    def readings(
        self,
        host: str,
        *,
        since: int | None = None,
        until: int | None = None,
        points: int = 300,
    ) -> dict[str, Any]:
        """``host``'s readings between ``since`` and ``until`` (ms, inclusive; default all),
        averaged over at most ``points`` round, epoch-aligned time buckets."""
        with self._cursor() as cur:
            return queries.readings(cur, host, since, until, points)

    def images(self, *, host: str | None = None, limit: int = 24) -> list[dict[str, Any]]:
        """The newest ``limit`` images (of ``host``), newest first."""
        with self._cursor() as cur:
            return queries.images(cur, host, limit)

    def joined(self, *, host: str | None = None, limit: int = 100) -> dict[str, Any]:
        """The newest ``limit`` images, each with the reading whose ``imgname`` names it."""
        with self._cursor() as cur:
            return queries.joined(cur, host, limit)

    def summary(self) -> dict[str, Any]:
        """Counts of readings, images, devices and job runs, and the last reading's time."""
        with self._cursor() as cur:
            return queries.summary(cur)

    def image_path(self, filename: str) -> Path | None:
        """The JPEG named ``filename`` in the image store, or None when there is none.
        ``filename`` must be a plain file name (the API refuses others first)."""
        if self.images_dir is None or not queries.is_plain_name(filename):
            return None
        path = self.images_dir / filename
        return path if path.is_file() else None

    def close(self) -> None:
        """Release the database (its file stays, for the next start)."""
        with self._load_lock, self._cursor_lock:
            self._closed = True
            self._loading.close()
            self._con.close()


def _connect(target: str, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """A connection to ``target``. A file DuckDB cannot read (damaged, or of another
    format) is only a cache: it is deleted and made again. When the file cannot be
    opened at all (another process holds it, its folder is read-only), the lake is
    loaded into memory instead, said once in the log."""
    if target == ":memory:":
        return duckdb.connect(target, config=config)
    path = Path(target)
    for attempt in (1, 2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(target, config=config)
        except (duckdb.Error, OSError) as exc:
            reason = str(exc).splitlines()[0]
            held = isinstance(exc, OSError) or "lock" in reason.lower()
            if attempt == 1 and not held and path.is_file():
                log.warning("dashboards: %s is unreadable (%s); making it again", path, reason)
                path.unlink()
                path.with_name(path.name + ".wal").unlink(missing_ok=True)
                continue
            log.warning(
                "dashboards: cannot open %s (%s); loading the lake into memory instead",
                target,
                reason,
            )
    return duckdb.connect(":memory:", config=config)
