"""``JobsServer``: the Jobs API on uvicorn, on a background thread.

The hub's ``headwater.api.server.ApiServer`` does the same and more (TLS with client
certificates), but importing it imports the hub's whole API package and with it the
flow engine; the jobs service is a server of its own and stays light. As there, the
socket is bound before the thread starts, so a busy port fails in ``start`` with a
message naming the address, and ``port`` is the real one when asked for port 0.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp


class JobsServer:
    """Serves ``app`` on ``host:port`` until ``stop``; ``start`` returns once accepting."""

    def __init__(
        self, app: ASGIApp, host: str = "127.0.0.1", port: int = 8082, *, timeout: float = 10.0
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        try:
            family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0][0]
            self._socket = socket.create_server((self.host, self.port), family=family)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc};"
                " choose another --bind, or stop what holds it",
            ) from exc
        self.port = int(self._socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"headwater-jobs-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self.timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the jobs API on {self.url} did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting and let open requests finish (forced after ``timeout``)."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
