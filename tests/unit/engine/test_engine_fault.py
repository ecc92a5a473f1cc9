"""A repository failing after the FlowFile repository committed is an engine fault:
the repository holds the truth, so nothing is put back in memory to be processed twice,
and the session's provenance, journaled with its FlowFiles, is written at the next start."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.engine.repositories import Repositories
from headwater.errors import RepositoryError
from headwater.processors.attributes import UpdateAttribute
from headwater.repository.provenance_rows import PreparedEvents
from headwater.testing import TestRunner


def test_provenance_failure_after_flowfile_commit_keeps_the_committed_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = TestRunner(UpdateAttribute, {"seen": "yes"}, data_dir=tmp_path)
    flowfile = runner.enqueue(b"x")

    def crash(prepared: PreparedEvents, *, replay: bool = False) -> None:
        raise RepositoryError("disk full")

    monkeypatch.setattr(runner.repositories.provenance, "write", crash)
    with pytest.raises(RepositoryError):
        runner.run()
    assert runner.queue_size() == 0, "the input was not put back: the repository moved it"
    assert runner.repositories.flowfiles.queue_summaries()["success"][0] == 1
    assert len(runner.repositories.flowfiles.journal()) == 1
    monkeypatch.undo()
    runner.close()

    reopened = Repositories.open(tmp_path)  # replays the journal
    try:
        events = reopened.provenance.query(flowfile=flowfile.uuid)
        assert [str(e.event_type) for e in events] == ["ATTRIBUTES_MODIFIED"]
        assert events[0].attributes["seen"] == "yes"
        assert reopened.flowfiles.journal() == []
        assert reopened.provenance.high_water() >= events[0].event_id
    finally:
        reopened.close()


def test_journal_entries_are_dropped_once_provenance_has_them(tmp_path: Path) -> None:
    runner = TestRunner(UpdateAttribute, {"n": "1"}, data_dir=tmp_path)
    for _ in range(3):
        runner.enqueue(b"x")
        runner.run()
    assert len(runner.repositories.flowfiles.journal()) <= 1, "done entries go with a commit"
    runner.close()
    reopened = Repositories.open(tmp_path)
    try:
        kinds = [str(e.event_type) for e in reopened.provenance.query(limit=100)]
        assert kinds == ["ATTRIBUTES_MODIFIED"] * 3, "a replay never stores an event twice"
    finally:
        reopened.close()
