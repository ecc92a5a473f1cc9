"""SqliteFlowFileRepository: transactions, paging, summaries, claims, state, reopen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.errors import RepositoryError
from headwater.flowfile import FlowFile
from headwater.repository.flowfile import SqliteFlowFileRepository


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "flowfile_repository"


@pytest.fixture
def repo(directory: Path) -> Iterator[SqliteFlowFileRepository]:
    repository = SqliteFlowFileRepository(directory)
    yield repository
    repository.close()


def store(
    repo: SqliteFlowFileRepository, queue: str, count: int, *, claim: int = 0, size: int = 2
) -> list[FlowFile]:
    flowfiles = []
    for seq in repo.next_seqs(count):
        ff = FlowFile.create({"n": str(seq), "note": "żółw ✓"})
        ff.seq, ff.claim, ff.size, ff.queued_at = seq, claim, size, 123
        flowfiles.append(ff)
    repo.commit([repo.row(queue, ff) for ff in flowfiles], [])
    return flowfiles


def test_next_seqs_are_increasing_and_disjoint(repo: SqliteFlowFileRepository) -> None:
    first, second = repo.next_seqs(3), repo.next_seqs(2)
    assert list(first) == [1, 2, 3]
    assert list(second) == [4, 5]


def test_page_reads_back_every_field(repo: SqliteFlowFileRepository) -> None:
    (ff,) = store(repo, "q", 1, claim=7, size=11)
    ff.offset = 0
    (back,) = repo.page("q", 0, 10, 10)
    assert (back.uuid, back.seq, back.claim, back.offset, back.size) == (ff.uuid, 1, 7, 0, 11)
    assert back.attributes == ff.attributes
    assert (back.entry_date, back.lineage_start, back.queued_at) == (
        ff.entry_date,
        ff.lineage_start,
        123,
    )
    assert back.penalized_until == 0.0


def test_page_by_queue_and_seq_range_in_order(repo: SqliteFlowFileRepository) -> None:
    mine = []
    for _ in range(5):
        mine += store(repo, "q", 2)
        store(repo, "other", 1)
    seqs = [ff.seq for ff in mine]
    assert [ff.seq for ff in repo.page("q", 0, 1 << 62, 100)] == seqs
    assert [ff.seq for ff in repo.page("q", seqs[2], seqs[6], 100)] == seqs[2:7]
    assert [ff.seq for ff in repo.page("q", 0, 1 << 62, 3)] == seqs[:3]
    assert repo.page("nobody", 0, 1 << 62, 100) == []


def test_commit_deletes_and_inserts_in_one_transaction(repo: SqliteFlowFileRepository) -> None:
    a, b = store(repo, "q", 2)
    moved = b.evolve()
    (moved.seq,) = repo.next_seqs(1)
    repo.commit([repo.row("next", moved)], [a.seq, b.seq])
    assert repo.page("q", 0, 1 << 62, 10) == []
    assert [ff.uuid for ff in repo.page("next", 0, 1 << 62, 10)] == [b.uuid]


def test_failed_commit_changes_nothing(repo: SqliteFlowFileRepository) -> None:
    a, b = store(repo, "q", 2)
    clash = FlowFile.create()
    clash.seq = b.seq  # primary key taken: the insert fails after the delete ran
    with pytest.raises(RepositoryError, match="commit failed"):
        repo.commit([repo.row("q", clash)], [a.seq])
    assert [ff.uuid for ff in repo.page("q", 0, 1 << 62, 10)] == [a.uuid, b.uuid]
    store(repo, "q", 1)  # and the repository is usable afterwards


def test_queue_summaries(repo: SqliteFlowFileRepository) -> None:
    q = store(repo, "q", 3, size=5)
    other = store(repo, "other", 2, size=1)
    assert repo.queue_summaries() == {
        "q": (3, 15, q[0].seq, q[-1].seq),
        "other": (2, 2, other[0].seq, other[-1].seq),
    }
    repo.commit([], [q[0].seq])
    assert repo.queue_summaries()["q"] == (2, 10, q[1].seq, q[-1].seq)


def test_claim_counts_ignore_flowfiles_without_content(repo: SqliteFlowFileRepository) -> None:
    store(repo, "q", 3, claim=4)
    store(repo, "other", 2, claim=4)
    store(repo, "q", 1, claim=9)
    store(repo, "q", 5, claim=0, size=0)
    assert repo.claim_counts() == {4: 5, 9: 1}


def test_component_state_save_and_load(repo: SqliteFlowFileRepository) -> None:
    assert repo.load_state("lister") == {}
    repo.save_state("lister", {"last": "2024", "ü": "✓"})
    repo.save_state("other", {"x": "1"})
    assert repo.load_state("lister") == {"last": "2024", "ü": "✓"}
    repo.save_state("lister", {})
    assert repo.load_state("lister") == {}
    assert repo.load_state("other") == {"x": "1"}


def test_survives_reopen_and_seq_continues(directory: Path) -> None:
    repo = SqliteFlowFileRepository(directory)
    stored = store(repo, "q", 4, claim=3)
    repo.save_state("c", {"k": "v"})
    repo.next_seqs(10)  # reserved but never written: not durable, may be reused
    repo.close()

    repo = SqliteFlowFileRepository(directory)
    try:
        assert [ff.uuid for ff in repo.page("q", 0, 1 << 62, 10)] == [ff.uuid for ff in stored]
        assert repo.claim_counts() == {3: 4}
        assert repo.load_state("c") == {"k": "v"}
        (seq,) = repo.next_seqs(1)
        assert seq > stored[-1].seq
    finally:
        repo.close()


def test_drop_queues_removes_other_queues(repo: SqliteFlowFileRepository) -> None:
    store(repo, "keep", 2)
    gone = store(repo, "gone", 3)
    dropped = repo.drop_queues(["keep"])
    assert sorted(ff.uuid for ff in dropped) == sorted(ff.uuid for ff in gone)
    assert set(repo.queue_summaries()) == {"keep"}


def test_unwritable_directory_is_a_repository_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RepositoryError):
        SqliteFlowFileRepository(blocker / "flowfile_repository")


def ledger_rows(repo: SqliteFlowFileRepository) -> int:
    (count,) = repo._db.execute("SELECT count(*) FROM flowfile WHERE queue = ''").fetchone()
    return int(count)


def test_the_ledger_keeps_the_highest_mark_and_every_unsettled_confirmation(
    repo: SqliteFlowFileRepository,
) -> None:
    repo.commit([], [], events=(1, 3), settled=0)
    repo.commit([], [], events=(4, 6), settled=3)
    repo.commit([], [], events=(7, 9), settled=2)  # a stale mark is not written back
    settled, confirmed = repo.ledger()
    assert settled == 3
    assert {(4, 6), (7, 9)} <= set(confirmed)


def test_commits_that_only_add_leave_pruning_to_one_that_deletes(
    repo: SqliteFlowFileRepository,
) -> None:
    for first in range(1, 61, 3):  # each confirms its range and settles the one before
        repo.commit([], [], events=(first, first + 2), settled=first - 1)
    assert ledger_rows(repo) == 40  # no deletes: every confirmation and mark stays
    (ff,) = store(repo, "q", 1)
    repo.commit([], [ff.seq], settled=60)
    assert repo.ledger() == (60, [])
    assert ledger_rows(repo) == 1


def test_the_ledger_stays_bounded_without_deletes(repo: SqliteFlowFileRepository) -> None:
    for first in range(1, 3 * 3000, 3):
        repo.commit([], [], events=(first, first + 2), settled=first - 1)
    assert ledger_rows(repo) <= 2 * 1000 + 4


def test_every_connection_keeps_the_page_cache_it_is_given(directory: Path) -> None:
    repo = SqliteFlowFileRepository(directory, cache_bytes=256 * 1024)
    try:
        for conn in (repo._db, repo._reader()):
            assert conn.execute("PRAGMA cache_size").fetchone() == (-256,)
    finally:
        repo.close()
