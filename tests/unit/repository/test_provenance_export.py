"""Provenance leaving a device and arriving at a hub: NiFi's reporting records, events
read in id order for shipping, and one lineage chain across the two systems."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from headwater.processors.provenance_import import ImportProvenanceEvents
from headwater.provenance import ProvenanceEvent, ProvenanceEventType
from headwater.repository.lineage import lineage_graph
from headwater.repository.provenance import SqliteProvenanceRepository
from headwater.repository.provenance_export import (
    RecordError,
    event_from_record,
    events_after,
    to_record,
)
from headwater.testing import TestRunner

pytestmark = pytest.mark.usefixtures("provenance_layout")

T0 = 1_700_000_000_000
E = ProvenanceEventType


def ev(
    kind: ProvenanceEventType, at: int, uuid: str = "ff-1", origin: str | None = None
) -> ProvenanceEvent:
    return ProvenanceEvent(
        kind,
        uuid,
        "send" if kind is E.SEND else "proc",
        "Processor",
        T0 + at,
        {"uuid": uuid, "filename": "r.json"},
        size=7,
        claim=3,
        origin=origin,
    )


def test_a_record_comes_back_as_the_event_marked_with_its_platform() -> None:
    event = ev(E.FORK, 5)
    event.event_id = 42
    event.child_uuids = ("ff-2", "ff-3")
    event.transit_uri = "http://hub/x"
    event.previous_attributes = {"filename": "old"}
    record = orjson.loads(orjson.dumps(to_record(event, "edge-1", "pi")))
    assert record["eventOrdinal"] == 42 and record["entityId"] == "ff-1"
    assert record["platform"] == "edge-1" and record["actorHostname"] == "pi"
    back = event_from_record(record)
    assert back.origin == "edge-1" and back.component_id == "edge-1/proc"
    assert (back.event_type, back.timestamp, back.child_uuids) == (
        E.FORK,
        T0 + 5,
        event.child_uuids,
    )
    assert back.attributes == event.attributes and back.size == 7
    assert back.claim == 0  # the content stayed on the device
    assert back.previous_attributes == {"filename": "old"}
    assert event_from_record(record, "agent-7").component_id == "agent-7/proc"


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ([], "expected a JSON object"),
        ({"eventType": "NOPE", "entityId": "a", "platform": "p"}, "not a provenance event type"),
        ({"eventType": "CREATE", "platform": "p"}, "'entityId'"),
        (
            {"eventType": "CREATE", "entityId": "a", "platform": "p", "componentId": "c"},
            "'timestampMillis'",
        ),
    ],
)
def test_a_wrong_record_names_its_field(record: object, problem: str) -> None:
    with pytest.raises(RecordError, match=problem):
        event_from_record(record)


def test_events_after_reads_in_id_order_up_to_the_settled_mark(tmp_path: Path) -> None:
    with SqliteProvenanceRepository(tmp_path / "p") as repo:
        repo.register([ev(E.CREATE, i, f"ff-{i}") for i in range(10)])
        pending = repo.prepare([ev(E.DROP, 20)])  # a session still writing
        repo.write(pending)
        repo.register([ev(E.CREATE, 30)])
        assert [e.event_id for e in events_after(repo, 0, 4)] == [1, 2, 3, 4]
        assert [e.event_id for e in events_after(repo, 8, 100)] == [9, 10]  # not 11, 12 yet
        repo.settle(pending.first_id)
        assert [e.event_id for e in events_after(repo, 8, 100)] == [9, 10, 11, 12]
        assert events_after(repo, 12, 100) == []


def test_lineage_chains_the_device_then_the_hub_with_the_drop_a_branch() -> None:
    create, send = ev(E.CREATE, 0, origin="edge-1"), ev(E.SEND, 50, origin="edge-1")
    drop = ev(E.DROP, 60, origin="edge-1")  # recorded after the hub had received
    receive, put = ev(E.RECEIVE, 40), ev(E.SEND, 70)  # the hub's clock runs a bit behind
    for event_id, event in enumerate([create, send, drop, receive, put], 1):
        event.event_id = event_id
    graph = lineage_graph(["ff-1"], [receive, put, create, send, drop])
    links = {(link["source"], link["target"]) for link in graph["links"]}
    assert links == {("ff-1", "1"), ("1", "2"), ("2", "3"), ("2", "4"), ("4", "5")}
    origins = {n["id"]: n.get("origin") for n in graph["nodes"]}
    assert origins["1"] == "edge-1" and origins["4"] is None


def records(*events: ProvenanceEvent) -> bytes:
    for event_id, event in enumerate(events, 1):
        event.event_id = event_id
    return orjson.dumps([to_record(e, "edge-1", "pi") for e in events])


def test_import_adds_each_event_once() -> None:
    batch = records(ev(E.CREATE, 0), ev(E.SEND, 1), ev(E.DROP, 2))
    with TestRunner(ImportProvenanceEvents) as runner:
        runner.enqueue(batch)
        runner.enqueue(batch)  # the same events sent again
        runner.run(stop=False)
        runner.enqueue(batch)
        runner.run()
        runner.assert_all_transferred(ImportProvenanceEvents.SUCCESS, count=3)
        found = runner.repositories.provenance.query(limit=100, newest_first=False)
        imported = [e for e in found if e.origin == "edge-1"]
        assert [str(e.event_type) for e in imported] == ["CREATE", "SEND", "DROP"]
        assert runner.counter("Provenance events imported") == 3
        assert runner.counter("Provenance events already imported") == 6


def test_import_sends_what_is_not_provenance_to_failure() -> None:
    with TestRunner(ImportProvenanceEvents) as runner:
        runner.enqueue(b'{"not": "an array"}')
        runner.enqueue(b"[{}]")
        runner.enqueue(b"not json")
        runner.run()
        runner.assert_all_transferred(ImportProvenanceEvents.FAILURE, count=3)
        reasons = [f.attributes["error.message"] for f in runner.transferred("failure")]
        assert "expected a JSON array" in reasons[0] and "event 0:" in reasons[1]
