"""One HTTP/1.1 client connection of an ``IngestServer``: httptools parses, requests
are answered in the order they came (pipelining), and complete POSTs to the ingest path
go to the server's waiting deque as ``IngestRequest`` objects.

What needs no trigger is answered here at once: health checks, HEAD, 404, 405, 403 for
a client certificate the patterns refuse, 413 past the body limit (checked on
Content-Length before the body, and on the bytes of a chunked body), 431 as soon as the
request line and headers pass their limit, 400 for what does not parse. A connection
with many unanswered requests stops reading until they are answered, so a fast client
cannot queue without bound.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import httptools

if TYPE_CHECKING:
    from headwater.http.server import IngestServer

INGEST = 1
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


class _HeadTooLarge(Exception):
    """Raised in a parser callback to stop at once; answered 431."""


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

    def __init__(self, connection: IngestConnection | None, target: str, keep_alive: bool) -> None:
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


class IngestConnection(asyncio.Protocol):
    """One client connection: parses requests, answers them in order."""

    def __init__(self, server: IngestServer, health_only: bool) -> None:
        self.server = server
        self.health_only = health_only
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.unanswered: deque[IngestRequest] = deque()
        self.paused = self.discarding = False
        self.peer: tuple[str, int] = ("", 0)
        self.last_active = time.monotonic()
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
        self.server.connections.add(self)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.peer = (str(peer[0]), int(peer[1]))
        cert = transport.get_extra_info("peercert")
        if cert:
            self.subject_dn = _dn(cert.get("subject", ()))
            self.issuer_dn = _dn(cert.get("issuer", ()))
            self.forbidden = not self.server.authorized(self.subject_dn, self.issuer_dn)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None
        self.unanswered.clear()  # requests already waiting are still stored, unanswered

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        if self.discarding:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._give_up(HTTPStatus.BAD_REQUEST, b"protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            if self.header_bytes > self.server.max_header_size:  # raised by on_url/on_header
                limit = self.server.max_header_size
                reason = f"request line and headers over {limit} bytes".encode()
                self._give_up(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, reason)
            else:
                self._give_up(HTTPStatus.BAD_REQUEST, f"malformed HTTP request: {exc}".encode())

    # -- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._count_header_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        self.headers.append((name, value))

    def _count_header_bytes(self, count: int) -> None:
        """Stop parsing as soon as the head passes the limit, before it fills memory."""
        self.header_bytes += count
        if self.header_bytes > self.server.max_header_size:
            raise _HeadTooLarge

    def on_headers_complete(self) -> None:
        if self.discarding:
            return
        server = self.server
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if path in server.health_paths:
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
            self.server.arrive(request)
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

    def close(self) -> None:
        self.discarding = True
        if self.transport is not None:
            self.transport.close()

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


def _dn(name: Any) -> str:
    """An X.509 name from ``ssl``'s tuples as an RFC 2253 string (most specific first)."""
    parts = [f"{_SHORT_DN.get(key, key)}={_escape(value)}" for rdn in name for key, value in rdn]
    return ", ".join(reversed(parts))


def _escape(value: str) -> str:
    return re.sub(r'([,+"\\<>;])', r"\\\1", value)
