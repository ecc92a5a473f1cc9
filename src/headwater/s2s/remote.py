"""RemoteProcessGroup: sends the FlowFiles queued to it to a hub's input port.

Each transaction is opened first (so while every hub is away the queue is left
alone: no FlowFile taken, no content read), then takes up to Batch Count FlowFiles
(fewer when Batch Size would be passed), frames their attributes and content into one
stream, sends it, checks the CRC32 the hub answers, confirms, and only once the hub
has committed records a SEND per FlowFile (the transaction URL as transit URI; the
FlowFile keeps its uuid, which the hub's RECEIVE carries too, so lineage links across)
and removes them from the session. Any failure leaves every FlowFile of the
transaction queued (at-least-once): the processor yields, logs a warning (a bulletin)
and sends again later; the hub's receipts turn a repeated transaction into
exactly-once storage.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Property, flag
from headwater.s2s.client import SiteToSiteClient, SiteToSiteError
from headwater.s2s.protocol import StreamEncoder
from headwater.s2s.sender import SiteToSiteSender, parse_port_name, parse_target_urls
from headwater.units import (
    parse_data_size,
    parse_duration,
    parse_positive_int,
)

HTTP = "HTTP"


class RemoteProcessGroup(SiteToSiteSender):
    """Sends FlowFiles to an input port of one or more remote hubs over site-to-site
    (HTTP or HTTPS), in batches, each confirmed only after the hub has committed it.

    Several Target URLs give failover and load balance. A FlowFile leaves this flow
    (SEND, then DROP) only once a hub has confirmed it; on any failure it stays queued
    and is sent again, and the hub stores a FlowFile it already has only once.
    """

    tags = ("site-to-site", "s2s", "remote", "send", "agent", "minifi")
    input_requirement = InputRequirement.REQUIRED

    urls = Property(
        "Target URLs",
        "The hubs' URLs (e.g. https://hub:8080), comma-separated: tried in turn on failure,"
        " and taken in turn per transaction",
        display_name="URLs",
        required=True,
        parse=parse_target_urls,
    )
    port_name = Property(
        "Port Name", "The name of the hub's input port", required=True, parse=parse_port_name
    )
    transport = Property(
        "Transport Protocol",
        "Only HTTP (which is HTTPS with an SSL Context Service) is spoken",
        default=HTTP,
        required=True,
        allowed=(HTTP,),
    )
    batch_count = Property(
        "Batch Count",
        "The most FlowFiles one transaction carries",
        default="10000",
        required=True,
        parse=parse_positive_int,
    )
    batch_size = Property(
        "Batch Size",
        "The most content one transaction carries (a larger FlowFile goes alone)",
        default="16 MB",
        required=True,
        parse=parse_data_size,
    )
    batch_duration = Property(
        "Batch Duration",
        "How long one trigger keeps sending transactions back to back",
        default="1 sec",
        required=True,
        parse=parse_duration,
    )
    compression = flag(
        "Use Compression",
        "Deflate each transaction's stream",
        default="false",
        required=True,
    )

    def __init__(self) -> None:
        super().__init__()
        self._encoder = StreamEncoder()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        client = self.client
        if client is None:
            return
        deadline = time.monotonic() + context[self.batch_duration]
        count, size = context[self.batch_count], context[self.batch_size]
        while True:
            sent = self._transaction(context, session, client, count, size)
            if sent < count or time.monotonic() >= deadline:
                return

    def _transaction(
        self,
        context: ProcessContext,
        session: ProcessSession,
        client: SiteToSiteClient,
        count: int,
        size: int,
    ) -> int:
        """One transaction, committed; how many FlowFiles it carried (0 on failure)."""
        batch: list[FlowFile] = []

        def stream() -> bytes:  # called once a hub has opened the transaction
            batch.extend(self._take(session, count, size))
            contents = session.read_many(batch)
            return self._encoder.encode(zip((f.attributes for f in batch), contents, strict=True))

        try:
            result = client.send(stream, count)
        except SiteToSiteError as exc:
            session.rollback()
            context.logger.warning(
                "%s: FlowFiles stay queued (%d taken), to be sent again: %s",
                context.id,
                len(batch),
                exc,
            )
            context.yield_()
            return 0
        session.provenance.send_many(
            batch,
            result.transaction_url,
            details=f"Remote Host={urlsplit(result.url).hostname}",
            millis=result.millis,
        )
        session.remove_all(batch)
        if batch:
            session.adjust_counter("FlowFiles sent", len(batch))
            session.commit()
        return len(batch)

    def _take(self, session: ProcessSession, count: int, size: int) -> list[FlowFile]:
        """Up to ``count`` FlowFiles within ``size`` bytes (at least one); the rest of
        what was taken goes back to its queue."""
        batch = session.get_batch(count)
        total = 0
        for index, ff in enumerate(batch):
            total += ff.size
            if total > size and index > 0:
                for extra in batch[index:]:
                    session.transfer(extra)
                return batch[:index]
        return batch
