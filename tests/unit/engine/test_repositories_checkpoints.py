"""``repository-checkpoints`` (a checkpoint thread per repository, or SQLite's own) and
``repository-page-size``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from headwater.engine.repositories import Repositories
from headwater.flow.model import EngineSettings
from headwater.flowfile import FlowFile


@pytest.mark.parametrize(
    ("background", "page_size", "autocheckpoint"),
    [(True, 65536, 1024), (True, 4096, 16384), (False, 65536, 64), (False, 4096, 1024)],
)
def test_checkpoints_run_in_threads_only_in_the_background(
    tmp_path: Path, background: bool, page_size: int, autocheckpoint: int
) -> None:
    settings = EngineSettings(background_checkpoints=background, page_size=page_size)
    repos = Repositories.open(tmp_path, settings)
    try:
        names = [t.name for t in threading.enumerate() if str(tmp_path) in t.name]
        assert sorted(n.split()[0] for n in names) == (
            ["flowfile-checkpoint", "provenance-checkpoint"] if background else []
        )
        writers = (repos.flowfiles._db, repos.provenance._writer)
        for writer in writers:
            assert writer.execute("PRAGMA wal_autocheckpoint").fetchone() == (autocheckpoint,)
        (seq,) = repos.flowfiles.next_seqs(1)
        ff = FlowFile.create({"n": "1"})
        ff.seq, ff.queued_at = seq, 1
        repos.flowfiles.commit([repos.flowfiles.row("q", ff)], [])
    finally:
        repos.close()
    reopened = Repositories.open(tmp_path, settings)
    try:
        assert [f.uuid for f in reopened.flowfiles.page("q", 0, 1 << 62, 10)] == [ff.uuid]
    finally:
        reopened.close()


def test_the_page_size_applies_to_new_repositories_only(tmp_path: Path) -> None:
    def page_sizes(repos: Repositories) -> list[int]:
        writers = (repos.flowfiles._db, repos.provenance._writer)
        return [w.execute("PRAGMA page_size").fetchone()[0] for w in writers]

    repos = Repositories.open(tmp_path, EngineSettings(page_size=4096))
    try:
        assert page_sizes(repos) == [4096, 4096]
    finally:
        repos.close()
    reopened = Repositories.open(tmp_path)  # 64 KB by default: an existing file keeps its own
    try:
        assert page_sizes(reopened) == [4096, 4096]
    finally:
        reopened.close()
    fresh = Repositories.open(tmp_path / "new")
    try:
        assert page_sizes(fresh) == [65536, 65536]
    finally:
        fresh.close()
