"""SiteToSiteClient: sends FlowFile streams to a hub's input port, one transaction each.

A transaction is three requests on one kept-alive connection (``hubhttp``): open it, send the
stream and compare the CRC32 the hub answers with our own, confirm with that checksum.
The hub answers the confirm only after its commit, so a ``TransferResult`` means the
FlowFiles are durable on the hub. Several target URLs give failover (a hub that cannot
be reached, or refuses with 5xx, is skipped for the next) and load balance (after a
success the next transaction starts at the next URL). After a failure the same hub is
asked first again, so a retry of a confirm whose answer was lost meets the hub that
recognises it (receipts are kept per hub).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from headwater.errors import HeadwaterError
from headwater.s2s import protocol
from headwater.s2s.hubhttp import HubClient, HubResponse, HubUnreachable, Transport
from headwater.s2s.protocol import ResponseCode

if TYPE_CHECKING:
    import ssl


class SiteToSiteError(HeadwaterError):
    """A transaction that did not complete: its FlowFiles are to be sent again."""


class ChecksumMismatch(SiteToSiteError):
    """The hub's CRC32 of what arrived is not ours: the stream was damaged in transit."""


@dataclass(frozen=True)
class TransferResult:
    url: str  # the hub's base URL
    transaction_url: str
    count: int
    millis: int
    message: str


class SiteToSiteClient:
    """A client of one input port on one or more hubs (``urls``, tried in turn)."""

    def __init__(
        self,
        urls: Sequence[str],
        port: str,
        *,
        timeout: float = 30.0,
        compression: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        token: str | None = None,
        transport: Transport | None = None,
    ) -> None:
        if not urls:
            raise ValueError("a site-to-site client needs at least one target URL")
        self.urls = [url.rstrip("/") for url in urls]
        self.port = port
        self.compression = compression
        headers = {
            protocol.PROTOCOL_VERSION_HEADER: protocol.PROTOCOL_VERSION,
            protocol.USE_COMPRESSION_HEADER: "true" if compression else "false",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = HubClient(headers, timeout, ssl_context, transport)
        self._next = 0

    def close(self) -> None:
        self._client.close()

    def send(self, stream: bytes | Callable[[], bytes], count: int = 0) -> TransferResult:
        """Send one FlowFile stream of ``count`` FlowFiles; ``SiteToSiteError`` with every
        hub's reason if none took it. ``stream`` may be a callable, called once, after a
        hub has opened a transaction: a sender whose hubs are all away then neither takes
        its FlowFiles nor reads their content (and an empty stream is cancelled)."""
        made: list[bytes] = [stream] if isinstance(stream, bytes) else []

        def payload() -> bytes:
            if not made:
                assert callable(stream)
                made.append(stream())
            return made[0]

        reasons = []
        total = len(self.urls)
        for step in range(total):
            index = (self._next + step) % total
            url = self.urls[index]
            try:
                result = self._transact(url, payload, count)
            except ChecksumMismatch:
                raise
            except (HubUnreachable, SiteToSiteError) as exc:
                reasons.append(f"{url}: {_describe(exc)}")
                continue
            self._next = (index + 1) % total
            return result
        raise SiteToSiteError("no hub took the transaction: " + "; ".join(reasons))

    def _transact(self, url: str, payload: Callable[[], bytes], count: int) -> TransferResult:
        started = time.monotonic()
        client = self._client
        opened = client.post(
            f"{url}/data-transfer/input-ports/{self.port}/transactions",
            headers={protocol.BATCH_COUNT_HEADER: str(count)},
        )
        if opened.status_code != 201 or "location" not in opened.headers:
            raise SiteToSiteError(f"could not open a transaction: {_refusal(opened)}")
        transaction_url = opened.headers["location"]
        stream = payload()
        if not stream:
            with contextlib.suppress(HubUnreachable):
                client.delete(
                    transaction_url, params={"responseCode": ResponseCode.CANCEL_TRANSACTION}
                )
            return TransferResult(url, transaction_url, 0, 0, "nothing to send; cancelled")
        body = protocol.compress(stream) if self.compression else stream
        sent = client.post(
            f"{transaction_url}/flow-files",
            content=body,
            headers={"Content-Type": "application/octet-stream"},
        )
        if sent.status_code not in (200, 202):
            raise SiteToSiteError(f"the FlowFiles were refused: {_refusal(sent)}")
        mine = str(protocol.checksum(stream))
        theirs = sent.text.strip()
        if theirs != mine:
            with contextlib.suppress(HubUnreachable):  # else the hub drops it at its TTL
                client.delete(transaction_url, params={"responseCode": ResponseCode.BAD_CHECKSUM})
            raise ChecksumMismatch(
                f"the hub's CRC32 of what arrived is {theirs}, ours {mine}: the stream was"
                " damaged in transit; cancelled, to be sent again"
            )
        confirmed = client.delete(
            transaction_url,
            params={"responseCode": ResponseCode.CONFIRM_TRANSACTION, "checksum": mine},
        )
        if confirmed.status_code != 200:
            raise SiteToSiteError(f"the confirm was refused: {_refusal(confirmed)}")
        answer = _json(confirmed)
        if answer.get("responseCode") != ResponseCode.TRANSACTION_FINISHED:
            raise SiteToSiteError(f"the hub did not finish the transaction: {answer}")
        millis = int((time.monotonic() - started) * 1000)
        return TransferResult(url, transaction_url, count, millis, str(answer.get("message", "")))


def _json(response: HubResponse) -> dict[str, object]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _refusal(response: HubResponse) -> str:
    return f"{response.status_code} {response.detail()}".strip()


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
