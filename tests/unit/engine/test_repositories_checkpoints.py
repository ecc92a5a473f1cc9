"""``repository-checkpoints``: a checkpoint thread per repository, or SQLite's own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from headwater.engine.repositories import Repositories
from headwater.flow.model import EngineSettings
from headwater.flowfile import FlowFile
from headwater.repository.sqlite import WAL_PAGES


@pytest.mark.parametrize(("background", "autocheckpoint"), [(True, WAL_PAGES), (False, 1000)])
def test_checkpoints_run_in_threads_only_in_the_background(
    tmp_path: Path, background: bool, autocheckpoint: int
) -> None:
    settings = EngineSettings(background_checkpoints=background)
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
