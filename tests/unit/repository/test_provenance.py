"""SqliteProvenanceRepository: storage, queries, retention, claims, threads."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.errors import RepositoryError
from headwater.flow.model import PROVENANCE_FIELDS
from headwater.provenance import ProvenanceEvent, ProvenanceEventType
from headwater.repository.provenance import SqliteProvenanceRepository
from headwater.repository.provenance_rows import INDEXED_FIELDS

pytestmark = pytest.mark.usefixtures("provenance_layout")

T0 = 1_700_000_000_000


def event(
    uuid: str,
    kind: ProvenanceEventType = ProvenanceEventType.ROUTE,
    *,
    at: int = T0,
    component: str = "route",
    claim: int = 0,
    **fields: object,
) -> ProvenanceEvent:
    return ProvenanceEvent(
        event_type=kind,
        flowfile_uuid=uuid,
        component_id=component,
        component_type="RouteOnAttribute",
        timestamp=at,
        attributes={"uuid": uuid, "filename": f"{uuid}.json", "path": "./"},
        claim=claim,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteProvenanceRepository]:
    repository = SqliteProvenanceRepository(tmp_path)
    yield repository
    repository.close()


def test_every_field_round_trips(repo: SqliteProvenanceRepository) -> None:
    original = ProvenanceEvent(
        event_type=ProvenanceEventType.CONTENT_MODIFIED,
        flowfile_uuid="ff-1",
        component_id="replace",
        component_type="ReplaceText",
        timestamp=T0 + 5,
        attributes={"uuid": "ff-1", "filename": "a.txt", "mime.type": "text/plain", "é": "ü"},
        entry_date=T0 - 10,
        lineage_start=T0 - 20,
        size=42,
        claim=7,
        offset=128,
        previous_attributes={"mime.type": "application/octet-stream"},
        previous_claim=6,
        previous_offset=64,
        previous_size=40,
        parent_uuids=("p-1", "p-2"),
        child_uuids=("c-1",),
        relationship="success",
        details="replaced 3 matches",
        transit_uri="s3://bucket/key",
        source_system_flowfile_id="remote-9",
        alternate_identifier_uri="urn:x:1",
        event_duration=12,
    )
    repo.register([original])
    assert original.event_id >= 1
    stored = repo.get(original.event_id)
    assert stored is not None
    assert dataclasses.asdict(stored) == dataclasses.asdict(original)
    assert stored.event_type is ProvenanceEventType.CONTENT_MODIFIED
    assert repo.get(original.event_id + 1) is None


def test_every_event_type_is_stored_and_found(repo: SqliteProvenanceRepository) -> None:
    repo.register([event(f"ff-{kind}", kind) for kind in ProvenanceEventType])
    for kind in ProvenanceEventType:
        (found,) = repo.query(event_type=kind)
        assert found.event_type is kind and found.flowfile_uuid == f"ff-{kind}"


def test_ids_increase_across_batches(repo: SqliteProvenanceRepository) -> None:
    first = [event("a"), event("b")]
    second = [event("c")]
    repo.register(first)
    repo.register(second)
    repo.register([])
    ids = [e.event_id for e in first + second]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert repo.count() == 3


def test_query_filters_and_limits(repo: SqliteProvenanceRepository) -> None:
    repo.register(
        [
            event("a", ProvenanceEventType.RECEIVE, at=T0, component="listen"),
            event("a", ProvenanceEventType.ROUTE, at=T0 + 10, component="route"),
            event("b", ProvenanceEventType.RECEIVE, at=T0 + 20, component="listen"),
            event("b", ProvenanceEventType.DROP, at=T0 + 30, component="route"),
            event("c", ProvenanceEventType.RECEIVE, at=T0 + 40, component="listen"),
        ]
    )

    def uuids_types(events: list[ProvenanceEvent]) -> list[tuple[str, str]]:
        return [(e.flowfile_uuid, str(e.event_type)) for e in events]

    assert uuids_types(repo.query(flowfile="a", newest_first=False)) == [
        ("a", "RECEIVE"),
        ("a", "ROUTE"),
    ]
    assert uuids_types(repo.query(event_type="RECEIVE")) == [
        ("c", "RECEIVE"),
        ("b", "RECEIVE"),
        ("a", "RECEIVE"),
    ]
    assert uuids_types(repo.query(event_type=ProvenanceEventType.DROP)) == [("b", "DROP")]
    assert repo.query(event_type="NO_SUCH_TYPE") == []
    assert len(repo.query(component="route")) == 2
    assert uuids_types(repo.query(component="listen", since_ms=T0 + 20, until_ms=T0 + 40)) == [
        ("c", "RECEIVE"),
        ("b", "RECEIVE"),
    ]
    assert uuids_types(repo.query(flowfile="b", event_type="DROP", component="route")) == [
        ("b", "DROP")
    ]
    assert [e.timestamp for e in repo.query(limit=2)] == [T0 + 40, T0 + 30]
    assert [e.timestamp for e in repo.query(limit=2, newest_first=False)] == [T0, T0 + 10]
    assert repo.query(limit=0) == []
    assert repo.query(flowfile="nobody") == []


def test_events_for_returns_oldest_first(repo: SqliteProvenanceRepository) -> None:
    late = event("a", ProvenanceEventType.DROP, at=T0 + 50)
    repo.register([late, event("b", at=T0 + 5), event("a", ProvenanceEventType.RECEIVE, at=T0)])
    found = repo.events_for(["a", "b", "unknown"])
    assert [(e.flowfile_uuid, e.timestamp) for e in found] == [
        ("a", T0),
        ("b", T0 + 5),
        ("a", T0 + 50),
    ]
    assert repo.events_for([]) == []


def test_events_survive_close_and_reopen(tmp_path: Path) -> None:
    repo = SqliteProvenanceRepository(tmp_path)
    batch = [event(f"ff-{i}", at=T0 + i) for i in range(50)]
    repo.register(batch)
    repo.close()
    repo.close()  # idempotent
    with pytest.raises(RepositoryError):
        repo.count()

    with SqliteProvenanceRepository(tmp_path) as again:
        assert again.count() == 50
        stored = again.get(batch[10].event_id)
        assert stored is not None and stored.flowfile_uuid == "ff-10"
        more = [event("later")]
        again.register(more)
        assert more[0].event_id > batch[-1].event_id
    assert (tmp_path / "provenance.db").exists()


def test_retention_by_age_keeps_ids_increasing(tmp_path: Path) -> None:
    day = 86_400_000
    repo = SqliteProvenanceRepository(tmp_path, max_age_seconds=86_400)
    old = [event(f"old-{i}", at=T0 - 3 * day + i) for i in range(30)]
    new = [event(f"new-{i}", at=T0 - 1000 + i) for i in range(20)]
    repo.register(old + new)
    assert repo.apply_retention(now_ms=T0) == 30
    assert repo.count() == 20
    assert {e.flowfile_uuid for e in repo.query()} == {f"new-{i}" for i in range(20)}
    assert repo.apply_retention(now_ms=T0) == 0
    assert repo.apply_retention(now_ms=T0 + 2 * day) == 20
    last_id = new[-1].event_id
    repo.close()

    with SqliteProvenanceRepository(tmp_path) as again:
        after = [event("after")]
        again.register(after)
        assert after[0].event_id > last_id


def test_retention_by_size_drops_oldest_first(tmp_path: Path) -> None:
    # 4 KB pages: at 64 KB, a repository of a few hundred kB is mostly its empty pages
    with SqliteProvenanceRepository(tmp_path, page_size=4096) as big:
        big.register([event(f"ff-{i:05d}", at=T0 + i, claim=1 + i // 100) for i in range(4000)])
        full_size = big.size_bytes()
    limit = full_size // 4
    repo = SqliteProvenanceRepository(tmp_path, max_bytes=limit)
    removed = repo.apply_retention(now_ms=T0 + 4000)
    assert removed > 0
    assert repo.count() == 4000 - removed
    assert repo.size_bytes() <= limit
    kept = repo.query(newest_first=False, limit=1)[0]
    assert kept.flowfile_uuid == f"ff-{removed:05d}"  # exactly the oldest went
    assert repo.query(limit=1)[0].flowfile_uuid == "ff-03999"
    repo.close()


def test_high_water_and_retained_from(tmp_path: Path) -> None:
    """What the content repository needs to know no retained event points at a claim."""
    repo = SqliteProvenanceRepository(tmp_path / "p", max_age_seconds=1.0)
    try:
        assert repo.high_water() == 0
        assert repo.retained_from() == 1, "an empty repository holds nothing"
        repo.register([event(f"old-{i}", claim=7, at=1_000) for i in range(3)])
        repo.register([event("new", claim=8, at=time.time_ns() // 1_000_000)])
        assert repo.high_water() == 4
        assert repo.retained_from() == 1
        assert repo.apply_retention() == 3, "the three old events go"
        assert repo.retained_from() == 4, "claim 7's last event (3) is gone, claim 8's is not"
        assert repo.apply_retention(now_ms=10**15) == 1
        assert repo.retained_from() == 5
    finally:
        repo.close()


def test_concurrent_register_and_queries(repo: SqliteProvenanceRepository) -> None:
    writers, batches, per_batch = 4, 25, 40
    start = threading.Barrier(writers + 1)
    errors: list[BaseException] = []
    ids: list[list[int]] = [[] for _ in range(writers)]
    done = threading.Event()

    def write(n: int) -> None:
        try:
            start.wait()
            for b in range(batches):
                batch = [
                    event(f"w{n}-{b}-{i}", component=f"writer-{n}", at=T0 + b)
                    for i in range(per_batch)
                ]
                repo.register(batch)
                ids[n].extend(e.event_id for e in batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    reads = 0
    seen_counts: list[int] = []
    while not done.is_set():
        seen_counts.append(len(repo.query(component="writer-1", limit=10_000)))
        repo.query(event_type="ROUTE", limit=5)
        repo.get(1)
        reads += 1
        if all(not thread.is_alive() for thread in threads):
            done.set()
    for thread in threads:
        thread.join()

    assert not errors
    total = writers * batches * per_batch
    assert repo.count() == total
    all_ids = [i for chunk in ids for i in chunk]
    assert sorted(all_ids) == list(range(1, total + 1))
    for chunk in ids:  # each thread saw its own ids increase
        assert chunk == sorted(chunk)
    assert seen_counts == sorted(seen_counts)  # reads only ever see whole commits
    assert all(n % per_batch == 0 for n in seen_counts)
    assert reads > 0


def test_sqlite_errors_become_repository_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RepositoryError):
        SqliteProvenanceRepository(blocker)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "provenance.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(RepositoryError) as info:
        SqliteProvenanceRepository(tmp_path / "bad")
    assert "provenance.db" in str(info.value)


def test_the_page_cache_follows_the_setting(tmp_path: Path) -> None:
    """An agent's 512 KB: the writer's cache, a quarter for each reader."""
    with SqliteProvenanceRepository(tmp_path, cache_bytes=512 * 1024) as small:
        assert small._writer.execute("PRAGMA cache_size").fetchone() == (-512,)
        with small._reading("test") as reader:
            assert reader.execute("PRAGMA cache_size").fetchone() == (-128,)
    with SqliteProvenanceRepository(tmp_path / "hub") as hub:
        assert hub._writer.execute("PRAGMA cache_size").fetchone() == (-64 * 1024,)


@pytest.mark.parametrize("indexed", [(), ("EventType",)], ids=["none", "type-only"])
def test_searches_answer_the_same_with_fewer_indexes(
    tmp_path: Path, indexed: tuple[str, ...]
) -> None:
    """An agent keeps no secondary index (its events are searched on the hub): every
    search still answers, by scanning; reopening with all of them builds them again."""
    events = [
        event("a", ProvenanceEventType.RECEIVE, component="in"),
        event("b", ProvenanceEventType.SEND, component="out"),
        event("a", ProvenanceEventType.DROP, component="out"),
    ]
    with SqliteProvenanceRepository(tmp_path, indexed=indexed) as repo:
        repo.register(events)
        names = {r[0] for r in repo._writer.execute("SELECT name FROM sqlite_master")}
        assert ("event_by_type" in names, "event_by_flowfile" in names) == (
            bool(indexed),
            False,
        )
        assert [e.event_type for e in repo.query(flowfile="a", newest_first=False)] == [
            "RECEIVE",
            "DROP",
        ]
        assert [e.flowfile_uuid for e in repo.query(component="out", event_type="SEND")] == ["b"]
    with SqliteProvenanceRepository(tmp_path, indexed=INDEXED_FIELDS) as again:
        names = {r[0] for r in again._writer.execute("SELECT name FROM sqlite_master")}
        assert {"event_by_flowfile", "event_by_component", "event_by_type"} <= names
        assert again.count() == 3
    assert tuple(INDEXED_FIELDS) == PROVENANCE_FIELDS  # the setting's names, the indexes
