"""ContentRepository.read_many: many contents, each claim file opened once."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.errors import RepositoryError
from headwater.repository.content import ContentRepository


def test_read_many_returns_each_content_in_order_across_claims(tmp_path: Path) -> None:
    repo = ContentRepository(tmp_path / "content", claim_max_bytes=64)
    items = []
    for round_ in range(3):  # three claims: each writer fills past 64 bytes, then rolls
        writer = repo.acquire_writer()
        for i in range(5):
            data = f"claim{round_}-item{i}-".encode() * (i + 1)
            items.append(((writer.claim, writer.append(data), len(data)), data))
        if round_ < 2:
            writer.flush()
        repo.release_writer(writer)  # the last one stays unflushed: read_many flushes it
    wanted = [item for item, _ in items]
    wanted.insert(3, (0, 0, 0))  # no content
    expected = [data for _, data in items]
    expected.insert(3, b"")
    assert repo.read_many(wanted[::-1]) == expected[::-1]
    assert repo.read_many([wanted[0], wanted[-1]]) == [expected[0], expected[-1]]
    assert repo.read_many([wanted[0], wanted[4]]) == [expected[0], expected[4]]  # sparse
    repo.close()


def test_read_many_reports_a_short_claim(tmp_path: Path) -> None:
    repo = ContentRepository(tmp_path / "content")
    writer = repo.acquire_writer()
    offset = writer.append(b"abc")
    writer.flush()
    with pytest.raises(RepositoryError, match="short"):
        repo.read_many([(writer.claim, offset, 10)])
    repo.release_writer(writer)
    repo.close()
