"""How provenance events are laid out in SQLite: schema, rows, and time by event id.

A row holds the searched fields as columns (the event type as a one-byte code) and
the rest as one orjson array, attributes first (``previous_attributes`` is already
the delta the session computed). Parent and child uuids are in that array for
reading back and, for the lineage walk, also in ``event_relative(uuid, event_id)``.

A batch (the thousands of SENDs, DROPs or RECEIVEs of one site-to-site transaction)
is one block row: ``event_id`` is the batch's last id, ``first_id`` its first, the
shared fields are columns as for an event, and the payload holds the shared rest once
and one short array per FlowFile. A row costs about a microsecond in SQLite whatever
it holds, and as much again to build in Python, and each secondary index as much
again; a block pays that once per transaction. Every read expands blocks into their
events (``events_from_rows``); a single event's ``first_id`` is NULL. Where FlowFile
uuids are indexed (a hub), ``event_member(uuid, event_id)`` finds a FlowFile's blocks:
two small index entries per FlowFile instead of a row and three.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import count, repeat
from typing import Any

import orjson

from headwater.provenance import EventBatch, ProvenanceEvent, ProvenanceEventType
from headwater.repository.sqlite import packed

SCHEMA_VERSION = 3

# Stored codes: append new types at the end, never reorder (the codes are on disk).
TYPE_CODE_ORDER = (
    "CREATE RECEIVE FETCH SEND UPLOAD REMOTE_INVOCATION DOWNLOAD DROP EXPIRE FORK JOIN CLONE"
    " CONTENT_MODIFIED ATTRIBUTES_MODIFIED ROUTE ADDINFO REPLAY"
)
TYPE_NAMES = TYPE_CODE_ORDER.split()
TYPES = tuple(ProvenanceEventType(name) for name in TYPE_NAMES)
TYPE_CODES: dict[str, int] = {name: code for code, name in enumerate(TYPE_NAMES)}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS event (
    event_id INTEGER PRIMARY KEY,
    event_type INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    flowfile_uuid TEXT NOT NULL,
    component_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    first_id INTEGER  -- a block's first event id; NULL for a single event
);
DROP INDEX IF EXISTS event_by_timestamp;
DROP INDEX IF EXISTS event_by_claim;
DROP INDEX IF EXISTS event_by_previous_claim;
DROP TABLE IF EXISTS claim_ref;
CREATE TABLE IF NOT EXISTS event_relative (
    uuid TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (uuid, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_relative_by_event ON event_relative (event_id);
CREATE TABLE IF NOT EXISTS event_member (
    uuid TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (uuid, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_member_by_event ON event_member (event_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
PRAGMA user_version = {SCHEMA_VERSION};
"""

INDEXED_FIELDS = {  # NiFi's names (nifi.provenance.repository.indexed.fields): index, column
    "FlowFileUUID": ("event_by_flowfile", "flowfile_uuid"),
    "ProcessorID": ("event_by_component", "component_id"),
    "EventType": ("event_by_type", "event_type"),
}


def index_script(indexed: Collection[str]) -> str:
    """Create the secondary indexes of ``indexed`` fields and drop the others. Each costs
    about a microsecond per event written; searches by a field without one scan."""
    return "".join(
        f"CREATE INDEX IF NOT EXISTS {index} ON event ({column});\n"
        if field in indexed
        else f"DROP INDEX IF EXISTS {index};\n"
        for field, (index, column) in INDEXED_FIELDS.items()
    )


COLUMNS = "event_id, event_type, timestamp, flowfile_uuid, component_id, payload, first_id"
ROW_VALUES = 7
BLOCK_COLUMN = "first_id INTEGER"  # added to repositories made before blocks
INSERT_HEAD = f"INSERT INTO event ({COLUMNS})"
SELECT = f"SELECT {COLUMNS} FROM event"


def event_rows(events: Sequence[ProvenanceEvent], first_id: int) -> Iterator[tuple[Any, ...]]:
    """The ``event`` rows for ``events``, numbered from ``first_id`` (the hot path).

    Columns are only what is searched; everything else goes into one orjson array,
    ``payload``, because every bound parameter costs more than serialising a field.
    The caller keeps the rows until SQLite has them, so each payload is ``packed``.
    """
    dumps, codes = orjson.dumps, TYPE_CODES
    return (
        (
            event_id,
            codes[e.event_type],
            e.timestamp,
            e.flowfile_uuid,
            e.component_id,
            packed(dumps(_payload(e))),
            None,
        )
        for event_id, e in enumerate(events, first_id)
    )


