"""``FtpStore``: the stack's image store, a pyftpdlib server on a thread of its own.

The seed keeps its camera images on an FTP server, so the demo does too: the hub's flow
puts each JPEG at ``ftp://host:port/images/<filename>`` and the models service reads it
back by that URL. One user, ``headwater``, with the generated password, owns the root;
there is no anonymous access. pyftpdlib's single-threaded asynchronous server is enough
for a few images a second and costs one thread.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
from pyftpdlib.servers import FTPServer  # type: ignore[import-untyped]

# read and write everything under the root: list, retrieve, store, append, delete,
# rename, mkdir, chmod, mtime (pyftpdlib's letters)
PERMISSIONS = "elradfmwMT"


class FtpStore:
    """Serves ``root`` over FTP on ``host:port`` (0: a free port) until ``stop``."""

    def __init__(
        self, root: Path, user: str, password: str, host: str = "127.0.0.1", port: int = 0
    ):
        self.root = root
        self.user = user
        self.host = host
        root.mkdir(parents=True, exist_ok=True)
        authorizer = DummyAuthorizer()
        authorizer.add_user(user, password, str(root), perm=PERMISSIONS)
        handler = type(
            "StackFtpHandler",
            (FTPHandler,),
            {"authorizer": authorizer, "banner": "headwater image store", "passive_ports": None},
        )
        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)  # a line per command else
        try:
            self._server = FTPServer((host, port), handler)
        except OSError as exc:
            raise OSError(
                f"the FTP image store cannot listen on {host}:{port} ({exc});"
                " give another --ftp-port or --port-base, or stop what holds it"
            ) from exc
        self.port: int = self._server.address[1]
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"ftp://{self.host}:{self.port}"

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="ftp-store", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """Poll the server's loop until asked to stop, then close it from this thread:
        pyftpdlib's loop is not thread-safe, so no other thread touches its sockets."""
        try:
            while not self._stopping.is_set():
                self._server.ioloop.loop(0.2, blocking=False)
        finally:
            self._server.close_all()

    def stop(self) -> None:
        """Close the listener and every session, and wait for the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        else:
            self._server.close_all()

    def __enter__(self) -> FtpStore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
