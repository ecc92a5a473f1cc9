"""``LakeLoader``: appends the lake's new Parquet files to the dashboards' tables.

Files are loaded in batches (of one folder, ``BATCH_FILES`` files at most), each batch
one transaction that also records its files in ``lake_files``: after a crash the
database holds each file's rows exactly once, or not at all. A folder's time is
recorded (``lake_folders``) only once all it held is loaded, so a restart lists again
every folder whose files might not all be in. A batch that fails
(a corrupt or truncated file among them) is loaded again file by file, so one bad file
costs only itself: it is logged and skipped, and tried again only if its size changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from headwater.dashboards import tables
from headwater.dashboards.scan import Folder, FolderScanner

log = logging.getLogger("headwater.dashboards")

BATCH_FILES = 250
"""Files per transaction: the initial load of a big lake commits as it goes."""

KINDS: dict[str, Callable[[duckdb.DuckDBPyConnection, Sequence[Path]], int]] = {
    "sensors": tables.load_readings,
    "images": tables.load_images,
    "jobstatus": tables.count_rows,
}
"""The lake's folders the dashboards read, and how each one's files are loaded."""


@dataclass(frozen=True)
class LoadReport:
    files: int = 0
    rows: int = 0
    skipped: int = 0


class LakeLoader:
    """Loads what is new under ``lake`` into the tables behind ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, lake: Path) -> None:
        self._con = con
        self._lake = lake
        self._scanners = {
            kind: FolderScanner(lake / kind, self._recall, self._remembered(kind)) for kind in KINDS
        }
        self._bad: dict[str, int] = {}

    def load_new(self, *, settle: bool = True) -> LoadReport:
        """Load each new file of the folders that changed (with ``settle``, also of the
        folders changed too recently to be sure of); what was loaded."""
        files = rows = skipped = 0
        for kind, scanner in self._scanners.items():
            for folder in scanner.to_list(settle=settle):
                found = scanner.new_files(folder)
                fresh = [path for path in found if not self._still_bad(path)]
                for start in range(0, len(fresh), BATCH_FILES):
                    batch = fresh[start : start + BATCH_FILES]
                    loaded, count, bad = self._load(kind, batch)
                    scanner.loaded(loaded)
                    files, rows, skipped = files + len(loaded), rows + count, skipped + bad
                self._remember(folder)
            if settle:
                scanner.forget_settled()
        return LoadReport(files, rows, skipped)

    def _recall(self, folder: Path) -> set[str]:
        """The names of ``folder``'s files already loaded, from the database."""
        found = self._con.execute(
            "SELECT name FROM lake_files WHERE folder = ?", [self._relative(folder)]
        ).fetchall()
        return {name for (name,) in found}

    def _remembered(self, kind: str) -> dict[Path, Folder]:
        """The folders of ``kind`` as they were when last listed (a previous run)."""
        rows = self._con.execute(
            "SELECT folder, mtime_ns, listed_at FROM lake_folders"
            " WHERE folder = ? OR starts_with(folder, ?)",
            [kind, kind + "/"],
        ).fetchall()
        return {
            self._lake / folder: Folder(self._lake / folder, mtime_ns, listed_at)
            for folder, mtime_ns, listed_at in rows
        }

    def _remember(self, folder: Folder) -> None:
        """``folder`` as listed, once all it held is loaded (or skipped as bad)."""
        self._con.execute(
            "INSERT INTO lake_folders VALUES (?, ?, ?) ON CONFLICT (folder) DO UPDATE"
            " SET mtime_ns = excluded.mtime_ns, listed_at = excluded.listed_at",
            [self._relative(folder.path), folder.mtime_ns, folder.listed_at],
        )

    def _still_bad(self, path: Path) -> bool:
        size = self._bad.get(str(path))
        if size is None:
            return False
        try:
            return path.stat().st_size == size
        except OSError:
            return True

    def _load(self, kind: str, batch: Sequence[Path]) -> tuple[list[Path], int, int]:
        """Load ``batch`` in one transaction, else file by file; (loaded, rows, bad)."""
        try:
            return list(batch), self._transaction(kind, batch), 0
        except duckdb.Error as exc:
            if len(batch) == 1:
                self._mark_bad(batch[0], exc)
                return [], 0, 1
        loaded: list[Path] = []
        rows = bad = 0
        for path in batch:
            try:
                rows += self._transaction(kind, [path])
                loaded.append(path)
            except duckdb.Error as exc:
                self._mark_bad(path, exc)
                bad += 1
        return loaded, rows, bad

    def _transaction(self, kind: str, files: Sequence[Path]) -> int:
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            rows = KINDS[kind](con, files)
            con.execute(  # a batch is of one folder
                "INSERT INTO lake_files SELECT ?, unnest(?::VARCHAR[])",
                [self._relative(files[0].parent), [path.name for path in files]],
            )
            con.execute(
                "INSERT INTO lake_rows VALUES (?, ?)"
                " ON CONFLICT (kind) DO UPDATE SET rows = lake_rows.rows + excluded.rows",
                [kind, rows],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return rows

    def _relative(self, path: Path) -> str:
        return path.relative_to(self._lake).as_posix()

    def _mark_bad(self, path: Path, exc: duckdb.Error) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            return  # gone (a retention sweep, a rename): nothing to skip
        self._bad[str(path)] = size
        log.warning(
            "dashboards: skipped %s, which DuckDB cannot read (%s); it is tried again if"
            " its size changes",
            path,
            str(exc).splitlines()[0],
        )
