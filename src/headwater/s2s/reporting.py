"""SiteToSiteProvenanceReportingTask: ships this system's provenance events to a hub.

NiFi's reporting task of that name, as a processor with no input and no relationships
(headwater's engine runs processors only, and a reporting task is one that makes no
FlowFiles): on its schedule it reads the events after the last id it shipped, sends
them as JSON arrays of NiFi's reporting records (``repository.provenance_export``),
one FlowFile per batch, to a hub's input port over site-to-site, and only once the
hub has committed a batch does it move ``last_event_id`` on in its state (durable, in
the FlowFile repository). So a restart neither loses nor skips events; a batch whose
confirm was lost is sent again, and the hub's importer stores each event once.

It records no provenance of its own (no FlowFile of this flow is touched), so shipping
never feeds itself. Events retention removes before they are shipped are lost, as in
NiFi: keep the agent's retention longer than the hub may be away.
"""

from __future__ import annotations

import socket
import time

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import InputRequirement, Property, flag
from headwater.repository.provenance_export import event_uuid, events_after, to_record
from headwater.s2s.client import SiteToSiteError
from headwater.s2s.protocol import encode
from headwater.s2s.sender import SiteToSiteSender, parse_port_name, parse_target_urls
from headwater.units import parse_positive_int

BEGINNING = "beginning-of-stream"
END = "end-of-stream"
STATE_KEY = "last_event_id"
MAX_BATCHES = 100
"""Batches one trigger sends at most, so a long backlog does not hold a worker."""


class SiteToSiteProvenanceReportingTask(SiteToSiteSender):
    """Sends this system's provenance events to a hub's input port over site-to-site,
    as JSON arrays of NiFi's provenance reporting records, in event id order; the last
    id shipped is kept in state, so every event is shipped once confirmed, even across
    restarts. On the hub, an input port feeding ImportProvenanceEvents adds them to the
    hub's provenance, so its lineage reaches back to the device."""

    tags = ("site-to-site", "s2s", "provenance", "reporting", "lineage", "agent", "minifi")
    input_requirement = InputRequirement.FORBIDDEN
    default_schedule = "30 sec"

    urls = Property(
        "Destination URL",
        "The hubs' URLs (e.g. https://hub:8080), comma-separated: tried in turn on failure",
        required=True,
        parse=parse_target_urls,
    )
    port_name = Property(
        "Input Port Name",
        "The hub's input port that takes provenance events",
        required=True,
        parse=parse_port_name,
    )
    batch_size = Property(
        "Batch Size",
        "The most events one transaction carries",
        default="1000",
        required=True,
        parse=parse_positive_int,
    )
    start_position = Property(
        "start-position",
        "Where a task with no state starts: every event still retained, or only events from now on",
        display_name="Start Position",
        default=BEGINNING,
        required=True,
        allowed=(BEGINNING, END),
    )
    platform = Property(
        "Platform",
        "Names this system in every record (the hub marks the events with it): the"
        " agent's id; default: the host name",
    )
    compression = flag(
        "Compress Events", "Deflate each transaction's stream", default="true", required=True
    )

    def __init__(self) -> None:
        super().__init__()
        self._platform = ""
        self._hostname = ""

    def on_scheduled(self, context: ProcessContext) -> None:
        super().on_scheduled(context)
        self._hostname = socket.gethostname()
        self._platform = context.get(self.platform) or self._hostname

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        client = self.client
        if client is None:
            return
        provenance = session.repositories.provenance
        last = self._last_shipped(context, provenance.settled_through())
        limit = context[self.batch_size]
        for _ in range(MAX_BATCHES):
            events = events_after(provenance, last, limit)
            if not events:
                return
            first, final = events[0].event_id, events[-1].event_id
            body = orjson.dumps([to_record(e, self._platform, self._hostname) for e in events])
            attributes = {
                "uuid": event_uuid(f"{self._platform}/batch/{first}", final),
                "filename": f"provenance-{self._platform}-{first}-{final}.json",
                "mime.type": "application/json",
                "record.count": str(len(events)),
                "provenance.platform": self._platform,
            }
            started = time.monotonic()
            try:
                client.send(encode([(attributes, body)]), 1)
            except SiteToSiteError as exc:
                context.logger.warning(
                    "%s: provenance events %d-%d not shipped, to be sent again: %s",
                    context.id,
                    first,
                    final,
                    exc,
                )
                context.yield_()
                return
            context.state.set({STATE_KEY: str(final)})
            context.logger.debug(
                "shipped events %d-%d in %.0f ms", first, final, (time.monotonic() - started) * 1e3
            )
            last = final
            if len(events) < limit:
                return

    def _last_shipped(self, context: ProcessContext, settled: int) -> int:
        """The last event id shipped; with no state, where Start Position says."""
        state = context.state.get()
        text = state.get(STATE_KEY)
        if text is not None and int(text) <= settled:
            return int(text)
        if text is not None:  # ids start again: the provenance repository was replaced
            context.logger.warning(
                "%s: last shipped event id %s is above this repository's newest (%d): the"
                " provenance repository was replaced; shipping from its start",
                context.id,
                text,
                settled,
            )
        last = settled if text is None and context[self.start_position] == END else 0
        context.state.set({STATE_KEY: str(last)})
        return last
