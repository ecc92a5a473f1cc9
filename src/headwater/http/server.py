"""IngestServer: an HTTP/1.1 server that hands whole requests to a processor in batches.

A request costs one httptools parse and one small object: no framework, no ASGI scope,
no task per request (uvicorn's per-request cost was most of the budget, see DESIGN §9).
The server runs its own event loop (uvloop when installed) on a thread of its own.
Complete POSTs to the ingest path wait in a deque; the processor's worker thread takes
them all at once (``take``), stores them in one session, commits, sets each request's
status and calls ``complete``: the loop then writes the responses (one
``call_soon_threadsafe`` per batch), so nothing is acknowledged before it is durable,
and one commit (one fsync) serves every request that arrived meanwhile.

Each connection answers in request order, so pipelined requests are safe; a connection
with many unanswered requests stops reading until they are answered. Health checks,
HEAD, 404, 405, 413 and 431 are answered by the loop itself. ``stop`` answers every
request still waiting with 503 and closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, cast

import httptools

try:
    import uvloop

    _new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop is a declared dependency (not on Windows)
    _new_loop = asyncio.new_event_loop

__all__ = ["IngestRequest", "IngestServer"]

INGEST, ANSWERED = 1, 2
_MAX_UNANSWERED = 64  # per connection: past this, stop reading until some are answered
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_SHORT_DN = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "emailAddress": "EMAILADDRESS",
}


class IngestRequest:
    """One complete request for the ingest path. The processor sets ``status`` (and
    ``reason``, sent as a text body) before handing it back with ``complete``."""

    __slots__ = (
        "_connection",
        "_response",
        "body",
        "client_host",
        "client_port",
        "content_type",
        "headers",
        "host",
        "issuer_dn",
        "keep_alive",
        "millis",
        "reason",
        "status",
        "subject_dn",
        "target",
    )

    def __init__(self, connection: _Connection | None, target: str, keep_alive: bool) -> None:
        self._connection = connection
        self._response: bytes | None = None
        self.target = target  # the request URI as sent, with any query
        self.keep_alive = keep_alive
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.content_type: str | None = None
        self.host: str | None = None  # the Host header
        self.client_host = ""
        self.client_port = 0
        self.subject_dn: str | None = None
        self.issuer_dn: str | None = None
        self.millis = 0  # from the first byte of the request to its last
        self.status = 200
        self.reason = ""


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, answers them in order."""

    def __init__(self, server: IngestServer, health_only: bool) -> None:
        self.server = server
        self.health_only = health_only
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.unanswered: deque[IngestRequest] = deque()
        self.paused = self.discarding = False
        self.peer: tuple[str, int] = ("", 0)
        self.subject_dn: str | None = None
        self.issuer_dn: str | None = None
        self.forbidden = False
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.body: list[bytes] = []
        self.size = 0
        self.route = 0
        self.early: tuple[int, bytes, bytes] | None = None  # answer decided before the body
        self.started = time.monotonic_ns()

    # -- transport events ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server._connections.add(self)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = (str(peer[0]), int(peer[1]))
        cert = transport.get_extra_info("peercert")
        if cert:
            self.subject_dn = _dn(cert.get("subject", ()))
            self.issuer_dn = _dn(cert.get("issuer", ()))
            self.forbidden = not self.server.authorized(self.subject_dn, self.issuer_dn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self.transport = None
        self.unanswered.clear()  # requests already waiting are still stored, unanswered

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._give_up(HTTPStatus.BAD_REQUEST, b"protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            self._give_up(HTTPStatus.BAD_REQUEST, f"malformed HTTP request: {exc}".encode())

    # -- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.discarding:
            return
        server = self.server
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if self.header_bytes > server.max_header_size:
            self.early = (HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, b"", b"")
        elif path in server.health_paths:
            if method in (b"GET", b"HEAD"):
                self.early = (HTTPStatus.OK, b"" if method == b"HEAD" else b"OK", b"")
            else:
                self.early = (HTTPStatus.METHOD_NOT_ALLOWED, b"", b"Allow: GET, HEAD\r\n")
        elif path != server.ingest_path or self.health_only:
            self.early = (HTTPStatus.NOT_FOUND, b"", b"")
        elif method == b"POST":
            if self.forbidden:
                self.early = (HTTPStatus.FORBIDDEN, b"client certificate not authorized", b"")
            else:
                self.route = INGEST
                for name, value in self.headers:
                    lower = name.lower()
                    if lower == b"content-length" and value.isdigit():
                        if int(value) > server.max_body_size:
                            self._too_large()
                            return
                    elif (
                        lower == b"expect"
                        and value.lower() == b"100-continue"
                        and not self.unanswered
                        and self.transport is not None
                    ):
                        self.transport.write(_CONTINUE)
        elif method == b"HEAD":
            self.early = (HTTPStatus.OK, b"", b"")
        else:
            allow = b"Allow: POST, HEAD\r\n"
            self.early = (HTTPStatus.METHOD_NOT_ALLOWED, b"", allow)

    def on_body(self, body: bytes) -> None:
        if self.route == INGEST:
            self.size += len(body)
            if self.size > self.server.max_body_size:
                self._too_large()
            else:
                self.body.append(body)

    def on_message_complete(self) -> None:
        if self.discarding:
            return
        keep_alive = self.parser.should_keep_alive()
        request = IngestRequest(self, self.url.decode("latin-1"), keep_alive)
        self.unanswered.append(request)
        if self.early is not None:
            status, body, extra = self.early
            request._response = self.server.response(status, body, extra, keep_alive)
            self.flush()
        elif self.route == INGEST:
            request.headers = self.headers
            request.body = b"".join(self.body) if len(self.body) != 1 else self.body[0]
            for name, value in self.headers:
                lower = name.lower()
                if lower == b"content-type":
                    request.content_type = value.decode("latin-1")
                elif lower == b"host":
                    request.host = value.decode("latin-1")
            request.client_host, request.client_port = self.peer
            request.subject_dn, request.issuer_dn = self.subject_dn, self.issuer_dn
            request.millis = (time.monotonic_ns() - self.started) // 1_000_000
            self.server._arrive(request)
        if len(self.unanswered) >= _MAX_UNANSWERED and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True

    # -- answering -----------------------------------------------------------------------

    def _too_large(self) -> None:
        limit = self.server.max_body_size
        self._give_up(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {limit} bytes".encode()
        )

    def _give_up(self, status: int, body: bytes) -> None:
        """Answer ``status`` after what is already owed, then close: the rest of the
        stream cannot be trusted (or is not worth reading)."""
        self.discarding = True
        self.route = 0
        request = IngestRequest(self, "", False)
        request._response = self.server.response(status, body, b"", False)
        self.unanswered.append(request)
        self.flush()

    def flush(self) -> None:
        """Write every response that is ready, in request order."""
        transport = self.transport
        if transport is None:
            return
        out: list[bytes] = []
        close = False
        unanswered = self.unanswered
        while unanswered and unanswered[0]._response is not None:
            request = unanswered.popleft()
            out.append(request._response)  # type: ignore[arg-type]
            if not request.keep_alive:
                close = True
                break
        if out:
            transport.write(b"".join(out) if len(out) > 1 else out[0])
        if close:
            self.discarding = True
            unanswered.clear()
            transport.close()
        elif self.paused and len(unanswered) < _MAX_UNANSWERED // 2:
            self.paused = False
            transport.resume_reading()


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
        ssl_context: ssl.SSLContext | None = None,
        health_check_port: int | None = None,
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
        self.ssl_context = ssl_context
        self.health_check_port = health_check_port
        self.on_arrival = on_arrival
        self._authorized = authorized
        self.name = name
        self.port = 0  # the bound port, once started
        self.health_port = 0
        self._waiting: deque[IngestRequest] = deque()
        self._connections: set[_Connection] = set()
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

    def _arrive(self, request: IngestRequest) -> None:
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
        """Refresh the Date header once a second (and the responses that carry it)."""
        self._date = f"Date: {formatdate(usegmt=True)}\r\n".encode()
        self._responses.clear()
        if self._loop is not None:
            self._loop.call_later(1.0, self._tick)

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
            lambda: _Connection(self, False), self.host, self.requested_port, **options
        )
        self._servers.append(main)
        self.port = main.sockets[0].getsockname()[1]
        if self.health_check_port is not None:
            health = await loop.create_server(
                lambda: _Connection(self, True), self.host, self.health_check_port, **options
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
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.close()  # sends what is buffered, then closes
        await asyncio.sleep(0)


def _dn(name: Any) -> str:
    """An X.509 name from ``ssl``'s tuples as an RFC 2253 string (most specific first)."""
    parts = [f"{_SHORT_DN.get(key, key)}={_escape(value)}" for rdn in name for key, value in rdn]
    return ", ".join(reversed(parts))


def _escape(value: str) -> str:
    return re.sub(r'([,+"\\<>;])', r"\\\1", value)
