"""ImportProvenanceEvents: the hub's side of provenance shipped from devices.

An agent's SiteToSiteProvenanceReportingTask sends JSON arrays of NiFi's provenance
reporting records to a hub input port; this processor, downstream of that port, adds
each record to the hub's provenance repository as the event it was on the device
(the device's time, FlowFile uuid, parents and children), marked with the agent it
came from (``origin``; component ids prefixed ``<agent>/``). A FlowFile keeps its
uuid across site-to-site, so the hub's lineage of anything that came from a device
then starts at the device's CREATE (``repository/lineage.py`` draws the hop).

Exactly once: each event's ``eventId`` is written as a receipt in the same SQLite
transaction as the events (``ProcessSession.add_receipts``), and an event whose
receipt is there already, or earlier in the same batch, is skipped. So a batch sent
again (a lost confirm, an agent restarted before it saved its position) adds nothing
twice. Receipts are aged off with the input ports' (24 hours by default).
"""

from __future__ import annotations

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.provenance import ProvenanceEvent
from headwater.repository.provenance_export import RecordError, event_from_record

_RECEIPT_TAG = b"\x00provenance"


def _receipt(record: object) -> bytes:
    """The receipt key of a record's ``eventId``: its 16 bytes when it is a uuid."""
    event_id = record.get("eventId") if isinstance(record, dict) else None
    if not isinstance(event_id, str) or not event_id:
        raise RecordError(f"'eventId' must be non-empty text, got {event_id!r}")
    try:
        raw = bytes.fromhex(event_id.replace("-", "")) if len(event_id) == 36 else b""
    except ValueError:
        raw = b""
    return (raw or event_id.encode()) + _RECEIPT_TAG


class ImportProvenanceEvents(Processor):
    """Adds the provenance events in each FlowFile (a JSON array of NiFi provenance
    reporting records, as SiteToSiteProvenanceReportingTask sends) to this hub's
    provenance repository, marked with the system they came from, each event once.
    The FlowFile then goes to success; one that is not such an array, to failure."""

    tags = ("provenance", "lineage", "import", "site-to-site", "reporting", "agent")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Batches whose events were imported")
    FAILURE = Relationship("failure", "Content that is not a JSON array of provenance records")

    origin = Property(
        "Origin",
        "Marks the imported events (and prefixes their component ids): default, each"
        " record's platform (the agent's id)",
        expression=True,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        seen: set[bytes] = set()
        for flowfile in session.get_batch(100):
            try:
                events, keys = self._read(context, session, flowfile)
            except (RecordError, orjson.JSONDecodeError) as exc:
                route_to_failure(context, session, flowfile, self.FAILURE, exc)
                continue
            stored = session.repositories.flowfiles.receipts_among(keys)
            fresh = [
                (event, key)
                for event, key in zip(events, keys, strict=True)
                if key not in stored and key not in seen
            ]
            seen.update(key for _, key in fresh)
            session.provenance.add_foreign([event for event, _ in fresh])
            session.add_receipts([key for _, key in fresh])
            session.adjust_counter("Provenance events imported", len(fresh))
            if len(fresh) < len(events):
                session.adjust_counter(
                    "Provenance events already imported", len(events) - len(fresh)
                )
            session.transfer(flowfile, self.SUCCESS)

    def _read(
        self, context: ProcessContext, session: ProcessSession, flowfile: FlowFile
    ) -> tuple[list[ProvenanceEvent], list[bytes]]:
        records = orjson.loads(session.read(flowfile))
        if not isinstance(records, list):
            raise RecordError(f"expected a JSON array of events, got {type(records).__name__}")
        origin = context.evaluate(self.origin, flowfile) if context.is_set(self.origin) else None
        events, keys = [], []
        for index, record in enumerate(records):
            try:
                events.append(event_from_record(record, origin or None))
                keys.append(_receipt(record))
            except RecordError as exc:
                raise RecordError(f"event {index}: {exc}") from None
        return events, keys
