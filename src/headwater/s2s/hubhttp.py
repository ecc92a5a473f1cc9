"""HubClient: the small HTTP/1.1 client an agent talks to its hubs with (site-to-site, C2).

An agent sends a few requests a second to one or two hubs, and a device has little
memory to spare: httpx (with httpcore, h11, anyio, idna and certifi) was 6 MB of a
37 MB agent, and ``http.client`` imports ``ssl`` and ``email`` whether or not a hub
speaks TLS (libssl and libcrypto are 4 MB resident). This client speaks the part of
HTTP/1.1 the hub's API answers with (Content-Length or chunked bodies, keep-alive) over
a socket, and imports ``ssl`` only for an https:// hub (``bench/agent.py``).

Connections are pooled per host, so one client may serve several threads. A request on
a kept-alive connection the hub has meanwhile closed is sent once more on a new one.
Everything that keeps an exchange from completing (refused, reset, timed out, not
HTTP) is a ``HubUnreachable``.

A test may give a ``transport``: any callable from ``HubRequest`` to ``HubResponse``,
for instance one that wraps ``HubClient.exchange`` to damage or lose an exchange.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from headwater.errors import HeadwaterError

if TYPE_CHECKING:
    import ssl

USER_AGENT = "headwater"
_MAX_HEAD = 64 * 1024  # a status line and headers longer than this are not a hub's


class HubUnreachable(HeadwaterError):
    """The exchange did not complete: nothing is known of what the hub did with it."""


@dataclass
class HubRequest:
    method: str
    url: str  # absolute, with its query
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


@dataclass
class HubResponse:
    status_code: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.content)

    def detail(self) -> str:
        """Why the hub answered so: its JSON body's ``detail`` (or ``message``), else
        the start of the body."""
        try:
            body = self.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and (reason := body.get("detail") or body.get("message")):
            return str(reason)
        return self.text[:200]


Transport = Callable[[HubRequest], HubResponse]
_Key = tuple[str, str, int]


class _Stale(Exception):
    """A kept-alive connection was closed by the hub before it answered anything."""


class _Connection:
    """One socket to a hub, with what was read past the last response."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_head(self) -> bytes:
        return self._read_until(b"\r\n\r\n")

    def read_line(self) -> bytes:
        return self._read_until(b"\r\n")

    def read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_to_end(self) -> bytes:
        while chunk := self.sock.recv(65536):
            self.buffer += chunk
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def _read_until(self, end: bytes) -> bytes:
        while (at := self.buffer.find(end)) < 0:
            if len(self.buffer) > _MAX_HEAD:
                raise ValueError("the response's head is too long")
            self._fill()
        data = bytes(self.buffer[:at])
        del self.buffer[: at + len(end)]
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the hub closed the connection")
        self.buffer += chunk


class HubClient:
    """Requests to hubs with common ``headers``, each step bounded by ``timeout``."""

    def __init__(
        self,
        headers: Mapping[str, str],
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.headers = {"User-Agent": USER_AGENT, **headers}
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.transport: Transport = transport or self.exchange
        self._idle: dict[_Key, list[_Connection]] = {}
        self._lock = threading.Lock()

    def post(
        self,
        url: str,
        *,
        content: bytes = b"",
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> HubResponse:
        return self.request("POST", url, content=content, json_body=json_body, headers=headers)

    def delete(self, url: str, *, params: Mapping[str, object] | None = None) -> HubResponse:
        return self.request("DELETE", url, params=params)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, object] | None = None,
        content: bytes = b"",
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> HubResponse:
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        merged = {**self.headers, **(headers or {})}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            merged.setdefault("Content-Type", "application/json")
        return self.transport(HubRequest(method, url, merged, content))

    def exchange(self, request: HubRequest) -> HubResponse:
        """Send ``request`` over the network and read the whole answer."""
        parts = urlsplit(request.url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise HubUnreachable(f"{request.url!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HubUnreachable(f"not an http(s) URL: {request.url!r}")
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        lines.append(f"Content-Length: {len(request.content)}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.content
        while True:
            connection, reused = self._take(key)
            try:
                response, keep = _exchange(connection, message, request.method, reused)
            except _Stale:
                connection.close()
                continue  # the hub had closed this idle connection: a new one
            except (OSError, ValueError) as exc:
                connection.close()
                detail = str(exc) or "no detail"
                raise HubUnreachable(f"{type(exc).__name__}: {detail}") from exc
            if keep:
                self._give(key, connection)
            else:
                connection.close()
            return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take(self, key: _Key) -> tuple[_Connection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        scheme, host, port = key
        name = _host_bytes(host)
        try:
            # getaddrinfo takes the name as bytes too (typeshed says str only)
            sock = socket.create_connection((name, port), timeout=self.timeout)  # type: ignore[arg-type]
        except OSError as exc:
            raise HubUnreachable(f"{type(exc).__name__}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            context = self.ssl_context or default_ssl_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=name)
            except OSError as exc:  # ssl.SSLError is an OSError
                sock.close()
                raise HubUnreachable(f"{type(exc).__name__}: {exc}") from exc
        return _Connection(sock), False

    def _give(self, key: _Key, connection: _Connection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(connection)


def _exchange(
    connection: _Connection, message: bytes, method: str, reused: bool
) -> tuple[HubResponse, bool]:
    """Send one request and read its response; and whether the connection stays open."""
    try:
        connection.send(message)
        head = connection.read_head()
    except (ConnectionResetError, BrokenPipeError) as exc:
        if reused and not connection.buffer:
            raise _Stale from exc
        raise
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x response: {status_line[:80]!r}")
    status = int(rest.split(" ", 1)[0])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    connection_header = headers.get("connection", "").lower()
    keep = "close" not in connection_header and (
        version == "HTTP/1.1" or "keep-alive" in connection_header
    )
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(connection)
    elif "content-length" in headers:
        body = connection.read_exactly(int(headers["content-length"]))
    else:
        body, keep = connection.read_to_end(), False
    return HubResponse(status, body, headers), keep


def _read_chunked(connection: _Connection) -> bytes:
    parts = []
    while size := int(connection.read_line().split(b";", 1)[0], 16):
        parts.append(connection.read_exactly(size))
        connection.read_line()  # the CRLF after each chunk
    while connection.read_line():  # trailers, up to the empty line
        pass
    return b"".join(parts)


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's trusted CAs, made once per process (a context is about 0.8 MB, and
    an agent holds a client per RemoteProcessGroup, one for provenance and one for C2).
    Hubs with certificates from ``headwater tls init`` are trusted by giving their CA."""
    import ssl

    return ssl.create_default_context()


def _host_bytes(host: str) -> bytes:
    """The host as ``getaddrinfo`` and SNI take it: given text, both encode it with the
    ``idna`` codec, whose import (with ``stringprep`` and ``unicodedata``) costs a
    device about 0.3 MB; an ASCII name needs none of that."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host.encode("idna")
