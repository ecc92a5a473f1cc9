"""ContentRepository: shared claim files, rolling, reference counts, reclamation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.errors import RepositoryError
from headwater.repository.content import ContentRepository


class Provenance:
    """Stands in for the provenance repository's highest event id (the watermark)."""

    def __init__(self) -> None:
        self.high = 0

    def high_water(self) -> int:
        return self.high


ALL_EVENTS_GONE = 10**9  # a retained_from past every watermark


@pytest.fixture
def provenance() -> Provenance:
    return Provenance()


@pytest.fixture
def content(tmp_path: Path, provenance: Provenance) -> Iterator[ContentRepository]:
    repo = ContentRepository(
        tmp_path / "content_repository", claim_max_bytes=100, watermark=provenance.high_water
    )
    yield repo
    repo.close()


def write(repo: ContentRepository, *chunks: bytes) -> tuple[int, list[int]]:
    """Write chunks through one session's writer; (claim, offsets)."""
    writer = repo.acquire_writer()
    offsets = [writer.append(chunk) for chunk in chunks]
    writer.flush()
    repo.release_writer(writer)
    return writer.claim, offsets


def test_many_flowfiles_share_one_claim_file(content: ContentRepository) -> None:
    claim, offsets = write(content, b"alpha", b"beta")
    again, more = write(content, b"gamma")
    assert again == claim, "an idle writer with room is reused"
    assert offsets + more == [0, 5, 9]
    assert content.path_of(claim).read_bytes() == b"alphabetagamma"
    assert content.read(claim, 5, 4) == b"beta"
    assert content.read(claim, 9, 5) == b"gamma"
    assert content.claims_on_disk() == {claim}


def test_claim_rolls_past_claim_max_bytes(content: ContentRepository) -> None:
    first, _ = write(content, b"x" * 60)
    same, _ = write(content, b"y" * 60)  # 120 bytes now: full, closed on release
    assert same == first
    fresh, offsets = write(content, b"z" * 10)
    assert fresh != first and offsets == [0]
    assert content.path_of(first).stat().st_size == 120
    assert content.read(fresh, 0, 10) == b"z" * 10


def test_concurrent_writers_get_distinct_claims(content: ContentRepository) -> None:
    one, two = content.acquire_writer(), content.acquire_writer()
    assert one.claim != two.claim
    one.append(b"1")
    two.append(b"2")
    content.release_writer(one)
    content.release_writer(two)
    assert content.read(one.claim, 0, 1) == b"1"
    assert content.read(two.claim, 0, 1) == b"2"


def test_read_sees_unflushed_bytes_of_an_open_writer(content: ContentRepository) -> None:
    writer = content.acquire_writer()
    offset = writer.append(b"buffered")
    assert content.read(writer.claim, offset, 8) == b"buffered"
    content.release_writer(writer)


def test_open_streams_large_content(tmp_path: Path) -> None:
    repo = ContentRepository(tmp_path / "c", claim_max_bytes=10 * 1024 * 1024)
    try:
        big = bytes(range(256)) * 1200  # 300 KiB, past the in-memory limit
        writer = repo.acquire_writer()
        writer.append(b"head")
        offset = writer.append(big)
        writer.append(b"tail")  # still buffered: open must flush first
        with repo.open(writer.claim, offset, len(big)) as stream:
            chunks = []
            while chunk := stream.read(50_000):
                chunks.append(chunk)
        assert b"".join(chunks) == big
        repo.release_writer(writer)
    finally:
        repo.close()


def test_no_content_reads_empty(content: ContentRepository) -> None:
    assert content.read(0, 0, 0) == b""
    assert content.open(0, 0, 0).read() == b""


def test_short_claim_raises(content: ContentRepository) -> None:
    claim, _ = write(content, b"12345")
    with pytest.raises(RepositoryError, match="short"):
        content.read(claim, 2, 10)


def test_missing_claim_raises(content: ContentRepository) -> None:
    with pytest.raises(RepositoryError, match="cannot read content claim 999"):
        content.read(999, 0, 4)


# -- reference counts and reclamation --------------------------------------------------


def full_claim(repo: ContentRepository, data: bytes = b"q" * 100) -> int:
    """A claim written to its maximum, so its writer is closed for good."""
    claim, _ = write(repo, data)
    assert claim not in repo._writing
    return claim


