"""Provenance is written before the FlowFiles and confirmed in their transaction, so a
crash between the two never leaves lineage behind for FlowFiles that did not commit,
and never loses the lineage of FlowFiles that did."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.engine.repositories import Repositories
from headwater.errors import RepositoryError
from headwater.processors.attributes import UpdateAttribute
from headwater.testing import TestRunner


def broken(*args: object, **kwargs: object) -> None:
    raise RepositoryError("disk full")


def test_a_failed_provenance_write_rolls_the_session_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = TestRunner(UpdateAttribute, {"seen": "yes"}, data_dir=tmp_path)
    runner.enqueue(b"x")
    monkeypatch.setattr(runner.repositories.provenance, "write", broken)
    with pytest.raises(RepositoryError):
        runner.run()
    assert runner.queue_size() == 1, "nothing committed: the input is back in its queue"
    assert "success" not in runner.repositories.flowfiles.queue_summaries()
    runner.close()


def test_events_of_a_session_that_died_before_its_flowfiles_are_removed_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = TestRunner(UpdateAttribute, {"seen": "yes"}, data_dir=tmp_path)
    runner.enqueue(b"kept")
    runner.run()  # committed and confirmed
    runner.enqueue(b"lost")
    repos = runner.repositories
    monkeypatch.setattr(repos.flowfiles, "commit", broken)  # dies after provenance...
    monkeypatch.setattr(repos.provenance, "remove", broken)  # ...before it can clean up
    with pytest.raises(RepositoryError):
        runner.run()
    assert repos.provenance.count() == 2, "the dead session's event was written"
    monkeypatch.undo()
    runner.close()  # a clean close settles only what is settled: the dead session is not

    reopened = Repositories.open(tmp_path)
    try:
        events = reopened.provenance.query(limit=10)
        assert [str(e.event_type) for e in events] == ["ATTRIBUTES_MODIFIED"]
        assert reopened.flowfiles.queue_summaries()["success"][0] == 1
        assert reopened.flowfiles.queue_summaries()["input"][0] == 1, "the input waits"
    finally:
        reopened.close()


def test_confirmed_events_survive_restarts_and_the_ledger_stays_small(tmp_path: Path) -> None:
    runner = TestRunner(UpdateAttribute, {"n": "1"}, data_dir=tmp_path)
    for _ in range(5):
        runner.enqueue(b"x")
        runner.run()
    settled, confirmed = runner.repositories.flowfiles.ledger()
    assert settled >= 4 and len(confirmed) <= 2, "settled ranges leave the ledger"
    runner.close()
    for _ in range(2):
        reopened = Repositories.open(tmp_path)
        try:
            kinds = [str(e.event_type) for e in reopened.provenance.query(limit=100)]
            assert kinds == ["ATTRIBUTES_MODIFIED"] * 5
        finally:
            reopened.close()


def test_events_registered_directly_survive_a_clean_close(tmp_path: Path) -> None:
    """Events no session confirms (written straight to the provenance repository) are
    settled by a clean close, so the next start keeps them."""
    repos = Repositories.open(tmp_path)
    runner = TestRunner(UpdateAttribute, {"n": "1"}, data_dir=tmp_path / "other")
    runner.enqueue(b"x")
    runner.run()
    event = runner.provenance_events()[0]
    event.event_id = -1
    repos.provenance.register([event])
    repos.close()
    runner.close()
    reopened = Repositories.open(tmp_path)
    try:
        assert reopened.provenance.count() == 1
    finally:
        reopened.close()
