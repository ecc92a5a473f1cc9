"""Back pressure and bounded queue memory, on the scenarios of ``bench/back_pressure.py``
and ``bench/queue_memory.py`` at test size."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench"
MB = 1024 * 1024


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"headwater_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_slow_consumer_keeps_queue_at_the_back_pressure_limit(tmp_path: Path) -> None:
    bench = _bench("back_pressure")
    samples = bench.sample(tmp_path, seconds=3.0, limit=1000, batch=100)
    print(samples.summary(1000))
    assert max(samples.counts) <= 1000 + 100, "never above the limit plus one batch"
    steady = samples.steady
    assert min(steady) >= 900, "the source refills the queue as the consumer takes from it"
    assert samples.written > 0
    # Back pressure held the source back: it made about what fits in the queue plus
    # what the consumer took, nowhere near what it could make unchecked.
    assert samples.generated <= samples.written + 1000 + 100


@pytest.mark.timeout(180)
def test_200k_queued_keep_memory_bounded_and_survive_a_restart(tmp_path: Path) -> None:
    bench = _bench("queue_memory")
    figures = bench.fill(tmp_path, 200_000)
    print(figures.summary())
    assert figures.queued >= 200_000
    assert figures.peak_rss - figures.rss_before_fill < 300 * MB
    assert figures.queued_after_restart == figures.queued
    assert figures.exit_codes == (0, 0)
