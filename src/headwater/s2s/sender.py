"""SiteToSiteSender: what every processor that sends to a hub's input port shares.

The RemoteProcessGroup (FlowFiles) and the SiteToSiteProvenanceReportingTask
(provenance events) both hold a ``SiteToSiteClient`` to the hubs, opened when
scheduled and closed when stopped, with the same timeout, TLS and token settings.
Each declares the hubs' URLs, the port and compression under its own NiFi names
(``Target URLs`` / ``Destination URL``, ``Port Name`` / ``Input Port Name``, ``Use
Compression`` / ``Compress Events``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from headwater.context import ProcessContext
from headwater.processor import Processor, Property
from headwater.s2s.client import SiteToSiteClient
from headwater.services.ssl import StandardSSLContextService
from headwater.units import parse_duration, parse_http_url

ClientFactory = Callable[..., SiteToSiteClient]


def parse_target_urls(text: str) -> tuple[str, ...]:
    urls = tuple(u.strip().rstrip("/") for u in text.split(",") if u.strip())
    if not urls:
        raise ValueError("expected one or more http:// or https:// URLs, separated by commas")
    return tuple(parse_http_url(url) for url in urls)


def parse_port_name(text: str) -> str:
    if not text.strip() or any(c in text for c in "/?#"):
        raise ValueError(f"expected a port name without '/', '?' or '#', got {text!r}")
    return text.strip()


class SiteToSiteSender(Processor):
    """A processor with a site-to-site client to the hubs while it is scheduled."""

    urls: ClassVar[Property[tuple[str, ...]]]
    port_name: ClassVar[Property[str]]
    compression: ClassVar[Property[bool]]

    timeout = Property(
        "Communications Timeout",
        "The longest wait for a hub to answer any request",
        default="30 sec",
        required=True,
        parse=parse_duration,
    )
    ssl_service = Property[StandardSSLContextService](
        "SSL Context Service",
        "Trust (and a client certificate) for https:// hubs",
        service=StandardSSLContextService,
    )
    token = Property(
        "Bearer Token",
        "Sent as 'Authorization: Bearer <token>' to hubs that require one",
        sensitive=True,
    )

    client_factory: ClientFactory = SiteToSiteClient
    """How the client is made (a test may give one with another transport)."""

    def __init__(self) -> None:
        self.client: SiteToSiteClient | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        tls = context.get(self.ssl_service)
        self.client = self.client_factory(
            context[self.urls],
            context[self.port_name],
            timeout=context[self.timeout],
            compression=context[self.compression],
            ssl_context=tls.create_client_context() if tls is not None else None,
            token=context.get(self.token),
        )

    def on_stopped(self, context: ProcessContext) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()
