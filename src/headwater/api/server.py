"""``ApiServer``: uvicorn serving an ASGI app on a background thread.

The listening socket is bound here, before the thread starts, so a port already in
use fails in ``start`` with an OSError naming the address (rather than uvicorn
exiting its thread), and ``port`` is known even when asked for port 0.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

DEFAULT_HOST = "127.0.0.1"


class ApiServer:
    """Serves ``app`` on ``host:port`` until ``stop``; ``start`` returns once accepting."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = DEFAULT_HOST,
        port: int = 8080,
        *,
        log_level: str = "warning",
        startup_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.startup_timeout = startup_timeout
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="off",
            access_log=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0), kept after ``stop``."""
        return self.requested_port if self._bound_port is None else self._bound_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind, serve on a daemon thread, and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this ApiServer was already started; make a new one")
        self._socket = _bind(self.host, self.requested_port)
        self._bound_port = int(self._socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"headwater-api-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_socket()
                raise RuntimeError(f"the API server on {self.url} exited while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"the API server on {self.url} did not start within {self.startup_timeout}s"
                )
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, let open requests finish (forcing them after ``timeout``)."""
        thread = self._thread
        if thread is not None:
            self._server.should_exit = True
            thread.join(timeout)
            if thread.is_alive():
                self._server.force_exit = True
                thread.join(timeout)
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another"
            " address or port, or stop what holds it",
        ) from exc
    return sock
