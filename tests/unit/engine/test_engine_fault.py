"""A repository failing after the FlowFile repository committed is an engine fault:
the repository holds the truth, so nothing is put back in memory to be processed twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.errors import RepositoryError
from headwater.processors.attributes import UpdateAttribute
from headwater.testing import TestRunner


def test_provenance_failure_after_flowfile_commit_keeps_the_committed_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = TestRunner(UpdateAttribute, {"seen": "yes"}, data_dir=tmp_path)
    runner.enqueue(b"x")

    def broken(events: object) -> None:
        raise RepositoryError("disk full")

    monkeypatch.setattr(runner.repositories.provenance, "register", broken)
    with pytest.raises(RepositoryError):
        runner.run()
    assert runner.queue_size() == 0, "the input was not put back: the repository moved it"
    assert runner.repositories.flowfiles.queue_summaries()["success"][0] == 1
    runner.close()