def block_row(batch: EventBatch) -> tuple[Any, ...]:
    """A batch as one block row, its ids from ``first_id`` (see the module docstring)."""
    flowfiles = [
        (ff.uuid, ff.attributes, ff.claim, ff.offset, ff.size, ff.entry_date, ff.lineage_start)
        for ff in batch.flowfiles
    ]
    shared = (batch.component_type, batch.details, batch.transit_uri, batch.event_duration)
    payload = orjson.dumps((*shared, batch.unchanged, flowfiles, batch.sources or None))
    last = batch.first_id + len(batch) - 1
    code = TYPE_CODES[batch.event_type]
    return (last, code, batch.timestamp, "", batch.component_id, payload, batch.first_id)


def block_members(batch: EventBatch) -> list[Any]:
    """The (uuid, block row id) pairs of a batch's FlowFiles, one after another."""
    last = batch.first_id + len(batch) - 1
    return [value for ff in batch.flowfiles for value in (ff.uuid, last)]


def events_from_rows(rows: Iterable[tuple[Any, ...]]) -> list[ProvenanceEvent]:
    """The events of ``rows`` (``SELECT`` rows), a block's expanded in id order."""
    events: list[ProvenanceEvent] = []
    for row in rows:
        if row[6] is None:
            events.append(event_from_row(row))
        else:
            events += _block_events(row)
    return events


def _block_events(row: tuple[Any, ...]) -> list[ProvenanceEvent]:
    first, kind, timestamp, component = row[6], TYPES[row[1]], row[2], row[4]
    ctype, details, transit, duration, unchanged, flowfiles, sources = orjson.loads(row[5])
    return [
        ProvenanceEvent(
            event_id=event_id,
            event_type=kind,
            timestamp=timestamp,
            flowfile_uuid=uuid,
            component_id=component,
            component_type=ctype,
            attributes=attributes,
            claim=claim,
            offset=offset,
            size=size,
            entry_date=entry,
            lineage_start=lineage,
            previous_claim=claim if unchanged else 0,
            previous_offset=offset if unchanged else 0,
            previous_size=size if unchanged else 0,
            event_duration=duration,
            details=details,
            transit_uri=transit,
            source_system_flowfile_id=source,
        )
        for event_id, (uuid, attributes, claim, offset, size, entry, lineage), source in zip(
            count(first), flowfiles, sources or repeat(None)
        )
    ]


def _payload(e: ProvenanceEvent) -> tuple[Any, ...]:
    return (
        e.attributes,
        e.claim,
        e.previous_claim,
        e.component_type,
        e.size,
        e.offset,
        e.entry_date,
        e.lineage_start,
        e.previous_offset,
        e.previous_size,
        e.event_duration,
        e.previous_attributes,
        e.parent_uuids,
        e.child_uuids,
        e.relationship,
        e.details,
        e.transit_uri,
        e.source_system_flowfile_id,
        e.alternate_identifier_uri,
        e.origin,
    )


TIME_SKEW_MS = 5 * 60 * 1000
"""How far an event's timestamp may precede events committed before it (a session's
events carry the time they happened and are committed when the session ends)."""


def first_id_at(conn: sqlite3.Connection, timestamp: int) -> int:
    """The first event id whose timestamp is at least ``timestamp``, by binary search
    over ids (timestamps rise with ids, up to ``TIME_SKEW_MS``)."""
    low, high = conn.execute("SELECT min(event_id), max(event_id) FROM event").fetchone()
    if low is None:
        return 0
    high += 1
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(
            "SELECT event_id, timestamp FROM event WHERE event_id >= ? ORDER BY event_id LIMIT 1",
            (middle,),
        ).fetchone()
        if row is None or row[1] >= timestamp:
            high = middle
        else:
            low = row[0] + 1
    return int(low)


def event_from_row(row: tuple[Any, ...]) -> ProvenanceEvent:
    p = orjson.loads(row[5])
    return ProvenanceEvent(
        event_id=row[0],
        event_type=TYPES[row[1]],
        timestamp=row[2],
        flowfile_uuid=row[3],
        component_id=row[4],
        attributes=p[0],
        claim=p[1],
        previous_claim=p[2],
        component_type=p[3],
        size=p[4],
        offset=p[5],
        entry_date=p[6],
        lineage_start=p[7],
        previous_offset=p[8],
        previous_size=p[9],
        event_duration=p[10],
        previous_attributes=p[11],
        parent_uuids=tuple(p[12]),
        child_uuids=tuple(p[13]),
        relationship=p[14],
        details=p[15],
        transit_uri=p[16],
        source_system_flowfile_id=p[17],
        alternate_identifier_uri=p[18],
        origin=p[19] if len(p) > 19 else None,  # rows written before origins existed
    )


@dataclass(frozen=True)
class PreparedEvents:
    """Events with their ids reserved and rows built: ``params`` is the rows' values
    one after another (``ROW_VALUES`` per row: an event, or a block of them),
    ``relatives`` the (uuid, event id) lineage links and ``members`` the blocks'
    (uuid, row id) pairs, each flat."""

    first_id: int
    last_id: int
    params: list[Any]
    relatives: list[Any]
    members: list[Any]
