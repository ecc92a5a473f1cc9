"""GetFile, and what every file processor shares: filters, scans and file attributes.

GetFile and ListFile choose files the same way (name and path regular expressions,
hidden files, age and size bounds) and describe them with the same attributes
(``filename``, ``path`` relative to the input directory, ``absolute.path``,
``file.lastModifiedTime``...), so both are defined once here. PutFile and FetchFile
live in :mod:`.files_put` and :mod:`.files_fetch`, ListFile in :mod:`.files_list`.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.expression.javadate import format_date
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_bool, parse_data_size, parse_duration, parse_positive_int

TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ssZ"
"""How NiFi writes file times in attributes (and reads PutFile's Last Modified Time)."""


def parse_pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


def parse_directory(text: str) -> Path:
    """An existing directory (NiFi checks this when the processor is configured)."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"{text!r} is not an existing directory")
    return path


def format_time(seconds: float) -> str:
    return format_date(datetime.fromtimestamp(seconds, UTC), TIME_FORMAT, None)


def permissions(mode: int) -> str:
    """``rwxr-x---`` for a file mode, as NiFi writes ``file.permissions``."""
    return stat.filemode(mode)[1:]


def _owner(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _group(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


@dataclass(frozen=True)
class Candidate:
    """A file a scan found: where it is, and what ``stat`` said about it."""

    path: Path
    relative_dir: str
    info: os.stat_result

    @property
    def modified_millis(self) -> int:
        return self.info.st_mtime_ns // 1_000_000

    def attributes(self, extended: bool = True) -> dict[str, str]:
        """NiFi's attributes for a picked-up or listed file."""
        info = self.info
        attrs = {
            "filename": self.path.name,
            "path": f"{self.relative_dir}/" if self.relative_dir else "./",
            "absolute.path": f"{self.path.parent.absolute()}/",
            "file.size": str(info.st_size),
            "file.lastModifiedTime": format_time(info.st_mtime),
        }
        if extended:
            attrs["file.lastAccessTime"] = format_time(info.st_atime)
            attrs["file.creationTime"] = format_time(getattr(info, "st_birthtime", info.st_ctime))
            attrs["file.owner"] = _owner(info.st_uid)
            attrs["file.group"] = _group(info.st_gid)
            attrs["file.permissions"] = permissions(info.st_mode)
        return attrs


class AbstractDirectoryScanner(Processor):
    """The properties and scan GetFile and ListFile share (not a processor itself)."""

    input_requirement = InputRequirement.FORBIDDEN

    directory = Property(
        "Input Directory",
        "The directory to pick files from (Expression Language: variables only)",
        required=True,
        expression=True,
        parse=parse_directory,
    )
    file_filter = Property(
        "File Filter",
        "Only files whose names match this regular expression",
        default=r"[^\.].*",
        required=True,
        parse=parse_pattern,
    )
    path_filter = Property(
        "Path Filter",
        "With Recurse Subdirectories, only subdirectories whose relative path matches",
        parse=parse_pattern,
    )
    recurse = Property(
        "Recurse Subdirectories",
        "Whether to look in subdirectories too",
        default="true",
        required=True,
        parse=parse_bool,
    )
    min_age = Property(
        "Minimum File Age",
        "Younger files (by last modification) are left for later",
        default="0 sec",
        required=True,
        parse=parse_duration,
    )
    max_age = Property("Maximum File Age", "Older files are ignored", parse=parse_duration)
    min_size = Property(
        "Minimum File Size",
        "Smaller files are ignored",
        default="0 B",
        required=True,
        parse=parse_data_size,
    )
    max_size = Property("Maximum File Size", "Larger files are ignored", parse=parse_data_size)
    ignore_hidden = Property(
        "Ignore Hidden Files",
        "Whether to skip hidden files and directories",
        default="true",
        required=True,
        parse=parse_bool,
    )

    def scan(self, context: ProcessContext, *, writable: bool = False) -> Iterator[Candidate]:
        """Every file under Input Directory that passes the filters, in name order;
        with ``writable``, only files whose directory allows deleting them."""
        root = context[self.directory]
        name_filter = context[self.file_filter]
        path_filter = context.get(self.path_filter)
        recurse = context[self.recurse]
        hidden_ok = not context[self.ignore_hidden]
        min_age, max_age = context[self.min_age], context.get(self.max_age)
        min_size, max_size = context[self.min_size], context.get(self.max_size)
        now = time.time()
        pending: deque[tuple[Path, str]] = deque([(root, "")])
        while pending:
            directory, relative = pending.popleft()
            if relative and path_filter is not None and not path_filter.fullmatch(relative):
                continue
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                context.logger.warning("cannot list %s: %s", directory, exc)
                continue
            if writable and not os.access(directory, os.W_OK):
                entries = [e for e in entries if e.is_dir(follow_symlinks=False)]
            for entry in entries:
                if not hidden_ok and entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    if recurse:
                        pending.append((Path(entry.path), f"{relative}/{entry.name}".lstrip("/")))
                    continue
                if not name_filter.fullmatch(entry.name):
                    continue
                try:
                    info = entry.stat()
                except OSError:
                    continue  # vanished since the listing
                age = now - info.st_mtime
                if age < min_age or (max_age is not None and age > max_age):
                    continue
                if info.st_size < min_size or (max_size is not None and info.st_size > max_size):
                    continue
                if os.access(entry.path, os.R_OK):
                    yield Candidate(Path(entry.path), relative, info)


class GetFile(AbstractDirectoryScanner):
    """Creates FlowFiles from files in a directory, then deletes the files (unless Keep
    Source File). A file is deleted only after the session holding its FlowFile has
    committed, so a crash or rollback leaves it to be picked up again."""

    tags = ("local", "files", "filesystem", "ingest", "ingress", "get", "source", "input")

    SUCCESS = Relationship("success", "All files are routed to success.")

    batch_size = Property(
        "Batch Size",
        "The most files to pull in one run",
        default="10",
        required=True,
        parse=parse_positive_int,
    )
    keep_source = Property(
        "Keep Source File",
        "Leave the file in place (it will be picked up again; for testing)",
        default="false",
        required=True,
        parse=parse_bool,
    )
    polling_interval = Property(
        "Polling Interval",
        "How long to wait between directory listings",
        default="0 sec",
        required=True,
        parse=parse_duration,
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Path] = deque()
        self._in_process: set[Path] = set()
        self._listed_at = float("-inf")

    def _claim(self, context: ProcessContext, count: int) -> list[Path]:
        """Up to ``count`` listed files no other task is working on."""
        with self._lock:
            due = time.monotonic() - self._listed_at >= context[self.polling_interval]
            if not self._queue and due:
                keep = context[self.keep_source]
                self._listed_at = time.monotonic()
                listed = [c.path for c in self.scan(context, writable=not keep)]
                self._queue.extend(p for p in listed if p not in self._in_process)
            claimed: list[Path] = []
            while self._queue and len(claimed) < count:
                path = self._queue.popleft()
                if path not in self._in_process:
                    claimed.append(path)
            self._in_process.update(claimed)
            return claimed

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        try:
            root = context[self.directory]
        except ProcessException as exc:
            context.logger.error("cannot pick up files: %s", exc)
            context.yield_()
            return
        claimed = self._claim(context, context[self.batch_size])
        if not claimed:
            context.yield_()
            return
        try:
            taken = [path for path in claimed if self._receive(context, session, root, path)]
            session.commit()
            if not context[self.keep_source]:
                for path in taken:
                    try:
                        path.unlink()
                    except OSError as exc:
                        context.logger.warning(
                            "picked up %s but could not delete it: %s", path, exc
                        )
        finally:
            with self._lock:
                self._in_process.difference_update(claimed)

    def _receive(
        self, context: ProcessContext, session: ProcessSession, root: Path, path: Path
    ) -> bool:
        started = time.monotonic()
        ff = None
        try:
            info = path.stat()
            with path.open("rb") as source:
                ff = session.create()
                ff = session.import_from(ff, source)
        except OSError as exc:
            context.logger.warning("could not pick up %s: %s", path, exc)
            if ff is not None:
                session.remove(ff)
            return False
        relative = path.parent.relative_to(root).as_posix()
        candidate = Candidate(path, "" if relative == "." else relative, info)
        ff = session.put_all_attributes(ff, candidate.attributes())
        millis = int((time.monotonic() - started) * 1000)
        session.provenance.receive(ff, path.absolute().as_uri(), millis=millis)
        session.transfer(ff, self.SUCCESS)
        return True