def test_adjust_counts_references(content: ContentRepository) -> None:
    claim = full_claim(content)
    content.adjust({claim: 3, 0: 5})
    assert content.count(claim) == 3
    assert content.count(0) == 0
    content.adjust({claim: -1})
    assert content.count(claim) == 2
    assert content.reclaim(ALL_EVENTS_GONE) == 0
    assert content.path_of(claim).exists()
    content.adjust({claim: -2})
    assert content.count(claim) == 0
    assert content.reclaim(ALL_EVENTS_GONE) == 1
    assert not content.path_of(claim).exists()


def test_reclaim_spares_claims_being_written(content: ContentRepository) -> None:
    writer = content.acquire_writer()
    writer.append(b"in progress")
    writer.flush()
    content.adjust({writer.claim: 1})
    content.adjust({writer.claim: -1})
    assert content.reclaim(ALL_EVENTS_GONE) == 0
    content.release_writer(writer)  # has room: pooled, still open
    assert content.reclaim(ALL_EVENTS_GONE) == 0
    assert content.read(writer.claim, 0, 11) == b"in progress"


def test_reclaim_spares_claims_provenance_may_still_point_at(
    content: ContentRepository, provenance: Provenance
) -> None:
    claim = full_claim(content)
    content.adjust({claim: 1})
    provenance.high = 41  # events up to 41 may point at the claim when it is let go
    content.adjust({claim: -1})
    provenance.high = 99
    assert content.reclaim(retained_from=41) == 0, "event 41 is still retained"
    assert content.path_of(claim).exists()
    assert content.reclaim(retained_from=42) == 1, "every event up to 41 is gone"
    assert not content.path_of(claim).exists()


def test_reclaim_deletes_only_zero_count_claims(content: ContentRepository) -> None:
    kept, dropped = full_claim(content), full_claim(content)
    content.adjust({kept: 2, dropped: 1})
    content.adjust({kept: -1, dropped: -1})
    assert content.reclaim(ALL_EVENTS_GONE) == 1
    assert content.path_of(kept).exists()
    assert not content.path_of(dropped).exists()
    assert content.reclaim(ALL_EVENTS_GONE) == 0


def test_full_claim_released_with_no_references_is_a_candidate(
    content: ContentRepository,
) -> None:
    claim = full_claim(content)  # written, never referenced (a rolled back session)
    assert content.reclaim(ALL_EVENTS_GONE) == 1
    assert not content.path_of(claim).exists()


def test_restore_counts_marks_unreferenced_claims_on_disk(tmp_path: Path) -> None:
    directory = tmp_path / "content_repository"
    repo = ContentRepository(directory, claim_max_bytes=10)
    held, orphan = full_claim(repo, b"h" * 10), full_claim(repo, b"o" * 10)
    repo.close()

    repo = ContentRepository(directory, claim_max_bytes=10)
    try:
        assert repo.claims_on_disk() == {held, orphan}
        repo.restore_counts({held: 2, orphan: 0})
        assert (repo.count(held), repo.count(orphan)) == (2, 0)
        assert repo.reclaim(ALL_EVENTS_GONE) == 1
        assert repo.claims_on_disk() == {held}
        fresh, _ = write(repo, b"n")
        assert fresh > max(held, orphan), "claim ids continue after the ones on disk"
    finally:
        repo.close()


def test_disk_usage_counts_claim_bytes(content: ContentRepository) -> None:
    write(content, b"x" * 42)
    assert content.disk_usage() == 42


@pytest.mark.parametrize("count", [3, 2500])  # buffered; then writev, past IOV_MAX parts
def test_append_all_puts_parts_one_after_another(tmp_path: Path, count: int) -> None:
    repo = ContentRepository(tmp_path / "content_repository")
    try:
        writer = repo.acquire_writer()
        head = writer.append(b"head")
        body = memoryview(b"".join(bytes([i % 251]) * 300 for i in range(count)))
        parts = [body[i * 300 : (i + 1) * 300] for i in range(count)]
        start = writer.append_all(parts)
        tail = writer.append(b"tail")
        writer.flush()
        assert (head, start, tail) == (0, 4, 4 + 300 * count)
        assert repo.path_of(writer.claim).read_bytes() == b"head" + body + b"tail"
        assert repo.read(writer.claim, 4 + 300 * (count - 1), 300) == parts[-1]
        repo.release_writer(writer)
    finally:
        repo.close()
