"""``AsgiServer``: uvicorn serving an ASGI app on a thread of its own, HTTP or HTTPS.

The hub's API, the models service and the jobs service each serve this way. The
listening socket is bound in ``start``, before the thread starts, so a port in use
fails there with an OSError naming the address (rather than uvicorn exiting its
thread), and ``port`` is the real one when asked for port 0. The server runs on an
event loop of its thread (uvloop where installed), where ``on_serve`` runs beside it
(a service's own start-up, e.g. loading models) and ``on_stop`` after it.

With an ``ssl.SSLContext`` the server speaks HTTPS, and each request's ASGI scope
carries the verified client certificate's subject in the TLS extension
(``scope["extensions"]["tls"]["client_cert_name"]``, RFC 4514), which uvicorn does not
fill itself: that is how an agent's certificate names it.

This module imports uvicorn and starlette's types only, so a light service can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

Hook = Callable[[], Coroutine[Any, Any, None]]


KEEP_ALIVE_SECONDS = 60
"""How long an idle client's connection stays open. uvicorn's own 5 s is an agent's
heartbeat period: every heartbeat then opened a new connection, with a TLS handshake on
both sides and, on the agent, OpenSSL's allocations for it each time."""


class AsgiServer:
    """Serves ``app`` on ``host:port`` until ``stop``; ``start`` returns once accepting."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        name: str = "asgi",
        log_level: str = "warning",
        startup_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 1024,
        on_serve: Hook | None = None,
        on_stop: Hook | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.name = name
        self.startup_timeout = startup_timeout
        self.ssl_context = ssl_context
        self.backlog = backlog
        self._on_serve, self._on_stop = on_serve, on_stop
        config = _Config(
            ssl_context,
            app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="off",
            access_log=False,
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
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
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Bind, serve on a daemon thread, and return once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"this {self.name} server was already started; make a new one")
        self._socket = bind(self.host, self.requested_port, self.backlog)
        self._bound_port = int(self._socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._run, name=f"headwater-{self.name}-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_socket()
                raise RuntimeError(f"the {self.name} server on {self.url} exited while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"the {self.name} server on {self.url} did not start within"
                    f" {self.startup_timeout:g} s"
                )
            time.sleep(0.005)

    def _run(self) -> None:
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop comes with the hub extra
            loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        assert self._socket is not None
        beside = asyncio.create_task(self._on_serve()) if self._on_serve is not None else None
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            if beside is not None:
                beside.cancel()
                with contextlib.suppress(BaseException):
                    await beside
            if self._on_stop is not None:
                await self._on_stop()

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

    def __enter__(self) -> AsgiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening socket on ``host:port``; an OSError that says what to do."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another"
            " address or port, or stop what holds it",
        ) from exc


class _Config(uvicorn.Config):
    """uvicorn's Config with a ready SSLContext, and a protocol that tells the app who
    the client certificate names."""

    def __init__(self, ssl_context: ssl.SSLContext | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ssl_context = ssl_context

    def load(self) -> None:
        super().load()
        if self._ssl_context is not None:
            self.ssl = self._ssl_context
            self.http_protocol_class = _with_client_certificate(self.http_protocol_class)


def _with_client_certificate(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    class ClientCertificateProtocol(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            name = _subject(ssl_object.getpeercert()) if ssl_object is not None else None
            if name is not None:
                self.app = _TlsScope(self.app, name)  # type: ignore[has-type]

    return ClientCertificateProtocol


def _subject(certificate: Any) -> str | None:
    """``CN=agent-1,O=headwater`` from ``getpeercert()`` (most specific first)."""
    if not certificate:
        return None
    names = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}
    parts = [
        f"{names.get(key, key)}={value}"
        for rdn in certificate.get("subject", ())
        for key, value in rdn
    ]
    return ",".join(reversed(parts)) or None


class _TlsScope:
    """Puts the client certificate's subject into every request of one connection."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = scope.setdefault("extensions", {})
        extensions["tls"] = {**extensions.get("tls", {}), "client_cert_name": self.name}
        await self.app(scope, receive, send)
