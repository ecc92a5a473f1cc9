"""``ApiServer``: uvicorn serving an ASGI app on a background thread, over HTTP or HTTPS.

The listening socket is bound here, before the thread starts, so a port already in
use fails in ``start`` with an OSError naming the address (rather than uvicorn
exiting its thread), and ``port`` is known even when asked for port 0.

With an ``ssl.SSLContext`` (``server_ssl_context``: the hub's certificate, and the CA
whose client certificates it accepts) the server speaks HTTPS, and each request's
ASGI scope carries the verified client certificate's subject in the TLS extension
(``scope["extensions"]["tls"]["client_cert_name"]``, RFC 4514), which uvicorn does not
fill itself: that is how an agent's certificate names it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

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
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.startup_timeout = startup_timeout
        self.ssl_context = ssl_context
        config = _Config(
            ssl_context,
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
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

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


def server_ssl_context(
    certificate: Path,
    key: Path | None = None,
    trusted: Path | None = None,
    client_auth: str = "WANT",
    password: str | None = None,
) -> ssl.SSLContext:
    """The hub's TLS context: ``certificate`` is a PEM chain (with its key, as ``headwater
    tls init`` writes NAME.pem, or ``key`` apart) or a PKCS12 keystore (.p12/.pfx, its
    password from ``password`` or NAME.p12.password); ``trusted`` is the CA whose client
    certificates are accepted — asked for (WANT) or demanded (REQUIRED).
    Raises ``ConfigurationError`` naming the file that cannot be used."""
    from headwater.context import ServiceContext
    from headwater.services.ssl import NONE, StandardSSLContextService

    if key is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(certificate, key, password)
            if trusted is not None:
                context.load_verify_locations(trusted)
        except (OSError, ssl.SSLError) as exc:
            from headwater.errors import ConfigurationError

            raise ConfigurationError(f"cannot use {certificate} with {key}: {exc}") from exc
    else:
        pkcs12 = certificate.suffix.lower() in (".p12", ".pfx")
        secret_file = certificate.with_name(certificate.name + ".password")
        if pkcs12 and password is None and secret_file.is_file():
            password = secret_file.read_text(encoding="utf-8").strip()
        values = {
            "Keystore Filename": str(certificate),
            "Keystore Type": "PKCS12" if pkcs12 else "PEM",
        }
        if password:
            values["Keystore Password"] = password
        if trusted is not None:
            values |= {"Truststore Filename": str(trusted), "Truststore Type": "PEM"}
        service = StandardSSLContextService()
        service.on_enabled(ServiceContext("tls", StandardSSLContextService, values))
        context = service.create_server_context(NONE)
    context.verify_mode = (
        ssl.CERT_NONE
        if trusted is None or client_auth == "NONE"
        else ssl.CERT_REQUIRED
        if client_auth == "REQUIRED"
        else ssl.CERT_OPTIONAL
    )
    return context
