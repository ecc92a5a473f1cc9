import gc

from headwater.engine.runtime import GC_THRESHOLDS, tune_for_throughput


def test_tuning_raises_the_collector_threshold_and_still_collects_cycles() -> None:
    before = gc.get_threshold()
    try:
        tune_for_throughput()
        assert gc.get_threshold() == GC_THRESHOLDS
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1, "cycles are still collected"
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
