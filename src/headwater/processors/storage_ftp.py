"""PutFTP and FetchFTP: files to and from an FTP server; uploads as a dot file renamed
into place.

The upload goes through :mod:`headwater.storage` (fsspec's FTP filesystem over ftplib).
One connection is kept between triggers and dropped after any error, so the next
trigger reconnects; an unreachable server sends the FlowFile to failure, penalized.
The FlowFile leaves with ``ftp.remote.url`` so a later step (a model call) can fetch it.
"""

from __future__ import annotations

import contextlib
import posixpath
import time

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.storage import (
    FAIL,
    IGNORE,
    REPLACE,
    Storage,
    StorageError,
    StorageNotFound,
    open_storage,
)
from headwater.units import parse_bool, parse_duration, parse_positive_int

REMOTE_URL = "ftp.remote.url"
_STRATEGIES = ("REPLACE", "IGNORE", "RENAME", "REJECT", "FAIL", "NONE")


class _FTPProcessor(Processor):
    """The connection properties of the FTP processors, and one kept connection."""

    hostname = Property("Hostname", "The FTP server's host name", required=True, expression=True)
    port = Property("Port", "The FTP server's port", default="21", required=True, expression=True)
    username = Property("Username", "User name on the server", required=True, expression=True)
    password = Property("Password", "Password of the user", sensitive=True, expression=True)
    timeout = Property(
        "Connection Timeout",
        "How long to wait for the server",
        default="30 sec",
        required=True,
        parse=parse_duration,
    )

    _storage: Storage | None = None
    _server: tuple[str, int, str] | None = None

    def on_stopped(self, context: ProcessContext) -> None:
        self._disconnect()

    def _disconnect(self) -> None:
        if self._storage is not None:
            with contextlib.suppress(Exception):  # the connection may already be gone
                self._storage.fs.ftp.close()
        self._storage, self._server = None, None

    def _connect(self, context: ProcessContext, ff: FlowFile) -> Storage:
        host = context.evaluate(self.hostname, ff)
        port_text = context.evaluate(self.port, ff)
        if not port_text.isdigit():
            raise ProcessException(f"Port must be a whole number, got {port_text!r}")
        user = context.evaluate(self.username, ff)
        server = (host, int(port_text), user)
        if self._storage is None or self._server != server:
            self._disconnect()
            password = context.evaluate(self.password, ff) if context.is_set(self.password) else ""
            self._storage, _ = open_storage(
                f"ftp://{host}:{server[1]}",
                username=user,
                password=password,
                timeout=context[self.timeout],
                skip_instance_cache=True,
            )
            self._server = server
        return self._storage


