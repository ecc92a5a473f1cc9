"""IngestServer: an HTTP/1.1 server that hands whole requests to a processor in batches.

A request costs one httptools parse and one small object: no framework, no ASGI scope,
no task per request (uvicorn's per-request cost was most of the budget, see DESIGN §9).
The server runs its own event loop (uvloop when installed) on a thread of its own.
Complete POSTs to the ingest path wait in a deque; the processor's worker thread takes
them all at once (``take``), stores them in one session, commits, sets each request's
status and calls ``complete``: the loop then writes the responses (one
``call_soon_threadsafe`` per batch), so nothing is acknowledged before it is durable,
and one commit (one fsync) serves every request that arrived meanwhile.

Connections (``connection.py``) answer in request order and answer by themselves what
needs no trigger. ``stop`` answers every request still waiting with 503 and closes
every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from headwater.http.connection import IngestConnection, IngestRequest

try:
    import uvloop

    _new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop is a declared dependency (not on Windows)
    _new_loop = asyncio.new_event_loop

__all__ = ["IngestRequest", "IngestServer"]


class IngestServer:
    """Listens on ``host:port``; POSTs to ``/{base_path}`` wait for ``take``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        base_path: str,
        max_body_size: int,
        max_header_size: int = 8192,
        max_waiting: int = 20_000,
        idle_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        health_check_port: int | None = None,
        health_ssl_context: ssl.SSLContext | None = None,
        on_arrival: Callable[[], None] | None = None,
        authorized: Callable[[str, str], bool] | None = None,
        name: str = "headwater-listen",
    ) -> None:
        base = "/" + base_path.strip("/") if base_path.strip("/") else "/"
        self.host, self.requested_port = host, port
        self.ingest_path = base.encode()
        self.health_paths = frozenset(
            {(base.rstrip("/") + "/healthcheck").encode(), b"/healthcheck"}
        )
        self.max_body_size = max_body_size
        self.max_header_size = max_header_size
        self.max_waiting = max_waiting
        self.idle_timeout = idle_timeout  # a keep-alive connection silent this long closes
        self.ssl_context = ssl_context
        self.health_check_port = health_check_port
        self.health_ssl_context = health_ssl_context or ssl_context
        self.on_arrival = on_arrival
        self._authorized = authorized
        self.name = name
        self.port = 0  # the bound port, once started
        self.health_port = 0
        self._waiting: deque[IngestRequest] = deque()
        self.connections: set[IngestConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._thread: threading.Thread | None = None
        self._responses: dict[tuple[int, bool], bytes] = {}
        self._date = b""

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"

    # -- the processor's side (any thread) -----------------------------------------------

    def pending(self) -> bool:
        """Whether requests are waiting to be taken."""
        return bool(self._waiting)

    def take(self, limit: int) -> list[IngestRequest]:
        """Up to ``limit`` waiting requests, oldest first; the caller must ``complete``
        every one of them."""
        waiting, out = self._waiting, []
        try:
            for _ in range(limit):
                out.append(waiting.popleft())
        except IndexError:
            pass
        return out

    def complete(self, requests: Iterable[IngestRequest]) -> None:
        """Answer these requests with the status each carries (from any thread)."""
        batch = list(requests)
        if batch and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the
                self._loop.call_soon_threadsafe(self._answer, batch)  # connections are gone

    def authorized(self, subject_dn: str, issuer_dn: str) -> bool:
        return self._authorized is None or self._authorized(subject_dn, issuer_dn)

    # -- the loop's side -----------------------------------------------------------------

    def arrive(self, request: IngestRequest) -> None:
        waiting = self._waiting
        if len(waiting) >= self.max_waiting:
            request._response = self.response(
                HTTPStatus.SERVICE_UNAVAILABLE,
                b"too many requests waiting",
                b"Retry-After: 1\r\n",
                request.keep_alive,
            )
            assert request._connection is not None
            request._connection.flush()
            return
        was_empty = not waiting
        waiting.append(request)
        if was_empty and self.on_arrival is not None:
            self.on_arrival()

    def _answer(self, batch: list[IngestRequest]) -> None:
        connections = set()
        cached = self._responses
        for request in batch:
            status, keep_alive = request.status, request.keep_alive
            if request.reason:
                body = request.reason.encode()
                request._response = self.response(status, body, b"", keep_alive)
            else:
                response = cached.get((status, keep_alive))
                if response is None:
                    response = cached[status, keep_alive] = self.response(
                        status, b"", b"", keep_alive
                    )
                request._response = response
            connections.add(request._connection)
        for connection in connections:
            if connection is not None:
                connection.flush()

    def response(self, status: int, body: bytes, extra: bytes, keep_alive: bool) -> bytes:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        head = (
            f"HTTP/1.1 {status} {phrase}\r\n".encode()
            + self._date
            + extra
            + (b"" if keep_alive else b"Connection: close\r\n")
        )
        if body:
            head += b"Content-Type: text/plain; charset=utf-8\r\n"
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body

    def _tick(self) -> None:
        """Once a second: refresh the Date header (and the responses that carry it), and
        close connections idle past the timeout with nothing owed to them."""
        self._date = f"Date: {formatdate(usegmt=True)}\r\n".encode()
        self._responses.clear()
        quiet_since = time.monotonic() - self.idle_timeout
        for connection in list(self.connections):
            if connection.last_active < quiet_since and not connection.unanswered:
                connection.close()
        if self._loop is not None:
            self._loop.call_later(min(1.0, self.idle_timeout), self._tick)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Bind and start serving; raises ``OSError`` when the port cannot be bound."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name=self.name, daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise OSError(f"{self.name}: server did not start within {timeout} s")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind(loop))
        except BaseException as exc:  # reported to start()
            failure.append(exc)
            for server in self._servers:
                server.close()
            loop.close()
            ready.set()
            return
        self._loop = loop
        self._tick()
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        options: dict[str, Any] = {"reuse_address": True, "backlog": 2048}
        if self.ssl_context is not None:
            options["ssl"] = self.ssl_context
        main = await loop.create_server(
            lambda: IngestConnection(self, False), self.host, self.requested_port, **options
        )
        self._servers.append(main)
        self.port = main.sockets[0].getsockname()[1]
        if self.health_check_port is not None:
            if self.health_ssl_context is not None:
                options["ssl"] = self.health_ssl_context
            health = await loop.create_server(
                lambda: IngestConnection(self, True), self.host, self.health_check_port, **options
            )
            self._servers.append(health)
            self.health_port = health.sockets[0].getsockname()[1]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, answer waiting requests 503, close every connection."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None
        done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            done.result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread = None

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()
        waiting = self.take(len(self._waiting) + 1)
        for request in waiting:
            request.status, request.reason = HTTPStatus.SERVICE_UNAVAILABLE, "server stopping"
            request.keep_alive = False
        self._answer(waiting)
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()  # sends what is buffered, then closes
        await asyncio.sleep(0)
