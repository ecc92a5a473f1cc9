"""``FolderScanner``: which folders of one lake kind may hold files not yet loaded.

The hub adds a small Parquet file every second or so to ``<kind>/<yyyy-MM-dd>/``, so a
day folder ends with tens of thousands of files and a year of them holds millions.
Listing all of them before every query would cost more than the queries, so a folder
is listed again only when its modification time changed (creating or renaming a file
into a folder changes it), which one stat per folder tells. A folder's time has the
file system's granularity, so a file renamed in within the same tick as the previous
listing leaves it unchanged: folders modified too recently to be sure of are listed
again too, on a slower beat (``settle``).

What each folder held when last listed is remembered (in the database, so a restart
lists only the folders that changed), and the names of its loaded files are kept in
memory only while it is recent: a settled folder's names are recalled from the
database if it ever changes again, so memory does not grow with the lake.

Names starting with ``.`` or ``_`` are files being written (the hub writes a temporary
name, then renames) or markers (``_SUCCESS``): they are never loaded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

SETTLE_SECONDS = 2.0
"""A folder modified this recently is listed again even when its time did not change."""


@dataclass
class Folder:
    """A folder as last listed: its time then, when, and (while it is recent) the
    names of its files already loaded."""

    path: Path
    mtime_ns: int
    listed_at: float
    loaded: set[str] | None = None

    @property
    def settled(self) -> bool:
        """Modified well before it was listed: the listing saw all it holds."""
        return self.mtime_ns / 1e9 < self.listed_at - SETTLE_SECONDS


@dataclass
class FolderScanner:
    """The folders of ``root`` (itself and one level of sub-folders, the day folders)
    to list, and the new ``*.parquet`` files in one. ``recall(folder)`` gives the names
    of a folder's files already loaded."""

    root: Path
    recall: Callable[[Path], set[str]]
    folders: dict[Path, Folder] = field(default_factory=dict)

    def to_list(self, *, settle: bool) -> list[Folder]:
        """The folders whose time changed since they were listed, or that were never
        listed; with ``settle``, also those modified too recently to be sure of. In
        name order (day folders sort by day), each stamped as listed now."""
        try:
            subfolders = sorted(
                Path(entry.path)
                for entry in os.scandir(self.root)
                if entry.is_dir(follow_symlinks=True) and not entry.name.startswith((".", "_"))
            )
        except (FileNotFoundError, NotADirectoryError):
            return []
        now = time.time()
        changed = []
        for path in [self.root, *subfolders]:
            try:
                mtime_ns = path.stat().st_mtime_ns
            except FileNotFoundError:
                continue
            seen = self.folders.get(path)
            if seen is not None and seen.mtime_ns == mtime_ns and (seen.settled or not settle):
                continue
            loaded = seen.loaded if seen is not None else None
            folder = Folder(path, mtime_ns, now, loaded)
            self.folders[path] = folder
            changed.append(folder)
        return changed

    def new_files(self, folder: Folder) -> list[Path]:
        """The files of ``folder`` not loaded yet, in name order."""
        if folder.loaded is None:
            folder.loaded = self.recall(folder.path)
        try:
            entries = list(os.scandir(folder.path))
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = sorted(
            entry.name
            for entry in entries
            if entry.name.endswith(".parquet")
            and not entry.name.startswith((".", "_"))
            and entry.name not in folder.loaded
            and entry.is_file(follow_symlinks=True)
        )
        return [folder.path / name for name in names]

    def loaded(self, files: Iterable[Path]) -> None:
        """Note ``files`` as loaded, in their folders' sets."""
        for path in files:
            folder = self.folders.get(path.parent)
            if folder is not None and folder.loaded is not None:
                folder.loaded.add(path.name)

    def forget_settled(self) -> None:
        """Drop the names of settled folders from memory (recalled if they change)."""
        for folder in self.folders.values():
            if folder.settled:
                folder.loaded = None
