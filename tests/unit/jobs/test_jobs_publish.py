"""jobs/publish.py: a job's table is swapped in whole, and overlapping runs do not
break each other (they used to share Spark's _temporary folder)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import pytest

SPEC = importlib.util.spec_from_file_location(
    "publish", Path(__file__).resolve().parents[3] / "jobs" / "publish.py"
)
assert SPEC is not None and SPEC.loader is not None
publish = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(publish)


class Frame:
    """Stands in for a Spark DataFrame: ``coalesce(1).write.mode(m).parquet(path)``."""

    def __init__(self, text: str, gate: threading.Barrier | None = None) -> None:
        self.text = text
        self.gate = gate
        self.write = self

    def coalesce(self, _: int) -> Frame:
        return self

    def mode(self, _: str) -> Frame:
        return self

    def parquet(self, path: str) -> None:
        Path(path).mkdir(parents=True)
        if self.gate is not None:
            self.gate.wait(5)  # both runs are writing now
        (Path(path) / "part-0.parquet").write_text(self.text)


def test_overlapping_runs_each_leave_a_whole_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Barrier(2)
    results: list[Any] = []

    def run(engine: str) -> None:
        results.append(publish.parquet(Frame(engine, gate), str(tmp_path), "t.parquet"))

    monkeypatch.delenv("CDSW_ENGINE_ID", raising=False)
    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [str(tmp_path / "t.parquet")] * 2
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    assert (tmp_path / "t.parquet" / "part-0.parquet").read_text() in ("a", "b")

    monkeypatch.setenv("CDSW_ENGINE_ID", "run1")
    publish.parquet(Frame("c"), str(tmp_path), "t.parquet")
    assert (tmp_path / "t.parquet" / "part-0.parquet").read_text() == "c"
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
