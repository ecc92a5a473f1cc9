"""Lineage graphs: the FlowFiles joined to one FlowFile through FORK, CLONE, JOIN, REPLAY.

Two halves, kept apart so the graph rules are testable without a database:

- ``connected_flowfiles`` walks the ``event_relative(uuid, event_id)`` side table of
  the provenance database. Every event that names parents or children has one row per
  FlowFile it touches (its own FlowFile included), so two FlowFiles are neighbours
  exactly when they share an event id there. The walk goes in both directions (from a
  child up to its FORK/CLONE parent and its JOIN parents, from a parent down to its
  children and, through a JOIN, over to the other parents) and stops at a bound so a
  merge of millions cannot hang the API.
- ``lineage_graph`` draws NiFi's picture from those FlowFiles' events: a FlowFile node
  leading to its first event, each FlowFile's events chained in time order, a
  FORK/CLONE event pointing at the first event of each child, and each parent's last
  event before a JOIN pointing at the JOIN event.

Across site-to-site a FlowFile keeps its uuid, so the events an agent shipped (their
``origin`` names the agent) and the hub's own are one FlowFile's events. They are
chained per system, the systems in the order they first saw the FlowFile, and a
system's first event follows the previous system's last SEND (not its DROP, which
the sender records after the hub has already received): device CREATE → SEND → hub
RECEIVE → ..., with the device's DROP a branch off its SEND. Two clocks never decide
the order between systems.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import orjson

from headwater.provenance import ProvenanceEvent, ProvenanceEventType

MAX_LINEAGE_FLOWFILES = 10_000
"""How many FlowFiles one lineage graph holds at most."""

_NEIGHBOURS = """
    SELECT DISTINCT other.uuid
    FROM event_relative AS mine
    JOIN event_relative AS other ON other.event_id = mine.event_id
    WHERE mine.uuid IN (SELECT value FROM json_each(?))
"""


def connected_flowfiles(
    conn: sqlite3.Connection, uuid: str, limit: int = MAX_LINEAGE_FLOWFILES
) -> list[str]:
    """Every FlowFile reachable from ``uuid`` through related events, ``uuid`` first.

    Breadth first, so when ``limit`` cuts the walk short the FlowFiles kept are the
    nearest ones.
    """
    found = [uuid]
    seen = {uuid}
    frontier = [uuid]
    while frontier and len(found) < limit:
        following: list[str] = []
        for (other,) in conn.execute(_NEIGHBOURS, (orjson.dumps(frontier),)):
            if other not in seen:
                seen.add(other)
                found.append(other)
                following.append(other)
                if len(found) >= limit:
                    break
        frontier = following
    return found


def _event_node(event: ProvenanceEvent) -> dict[str, Any]:
    node = {
        "id": str(event.event_id),
        "type": "EVENT",
        "eventType": str(event.event_type),
        "timestamp": event.timestamp,
        "componentId": event.component_id,
        "componentType": event.component_type,
        "flowFileUuid": event.flowfile_uuid,
    }
    if event.origin is not None:  # shipped from an agent: the graph shows device vs hub
        node["origin"] = event.origin
    return node


def lineage_graph(
    flowfiles: Sequence[str], events: Sequence[ProvenanceEvent]
) -> dict[str, list[dict[str, Any]]]:
    """NiFi's lineage graph of ``flowfiles`` from their ``events`` (any order).

    Events whose FlowFile is not in ``flowfiles`` are ignored; relatives outside
    ``flowfiles`` (cut off by the walk's bound) get no link.
    """
    members: Collection[str] = set(flowfiles)
    timeline: dict[str, list[ProvenanceEvent]] = {uuid: [] for uuid in flowfiles}
    ordered = sorted(
        (e for e in events if e.flowfile_uuid in members),
        key=lambda e: (e.timestamp, e.event_id),
    )
    for event in ordered:
        timeline[event.flowfile_uuid].append(event)

    nodes: list[dict[str, Any]] = [
        {"id": uuid, "type": "FLOWFILE", "flowFileUuid": uuid} for uuid in flowfiles
    ]
    nodes.extend(_event_node(e) for e in ordered)

    links: list[dict[str, Any]] = []
    linked: set[tuple[str, str]] = set()

    def link(source: str, target: str, uuid: str) -> None:
        if (source, target) not in linked:
            linked.add((source, target))
            links.append({"source": source, "target": target, "flowFileUuid": uuid})

    for uuid, chain in timeline.items():
        previous = uuid
        for segment in _by_system(chain):
            handover = None  # where the next system's events hang: the last SEND here
            for event in segment:
                link(previous, str(event.event_id), uuid)
                previous = str(event.event_id)
                if event.event_type is ProvenanceEventType.SEND:
                    handover = previous
            previous = handover or previous

    for event in ordered:
        here = str(event.event_id)
        for child in event.child_uuids:
            if child != event.flowfile_uuid and child in members:
                child_events = timeline[child]
                link(here, str(child_events[0].event_id) if child_events else child, child)
        for parent in event.parent_uuids:
            if parent != event.flowfile_uuid and parent in members:
                key = (event.timestamp, event.event_id)
                before = [e for e in timeline[parent] if (e.timestamp, e.event_id) < key]
                # the parent's last event on the JOIN's own system: a hub's JOIN follows
                # the hub's RECEIVE, not the DROP the device recorded after sending
                local = [e for e in before if e.origin == event.origin] or before
                link(str(local[-1].event_id) if local else parent, here, parent)
    return {"nodes": nodes, "links": links}


def _by_system(chain: Sequence[ProvenanceEvent]) -> list[list[ProvenanceEvent]]:
    """One FlowFile's events (in time order) split by the system that recorded them,
    the systems in the order of their first event: the agent's, then the hub's."""
    segments: dict[str | None, list[ProvenanceEvent]] = {}
    for event in chain:
        segments.setdefault(event.origin, []).append(event)
    return list(segments.values())
