"""ListFTP: one FlowFile per new file on an FTP server, for FetchFTP to fetch.

State keeps the newest modification time listed and the paths listed at that time, so
a file written in the same second as the last listed one is still listed exactly once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Property, Relationship
from headwater.processors.storage_ftp import REMOTE_URL, _FTPProcessor
from headwater.units import parse_bool

_TIMESTAMP = "listing.timestamp"


class ListFTP(_FTPProcessor):
    """Lists the files on an FTP server; each new file becomes an empty FlowFile whose
    attributes name it."""

    tags = ("list", "ftp", "remote", "ingest", "source", "input", "files")
    input_requirement = InputRequirement.FORBIDDEN

    SUCCESS = Relationship("success", "One FlowFile per newly listed file.")

    remote_path = Property("Remote Path", "The directory to list", default=".", expression=True)
    recurse = Property(
        "Search Recursively",
        "List subdirectories too",
        default="false",
        required=True,
        parse=parse_bool,
    )
    file_filter = Property(
        "File Filter Regex", "Only file names matching this pattern", parse=re.compile
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        blank = FlowFile.create()
        try:
            storage = self._connect(context, blank)
            root = context.evaluate(self.remote_path, blank)
            root = "/" + root.strip("/").lstrip(".").strip("/")
            storage.fs.invalidate_cache()
            depth = None if context[self.recurse] else 1
            found: dict[str, Any] = storage.fs.find(root, maxdepth=depth, detail=True)
        except Exception as exc:
            self._disconnect()
            context.logger.warning("could not list: %s", exc)
            context.yield_()
            return
        pattern = context.get(self.file_filter)
        state = context.state.get()
        last = int(state.get(_TIMESTAMP, "-1"))
        seen = {v for k, v in state.items() if k.startswith("id.")}
        new: list[tuple[int, str, Any]] = []
        for path, info in found.items():
            name = path.rsplit("/", 1)[-1]
            if info.get("type") != "file" or (pattern and not pattern.fullmatch(name)):
                continue
            modified = _millis(info)
            if modified > last or (modified == last and path not in seen):
                new.append((modified, path, info))
        if not new:
            context.yield_()
            return
        host, port, user = self._server or ("", 0, "")
        for modified, path, info in sorted(new):
            directory, _, name = path.rpartition("/")
            ff = session.create()
            ff = session.put_all_attributes(
                ff,
                {
                    "filename": name,
                    "path": directory or "/",
                    "ftp.remote.host": host,
                    "ftp.remote.port": str(port),
                    "ftp.listing.user": user,
                    "file.size": str(info.get("size", 0)),
                    "file.lastModifiedTime": _format(modified),
                    REMOTE_URL: storage.url(path),
                },
            )
            session.transfer(ff, self.SUCCESS)
        latest = max(m for m, _, _ in new)
        at_latest = sorted(p for m, p, _ in new if m == latest)
        if latest == last:
            at_latest = sorted(set(at_latest) | seen)
        context.state.set(
            {_TIMESTAMP: str(latest), **{f"id.{i}": p for i, p in enumerate(at_latest)}}
        )


def _millis(info: Any) -> int:
    """The MLSD ``modify`` fact (YYYYMMDDHHMMSS[.sss], UTC) in epoch milliseconds."""
    text = str(info.get("modify", ""))
    try:
        moment = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise ProcessException(f"the server gave no usable modification time: {text!r}") from None
    return int(moment.timestamp() * 1000)


def _format(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
