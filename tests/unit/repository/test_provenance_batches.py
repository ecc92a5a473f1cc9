"""EventBatch: a batch's rows are its events' rows, and its ids follow the order kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.flowfile import FlowFile
from headwater.provenance import EventBatch, ProvenanceEvent, ProvenanceEventType
from headwater.repository.provenance import SqliteProvenanceRepository

pytestmark = pytest.mark.usefixtures("provenance_layout")


def batch(kind: ProvenanceEventType, sources: list[str | None] | None) -> EventBatch:
    flowfiles = [FlowFile.create({"n": str(i)}) for i in range(3)]
    for i, ff in enumerate(flowfiles):
        ff.claim, ff.offset, ff.size = 4, 100 * i, 100
    return EventBatch(
        kind, flowfiles, "port", "InputPort", 1_700_000_000_000, "http://hub/t/1",
        details="Remote Host=127.0.0.1", event_duration=5, sources=sources or (),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "sources", "unchanged"),
    [
        (ProvenanceEventType.RECEIVE, ["urn:a", "urn:b", None], False),
        (ProvenanceEventType.SEND, None, False),
        (ProvenanceEventType.DROP, None, True),
    ],
)
def test_a_batch_reads_back_as_its_events(
    tmp_path: Path, kind: ProvenanceEventType, sources: list[str | None] | None, unchanged: bool
) -> None:
    made = batch(kind, sources)
    made.unchanged = unchanged
    with SqliteProvenanceRepository(tmp_path) as repo:
        repo.register([made])
        stored = repo.query(newest_first=False)
    events = made.events()
    assert stored == events and [e.event_id for e in stored] == [1, 2, 3]
    assert [e.previous_size for e in events] == [100 if unchanged else 0] * 3


def test_a_repository_numbers_batches_and_events_in_the_order_given(tmp_path: Path) -> None:
    received = batch(ProvenanceEventType.RECEIVE, ["urn:a", "urn:b", "urn:c"])
    before, after = (
        ProvenanceEvent.of(ProvenanceEventType.CREATE, ff, "gen", "GenerateFlowFile", 1)
        for ff in (FlowFile.create(), FlowFile.create())
    )
    with SqliteProvenanceRepository(tmp_path) as repo:
        repo.register([before, received, after])
        stored = repo.query(limit=10, newest_first=False)
    assert (before.event_id, received.first_id, after.event_id) == (1, 2, 5)
    assert [e.event_id for e in stored] == [1, 2, 3, 4, 5]
    assert stored[1:4] == received.events()
