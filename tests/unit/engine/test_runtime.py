import gc
import sys

from headwater.engine.runtime import GC_THRESHOLDS, SWITCH_INTERVAL, tune_for_throughput


def test_tuning_raises_the_collector_threshold_and_still_collects_cycles() -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        tune_for_throughput()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert sys.getswitchinterval() == SWITCH_INTERVAL < interval
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1, "cycles are still collected"
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)
