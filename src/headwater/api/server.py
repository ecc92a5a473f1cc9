"""The hub's server: ``ApiServer`` is the shared ``AsgiServer`` (``headwater.http.asgi``:
uvicorn on a thread of its own, HTTP or HTTPS, the client certificate's subject in each
request), and ``server_ssl_context`` makes its TLS context from the files ``headwater
tls init`` writes."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from headwater.http.asgi import AsgiServer

DEFAULT_HOST = "127.0.0.1"


class ApiServer(AsgiServer):
    """The hub's API on ``host:port`` (8080 by default)."""

    def __init__(self, app: ASGIApp, host: str = DEFAULT_HOST, port: int = 8080, **options: Any):
        super().__init__(app, host, port, name="API", **options)


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
