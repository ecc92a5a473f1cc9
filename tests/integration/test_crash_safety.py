"""Crash safety: kill -9 a running ``headwater run`` at random moments; nothing is lost.

The scenario and its checks live in ``bench/crash_safety.py`` (which runs 100,000
FlowFiles and ten kills or more); this runs it small: about 3,000 FlowFiles, 4 kills.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "crash_safety.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headwater_bench_crash_safety", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(180)
def test_kill_9_at_random_moments_loses_no_flowfile(tmp_path: Path) -> None:
    bench = _bench()
    settings = bench.Settings(
        flowfiles=3_000,
        kills=4,
        batch=50,
        period="100 ms",
        put_batch=100,
        queue_limit=1_000,
        kill_after=(0.3, 1.2),
        drain_timeout=60.0,
        seed=2,
    )
    result = bench.run(tmp_path, settings)
    print(result.summary())
    assert result.kills >= 4
    assert result.created >= 3_000
    assert result.lost == 0, result.problems
    assert result.problems == []
    # Every created FlowFile was written; only the provenance of a session cut between
    # its FlowFile-repository commit and its provenance write may be missing.
    assert result.written == result.created + result.without_create
