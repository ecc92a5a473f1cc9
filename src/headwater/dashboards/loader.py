"""``LakeLoader``: appends the lake's new Parquet files to the dashboards' tables.

Files are loaded in batches (a day folder at most, ``BATCH_FILES`` files at most), each
batch one transaction that also records its files in ``lake_files``: after a crash
the database holds each file's rows exactly once, or not at all. A batch that fails
(a corrupt or truncated file among them) is loaded again file by file, so one bad file
costs only itself: it is logged and skipped, and tried again only if its size changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import duckdb

from headwater.dashboards import tables
from headwater.dashboards.scan import FolderScanner

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
        loaded = con.execute("SELECT path FROM lake_files").fetchall()
        known = {str(lake / path) for (path,) in loaded}
        self._scanners = {kind: FolderScanner(lake / kind, known) for kind in KINDS}
        self._bad: dict[str, int] = {}

    def load_new(self, *, settle: bool = True) -> LoadReport:
        """Load each new file of the folders that changed (with ``settle``, also of the
        folders changed too recently to be sure of); what was loaded."""
        files = rows = skipped = 0
        for kind, scanner in self._scanners.items():
            found = scanner.new_files(settle=settle)
            fresh = [path for path in found if not self._still_bad(path)]
            for batch in _batches(fresh):
                loaded, count, bad = self._load(kind, batch)
                scanner.known.update(str(path) for path in loaded)
                files, rows, skipped = files + len(loaded), rows + count, skipped + bad
        return LoadReport(files, rows, skipped)

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
            con.executemany(
                "INSERT OR REPLACE INTO lake_files VALUES (?, ?)",
                [[self._relative(path), kind] for path in files],
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
        return str(path.relative_to(self._lake))

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


def _batches(files: Sequence[Path]) -> Iterator[list[Path]]:
    """``files`` in runs of one folder each, ``BATCH_FILES`` at most."""
    for _, same_folder in groupby(files, key=lambda path: path.parent):
        run = list(same_folder)
        for start in range(0, len(run), BATCH_FILES):
            yield run[start : start + BATCH_FILES]
