"""Provenance events leaving one system for another, in NiFi's reporting JSON.

An agent ships its events to the hub as NiFi's SiteToSiteProvenanceReportingTask does:
JSON arrays of records, one per event, read in event id order after the last id
shipped (``events_after``). The hub turns the records back into events
(``event_from_record``) marked with the agent they came from (``origin``).

A record has NiFi's fields (``eventId``, ``eventOrdinal``, ``eventType``,
``timestampMillis``, ``componentId``, ``entityId`` (the FlowFile uuid), ``entitySize``,
``updatedAttributes``, ``previousAttributes``, ``parentIds``, ``childIds``,
``transitUri``, ``platform``, ...). Two differences, both so that nothing is lost on
the way: ``updatedAttributes`` holds every attribute after the event (NiFi sends the
changed ones), and ``previousAttributes`` only the changed ones' old values, as
headwater stores them. Content stays on the device: the records carry no content
claim, and the hub shows the content as unavailable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from headwater.errors import RepositoryError
from headwater.provenance import ProvenanceEvent, ProvenanceEventType
from headwater.repository.provenance import SqliteProvenanceRepository
from headwater.repository.provenance_rows import SELECT, events_from_rows
from headwater.uuids import uuid5

_EVENT_IDS = "5d6c1bb6-4f0e-4b83-9d43-7a5b1e0c2f41"
"""Namespace of the uuids given to events by (platform, event id): stable, so the same
event sent twice has the same ``eventId``."""


def events_after(
    repository: SqliteProvenanceRepository, after_id: int, limit: int
) -> list[ProvenanceEvent]:
    """Up to ``limit`` events with ids above ``after_id``, oldest first, and only up to
    the repository's settled mark: a session still writing events below it could
    otherwise be skipped for good."""
    through = repository.settled_through()
    if through <= after_id or limit <= 0:
        return []
    try:
        conn = sqlite3.connect(f"file:{repository.path}?mode=ro", uri=True, timeout=30.0)
        with closing(conn):
            rows = conn.execute(  # a block holding ids on both sides of after_id comes whole
                f"{SELECT} WHERE event_id > ? AND event_id <= ? ORDER BY event_id LIMIT ?",
                (after_id, through, limit),
            ).fetchall()
    except sqlite3.Error as exc:
        raise RepositoryError(
            f"provenance repository {repository.path}: reading events to ship failed: {exc}"
        ) from exc
    return [e for e in events_from_rows(rows) if e.event_id > after_id][:limit]


def event_uuid(platform: str, event_id: int) -> str:
    return uuid5(_EVENT_IDS, f"{platform}/{event_id}")


def to_record(event: ProvenanceEvent, platform: str, hostname: str) -> dict[str, Any]:
    """NiFi's reporting record of one event."""
    moment = datetime.fromtimestamp(event.timestamp / 1000, UTC)
    return {
        "eventId": event_uuid(platform, event.event_id),
        "eventOrdinal": event.event_id,
        "eventType": str(event.event_type),
        "timestampMillis": event.timestamp,
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "durationMillis": event.event_duration,
        "lineageStart": event.lineage_start,
        "entryDate": event.entry_date,
        "details": event.details,
        "componentId": event.component_id,
        "componentType": event.component_type,
        "componentName": event.component_id,
        "entityId": event.flowfile_uuid,
        "entityType": "org.apache.nifi.flowfile.FlowFile",
        "entitySize": event.size,
        "previousEntitySize": event.previous_size,
        "updatedAttributes": event.attributes,
        "previousAttributes": event.previous_attributes,
        "actorHostname": hostname,
        "parentIds": list(event.parent_uuids),
        "childIds": list(event.child_uuids),
        "platform": platform,
        "application": "headwater",
        "relationship": event.relationship,
        "remoteIdentifier": event.source_system_flowfile_id,
        "alternateIdentifier": event.alternate_identifier_uri,
        "transitUri": event.transit_uri,
    }


class RecordError(ValueError):
    """A record that is not a provenance event; says which field is wrong."""


def _text(record: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = record.get(key, default)
    if not isinstance(value, str) or not value:
        raise RecordError(f"{key!r} must be non-empty text, got {value!r}")
    return value


def _int(record: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = record.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{key!r} must be a whole number, got {value!r}")
    return value


def _strings(record: Mapping[str, Any], key: str) -> dict[str, str]:
    value = record.get(key) or {}
    if not isinstance(value, Mapping):
        raise RecordError(f"{key!r} must be a mapping of text, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _uuids(record: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key) or []
    if not isinstance(value, list):
        raise RecordError(f"{key!r} must be a list of uuids, got {type(value).__name__}")
    return tuple(str(item) for item in value)


def _optional(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)


def event_from_record(record: object, origin: str | None = None) -> ProvenanceEvent:
    """The event a record describes, as recorded at its ``platform`` (or ``origin``):
    that system's time and ids, its component ids prefixed ``<platform>/`` so they
    never mix with this system's. ``RecordError`` names a field that is wrong."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected a JSON object per event, got {type(record).__name__}")
    kind = _text(record, "eventType")
    try:
        event_type = ProvenanceEventType(kind.upper())
    except ValueError:
        raise RecordError(f"'eventType' {kind!r} is not a provenance event type") from None
    platform = origin or _text(record, "platform")
    return ProvenanceEvent(
        event_type,
        _text(record, "entityId"),
        f"{platform}/{_text(record, 'componentId')}",
        _text(record, "componentType", "Processor"),
        _int(record, "timestampMillis"),
        _strings(record, "updatedAttributes"),
        entry_date=_int(record, "entryDate", 0),
        lineage_start=_int(record, "lineageStart", 0),
        size=_int(record, "entitySize", 0),
        previous_attributes=_strings(record, "previousAttributes"),
        previous_size=_int(record, "previousEntitySize", 0),
        parent_uuids=_uuids(record, "parentIds"),
        child_uuids=_uuids(record, "childIds"),
        relationship=_optional(record, "relationship"),
        details=_optional(record, "details"),
        transit_uri=_optional(record, "transitUri"),
        source_system_flowfile_id=_optional(record, "remoteIdentifier"),
        alternate_identifier_uri=_optional(record, "alternateIdentifier"),
        event_duration=_int(record, "durationMillis", 0),
        origin=platform,
    )
