"""``FolderScanner``: the Parquet files of one lake folder not yet loaded.

The hub adds a small Parquet file every second or so to ``<kind>/<yyyy-MM-dd>/``, so
after a few weeks a folder holds tens of thousands of files. Listing all of them before
every query would cost more than the queries, so a day folder is listed again only when
its modification time changed (creating or renaming a file into a folder changes it),
which a stat per folder tells. A folder's time has the file system's granularity, so a
file renamed in within the same tick as the previous listing leaves it unchanged: the
folders modified recently are listed again too, on a slower beat (``settle``).

Names starting with ``.`` or ``_`` are files being written (the hub writes a temporary
name, then renames) or markers (``_SUCCESS``): they are never loaded.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

SETTLE_SECONDS = 2.0
"""A folder modified this recently is listed again even when its time did not change."""


@dataclass
class _Seen:
    mtime_ns: int
    listed_at: float


@dataclass
class FolderScanner:
    """Finds new ``*.parquet`` files in ``root`` and its sub-folders (one level: the day
    folders), in name order, skipping what ``known`` already holds."""

    root: Path
    known: set[str] = field(default_factory=set)
    _folders: dict[str, _Seen] = field(default_factory=dict)

    def new_files(self, *, settle: bool = True) -> list[Path]:
        """Files not in ``known``, grouped by folder (folders in name order, then files),
        so that a lake written in time order is loaded in time order.

        Only folders whose time changed are listed, and with ``settle`` also those
        modified too recently to be sure of (a few stats when nothing changed)."""
        found: list[Path] = []
        for folder in self._folders_to_list(settle):
            found.extend(self._unknown_in(folder))
        return found

    def _folders_to_list(self, settle: bool) -> list[Path]:
        try:
            subfolders = sorted(
                entry.path
                for entry in os.scandir(self.root)
                if entry.is_dir(follow_symlinks=True) and not entry.name.startswith((".", "_"))
            )
        except (FileNotFoundError, NotADirectoryError):
            return []
        now = time.time()
        changed = []
        for path in [str(self.root), *subfolders]:
            try:
                mtime_ns = os.stat(path).st_mtime_ns
            except FileNotFoundError:
                continue
            seen = self._folders.get(path)
            if seen is not None and seen.mtime_ns == mtime_ns:
                settled = mtime_ns / 1e9 < seen.listed_at - SETTLE_SECONDS
                if settled or not settle:
                    continue
            self._folders[path] = _Seen(mtime_ns, now)
            changed.append(Path(path))
        return changed

    def _unknown_in(self, folder: Path) -> list[Path]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = sorted(
            entry.name
            for entry in entries
            if entry.name.endswith(".parquet")
            and not entry.name.startswith((".", "_"))
            and entry.is_file(follow_symlinks=True)
        )
        found = []
        for name in names:
            path = folder / name
            key = str(path)
            if key not in self.known:
                found.append(path)
        return found

    def forget_folders(self) -> None:
        """List every folder again on the next scan (after ``known`` shrank)."""
        self._folders.clear()
