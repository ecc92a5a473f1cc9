"""HubClient: the small HTTP/1.1 client an agent talks to its hubs with (site-to-site, C2).

An agent sends a few requests a second to one or two hubs. The standard library's
``http.client`` does that with kept-alive connections and TLS from a given context;
httpx, with httpcore, h11, anyio, idna and certifi, was 6 MB of a 37 MB agent
(``bench/agent.py``), and a device has little memory to spare.

Connections are pooled per host, so one client may serve several threads. A request
on a kept-alive connection the hub has meanwhile closed is sent once more on a new
one. Everything that keeps an exchange from completing (refused, reset, timed out,
not HTTP) is a ``HubUnreachable``.

A test may give a ``transport``: any callable from ``HubRequest`` to ``HubResponse``,
for instance one that wraps ``HubClient.exchange`` to damage or lose an exchange.
"""

from __future__ import annotations

import functools
import http.client
import json
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from headwater.errors import HeadwaterError

USER_AGENT = "headwater"


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


Transport = Callable[[HubRequest], HubResponse]
_Key = tuple[str, str, int]
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


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
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HubUnreachable(f"not an http(s) URL: {request.url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise HubUnreachable(f"{request.url!r}: {exc}") from None
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        while True:
            connection, reused = self._take(key)
            try:
                connection.request(
                    request.method, target, body=request.content, headers=request.headers
                )
                answer = connection.getresponse()
                body = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if reused and isinstance(exc, _STALE):
                    continue  # the hub had closed this idle connection: a new one
                detail = str(exc) or "no detail"
                raise HubUnreachable(f"{type(exc).__name__}: {detail}") from exc
            if answer.will_close:
                connection.close()
            else:
                self._give(key, connection)
            headers = {name.lower(): value for name, value in answer.getheaders()}
            return HubResponse(answer.status, body, headers)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take(self, key: _Key) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        scheme, host, port = key
        if scheme == "https":
            context = self.ssl_context or default_ssl_context()
            return http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=context
            ), False
        return http.client.HTTPConnection(host, port, timeout=self.timeout), False

    def _give(self, key: _Key, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(connection)


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's trusted CAs, made once per process (a context is about 0.8 MB, and
    an agent holds a client per RemoteProcessGroup, one for provenance and one for C2).
    Hubs with certificates from ``headwater tls init`` are trusted by giving their CA."""
    return ssl.create_default_context()
