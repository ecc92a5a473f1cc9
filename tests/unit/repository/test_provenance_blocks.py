"""A batch is one block row, and every read sees its events as if each had a row of
its own: in a hub's repository (FlowFile uuids indexed, through the block's members)
and in an agent's (no index)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.flowfile import FlowFile
from headwater.provenance import EventBatch, ProvenanceEvent
from headwater.provenance import ProvenanceEventType as Ev
from headwater.repository.provenance import SqliteProvenanceRepository
from headwater.repository.provenance_export import events_after
from headwater.repository.provenance_rows import INDEXED_FIELDS

pytestmark = pytest.mark.usefixtures("provenance_layout")

NOW = 1_700_000_000_000


def stored(tmp_path: Path, at: int = NOW) -> tuple[SqliteProvenanceRepository, list[FlowFile]]:
    """Ids 1 (CREATE of x), 2-6 (a SEND batch of five), 7 (CREATE of y)."""
    sent = [FlowFile.create({"n": str(i)}) for i in range(5)]
    x, y = FlowFile.create(), FlowFile.create()
    repo = SqliteProvenanceRepository(tmp_path)
    repo.register(
        [
            ProvenanceEvent.of(Ev.CREATE, x, "gen", "GenerateFlowFile", at),
            EventBatch(Ev.SEND, sent, "rpg", "RemoteProcessGroup", at, "http://hub/t/1"),
            ProvenanceEvent.of(Ev.CREATE, y, "gen", "GenerateFlowFile", NOW),
        ]
    )
    return repo, [x, *sent, y]


def test_a_batch_is_one_row_and_reads_as_its_events(tmp_path: Path) -> None:
    repo, flowfiles = stored(tmp_path)
    with repo:
        assert repo._writer.execute("SELECT count(*) FROM event").fetchone() == (3,)
        assert repo.count() == 7
        found = [repo.get(i) for i in range(1, 9)]
        assert [e.flowfile_uuid if e else None for e in found] == [
            *(ff.uuid for ff in flowfiles),
            None,
        ]
        fourth = found[3]
        assert fourth is not None and fourth.event_type == "SEND"
        assert (fourth.attributes, fourth.transit_uri) == (
            flowfiles[3].attributes,
            "http://hub/t/1",
        )
        assert [e.event_id for e in repo.query(flowfile=flowfiles[3].uuid)] == [4]
        assert [e.event_id for e in repo.query(limit=2)] == [7, 6]
        sends = repo.query(event_type="SEND", limit=3, newest_first=False)
        assert [e.event_id for e in sends] == [2, 3, 4]
        assert [e.event_id for e in repo.events_for([flowfiles[5].uuid, flowfiles[0].uuid])] == [
            1,
            6,
        ]
    with SqliteProvenanceRepository(tmp_path) as reopened:
        assert reopened.high_water() == 7  # ids go on after the block's last


def test_shipping_reads_a_block_in_parts_and_never_twice(tmp_path: Path) -> None:
    repo, _ = stored(tmp_path)
    with repo:
        assert [e.event_id for e in events_after(repo, 0, 2)] == [1, 2]
        assert [e.event_id for e in events_after(repo, 2, 2)] == [3, 4]
        assert [e.event_id for e in events_after(repo, 4, 10)] == [5, 6, 7]


def test_blocks_are_removed_whole_and_counted_by_their_events(tmp_path: Path) -> None:
    repo, _ = stored(tmp_path, at=NOW - 10_000)
    with repo:
        repo.max_age_seconds = 5
        assert repo.apply_retention(NOW) == 6  # x and the block; y is new
        assert (repo.count(), repo.retained_from()) == (1, 7)
    repo, _ = stored(tmp_path / "again")
    with repo:
        repo.remove(2, 6)
        assert (repo.count(), repo.retained_from(), repo.get(4)) == (2, 1, None)
        assert repo.remove_unconfirmed(0, [(1, 1)]) == 1  # y's row: no commit confirmed it


def test_a_repository_from_before_blocks_gains_the_column(tmp_path: Path) -> None:
    repo, _ = stored(tmp_path)
    with repo:
        repo._writer.execute("DELETE FROM event WHERE first_id IS NOT NULL")
        repo._writer.execute("ALTER TABLE event DROP COLUMN first_id")
    repo, flowfiles = stored(tmp_path)
    with repo:
        assert [e.flowfile_uuid for e in repo.query(newest_first=False)][-7:] == [
            ff.uuid for ff in flowfiles
        ]
        assert repo.count() == 9


def test_indexing_uuids_later_finds_the_blocks_written_before(tmp_path: Path) -> None:
    with SqliteProvenanceRepository(tmp_path, indexed=()) as agent:
        sent = [FlowFile.create() for _ in range(3)]
        agent.register([EventBatch(Ev.SEND, sent, "rpg", "RemoteProcessGroup", NOW, "http://h")])
    with SqliteProvenanceRepository(tmp_path, indexed=INDEXED_FIELDS) as indexed:
        assert [e.event_id for e in indexed.query(flowfile=sent[1].uuid)] == [2]
        assert [e.event_id for e in indexed.events_for([sent[2].uuid])] == [3]


def test_an_empty_batch_takes_no_id_and_no_row(tmp_path: Path) -> None:
    x = FlowFile.create()
    with SqliteProvenanceRepository(tmp_path) as repo:
        repo.register(
            [
                ProvenanceEvent.of(Ev.CREATE, x, "gen", "GenerateFlowFile", NOW),
                EventBatch(Ev.SEND, [], "rpg", "RemoteProcessGroup", NOW, "http://h"),
                ProvenanceEvent.of(Ev.DROP, x, "gen", "GenerateFlowFile", NOW),
            ]
        )
        assert [(e.event_id, e.event_type) for e in repo.query(newest_first=False)] == [
            (1, "CREATE"),
            (2, "DROP"),
        ]
