"""Provenance events: what happened to each FlowFile, with NiFi's event types.

Sessions build these; processors never do (they describe transit URIs and details
through the session), so lineage cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from headwater.flowfile import FlowFile


class ProvenanceEventType(StrEnum):
    """NiFi's provenance event types, with NiFi's meanings."""

    CREATE = "CREATE"  # made from nothing inside the flow (GenerateFlowFile)
    RECEIVE = "RECEIVE"  # data received from an outside system
    FETCH = "FETCH"  # content of an existing FlowFile replaced by outside data
    SEND = "SEND"  # data sent to an outside system
    UPLOAD = "UPLOAD"  # a file uploaded to an outside system
    REMOTE_INVOCATION = "REMOTE_INVOCATION"  # an outside system was called (no data sent)
    DOWNLOAD = "DOWNLOAD"  # a user downloaded the content
    DROP = "DROP"  # the FlowFile ended (auto-terminated or removed)
    EXPIRE = "EXPIRE"  # the FlowFile aged out of a queue
    FORK = "FORK"  # children made from one parent
    JOIN = "JOIN"  # one child made from several parents
    CLONE = "CLONE"  # an exact copy made
    CONTENT_MODIFIED = "CONTENT_MODIFIED"
    ATTRIBUTES_MODIFIED = "ATTRIBUTES_MODIFIED"
    ROUTE = "ROUTE"  # transferred to a relationship (with a reason)
    ADDINFO = "ADDINFO"  # more information, e.g. an alternate identifier
    REPLAY = "REPLAY"  # a FlowFile replayed from an earlier event


@dataclass(slots=True)
class ProvenanceEvent:
    """One event. ``event_id`` is assigned by the repository (-1 before).

    ``attributes`` are the FlowFile's attributes after the event and
    ``previous_attributes`` only those that changed, with their old values (absent
    keys were added). Content is referenced by claim id, offset and size (claim 0 means
    none); ``previous_*`` are the content before a CONTENT_MODIFIED/FETCH.
    """

    event_type: ProvenanceEventType
    flowfile_uuid: str
    component_id: str
    component_type: str
    timestamp: int  # millis since epoch
    attributes: dict[str, str]
    entry_date: int = 0
    lineage_start: int = 0
    size: int = 0
    claim: int = 0
    offset: int = 0
    previous_attributes: dict[str, str] = field(default_factory=dict)
    previous_claim: int = 0
    previous_offset: int = 0
    previous_size: int = 0
    parent_uuids: tuple[str, ...] = ()
    child_uuids: tuple[str, ...] = ()
    relationship: str | None = None
    details: str | None = None
    transit_uri: str | None = None
    source_system_flowfile_id: str | None = None
    alternate_identifier_uri: str | None = None
    event_duration: int = 0  # millis
    event_id: int = -1
    origin: str | None = None  # the system that recorded it, when not this one (an agent)

    @classmethod
    def of(
        cls,
        kind: ProvenanceEventType,
        flowfile: FlowFile,
        component_id: str,
        component_type: str,
        timestamp: int,
        **extra: Any,
    ) -> ProvenanceEvent:
        """An event about ``flowfile`` as it is: its attributes, dates and content."""
        return cls(
            kind,
            flowfile.uuid,
            component_id,
            component_type,
            timestamp,
            flowfile.attributes,
            entry_date=flowfile.entry_date,
            lineage_start=flowfile.lineage_start,
            size=flowfile.size,
            claim=flowfile.claim,
            offset=flowfile.offset,
            **extra,
        )

    def to_json(self) -> dict[str, Any]:
        """The API shape (camelCase, as NiFi's REST API names them)."""
        return {
            "eventId": self.event_id,
            "eventType": str(self.event_type),
            "eventTime": self.timestamp,
            "flowFileUuid": self.flowfile_uuid,
            "componentId": self.component_id,
            "componentType": self.component_type,
            "fileSize": self.size,
            "entryDate": self.entry_date,
            "lineageStartDate": self.lineage_start,
            "attributes": self.attributes,
            "previousAttributes": self.previous_attributes,
            "parentUuids": list(self.parent_uuids),
            "childUuids": list(self.child_uuids),
            "relationship": self.relationship,
            "details": self.details,
            "transitUri": self.transit_uri,
            "sourceSystemFlowFileId": self.source_system_flowfile_id,
            "alternateIdentifierUri": self.alternate_identifier_uri,
            "eventDuration": self.event_duration,
            "contentAvailable": self.claim != 0,
            "origin": self.origin,
        }


@dataclass(slots=True)
class EventBatch:
    """Events of one kind for many FlowFiles that crossed to or from one place at once
    (thousands per site-to-site transaction), kept as columns until they are written:
    one object per transaction instead of one per FlowFile. Each of its events is what
    ``ProvenanceEvent.of`` makes of its FlowFile with these fields (``events``)."""

    event_type: ProvenanceEventType
    flowfiles: Sequence[FlowFile]
    component_id: str
    component_type: str
    timestamp: int
    transit_uri: str | None
    details: str | None = None
    event_duration: int = 0
    sources: Sequence[str | None] = ()  # source system FlowFile ids, one per FlowFile
    unchanged: bool = False  # queued FlowFiles as they were taken: previous content = content
    first_id: int = -1  # assigned by the repository; the batch's ids run on from it

    def __len__(self) -> int:
        return len(self.flowfiles)

    def events(self) -> list[ProvenanceEvent]:
        """The batch as events of their own, with their ids once it has them."""
        sources = self.sources or [None] * len(self.flowfiles)
        events = [
            ProvenanceEvent.of(
                self.event_type,
                ff,
                self.component_id,
                self.component_type,
                self.timestamp,
                transit_uri=self.transit_uri,
                details=self.details,
                event_duration=self.event_duration,
                source_system_flowfile_id=source,
            )
            for ff, source in zip(self.flowfiles, sources, strict=True)
        ]
        if self.unchanged:
            for event in events:
                event.previous_claim, event.previous_offset = event.claim, event.offset
                event.previous_size = event.size
        if self.first_id >= 0:
            for event_id, event in enumerate(events, self.first_id):
                event.event_id = event_id
        return events


Recorded: TypeAlias = ProvenanceEvent | EventBatch
"""What a session records and the repository stores: events, and batches of them."""