class PutFTP(_FTPProcessor):
    """Sends FlowFiles to an FTP server."""

    tags = ("remote", "copy", "egress", "put", "ftp", "archive", "files")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Files uploaded (or ignored as already there).")
    FAILURE = Relationship("failure", "Files not uploaded (reason in error.message), penalized.")
    REJECT = Relationship("reject", "Files already on the server under REJECT.")

    remote_path = Property("Remote Path", "The directory to upload to", expression=True)
    create_dir = Property(
        "Create Directory",
        "Create the remote directory when missing",
        default="false",
        required=True,
        parse=parse_bool,
    )
    batch_size = Property(
        "Batch Size", "FlowFiles sent per trigger", default="500", parse=parse_positive_int
    )
    conflict = Property(
        "Conflict Resolution",
        "What to do when a file of the same name is on the server; NONE overwrites",
        default="NONE",
        required=True,
        allowed=_STRATEGIES,
    )
    dot_rename = Property(
        "Dot Rename",
        "Upload as .name and rename when complete, so readers never see a partial file",
        default="true",
        parse=parse_bool,
    )
    temporary = Property(
        "Temporary Filename",
        "Upload under this name and rename when complete (overrides Dot Rename)",
        expression=True,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(context[self.batch_size])
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                storage = self._connect(context, ff)
            except ProcessException as exc:
                # The server is unreachable: as NiFi, fail this one, leave the rest in
                # the queue untried (each would wait out the timeout again), and yield.
                self._fail(context, session, ff, exc)
                session.transfer_all(batch[index + 1 :])
                context.yield_()
                return
            try:
                url, written = self._put(context, session, storage, ff)
            except ProcessException as exc:
                if isinstance(exc, _Rejected):
                    session.transfer(
                        session.put_attribute(ff, "error.message", str(exc)), self.REJECT
                    )
                    continue
                if isinstance(exc, StorageError):
                    self._disconnect()
                self._fail(context, session, ff, exc)
                continue
            ff = session.put_attribute(ff, REMOTE_URL, url)
            if written:
                millis = int((time.monotonic() - started) * 1000)
                session.provenance.send(ff, url, millis=millis)
            session.transfer(ff, self.SUCCESS)

    def _fail(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, exc: Exception
    ) -> None:
        route_to_failure(context, session, ff, self.FAILURE, exc, penalize=True)

    def _put(
        self, context: ProcessContext, session: ProcessSession, storage: Storage, ff: FlowFile
    ) -> tuple[str, bool]:
        name = ff.filename
        if not name or name in (".", "..") or "/" in name:
            raise ProcessException(f"filename {name!r} is not a plain file name")
        directory = (
            context.evaluate(self.remote_path, ff) if context.is_set(self.remote_path) else ""
        )
        directory = "/" + directory.strip("/") if directory.strip("/") else "/"
        path = posixpath.join(directory, name)
        strategy = context[self.conflict]
        conflict = {"IGNORE": IGNORE, "FAIL": FAIL, "REJECT": FAIL}.get(strategy, REPLACE)
        if strategy == "RENAME":
            path = self._free_name(storage, directory, name)
        elif strategy == "REJECT" and _exists(storage, path):
            raise _Rejected(f"{storage.url(path)} already exists (conflict resolution REJECT)")
        temporary = context.evaluate(self.temporary, ff) if context.is_set(self.temporary) else None
        dot = context.get(self.dot_rename)
        atomic = bool(temporary) or dot is None or dot
        with session.open_read(ff) as stream:
            result = storage.put(
                path,
                stream,
                conflict,
                create_dirs=context[self.create_dir],
                temporary=temporary or f".{posixpath.basename(path)}",
                atomic=atomic,
            )
        return result.url, result.written

    @staticmethod
    def _free_name(storage: Storage, directory: str, name: str) -> str:
        """NiFi's RENAME: ``name``, else ``1.name``, ``2.name``... the first one free."""
        path = posixpath.join(directory, name)
        attempt = 0
        while _exists(storage, path):
            attempt += 1
            if attempt > 99:
                raise StorageError(f"no free name for {name} in {storage.url(directory)}")
            path = posixpath.join(directory, f"{attempt}.{name}")
        return path


class _Rejected(ProcessException):
    """The target exists and Conflict Resolution is REJECT."""


def _exists(storage: Storage, path: str) -> bool:
    try:
        return bool(storage.fs.exists(path))
    except Exception as exc:
        raise StorageError(f"checking {storage.url(path)} failed: {exc}") from exc


class FetchFTP(_FTPProcessor):
    """Replaces the content of each FlowFile with a file read from an FTP server."""

    tags = ("ftp", "get", "retrieve", "files", "fetch", "remote", "ingest", "source", "input")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Files fetched into the FlowFile's content.")
    COMMS_FAILURE = Relationship(
        "comms.failure", "The server could not be reached or failed; penalized, retry later."
    )
    NOT_FOUND = Relationship("not.found", "The remote file does not exist.")
    PERMISSION_DENIED = Relationship("permission.denied", "The user may not read the remote file.")

    remote_file = Property(
        "Remote File", "The full path of the file to fetch", required=True, expression=True
    )
    completion = Property(
        "Completion Strategy",
        "What to do with the remote file once fetched",
        default="None",
        required=True,
        allowed=("None", "Move File", "Delete File"),
    )
    move_to = Property(
        "Move Destination Directory",
        "Where to move the remote file under Move File",
        expression=True,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch(100):
            started = time.monotonic()
            path = "/" + context.evaluate(self.remote_file, ff).lstrip("/")
            try:
                storage = self._connect(context, ff)
                data = storage.fetch(path)
            except StorageNotFound as exc:
                self._route(context, session, ff, exc, self.NOT_FOUND)
                continue
            except StorageError as exc:
                self._disconnect()
                denied = "550" in str(exc) or "permission" in str(exc).lower()
                self._route(context, session, ff, exc, self.PERMISSION_DENIED if denied else None)
                continue
            except ProcessException as exc:
                self._route(context, session, ff, exc, None)
                continue
            url = storage.url(path)
            ff = session.write(ff, data)
            ff = session.put_all_attributes(
                ff,
                {
                    "ftp.remote.host": self._server[0] if self._server else "",
                    "ftp.remote.port": str(self._server[1]) if self._server else "",
                    "ftp.remote.filename": path,
                    "filename": posixpath.basename(path),
                    "path": posixpath.dirname(path),
                    REMOTE_URL: url,
                },
            )
            session.provenance.fetch(ff, url, millis=int((time.monotonic() - started) * 1000))
            session.transfer(ff, self.SUCCESS)
            self._complete(context, storage, ff, path)

    def _route(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ff: FlowFile,
        exc: Exception,
        relationship: Relationship | None,
    ) -> None:
        context.logger.warning("could not fetch for %s: %s", ff.uuid, exc)
        ff = session.put_attribute(ff, "error.message", str(exc))
        if relationship is None:
            session.transfer(session.penalize(ff), self.COMMS_FAILURE)
        else:
            session.transfer(ff, relationship)

    def _complete(self, context: ProcessContext, storage: Storage, ff: FlowFile, path: str) -> None:
        """Move or delete the fetched file; like NiFi, a failure here is only logged."""
        strategy = context[self.completion]
        try:
            if strategy == "Delete File":
                storage.fs.rm_file(path)
            elif strategy == "Move File" and context.is_set(self.move_to):
                directory = "/" + context.evaluate(self.move_to, ff).strip("/")
                if not storage.fs.exists(directory):
                    storage.fs.makedirs(directory, exist_ok=True)
                storage.fs.mv(path, posixpath.join(directory, posixpath.basename(path)))
        except Exception as exc:
            context.logger.warning("fetched %s but could not %s it: %s", path, strategy, exc)
