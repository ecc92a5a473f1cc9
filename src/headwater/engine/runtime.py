"""Process-wide settings for a process whose main job is running a flow.

Sessions allocate thousands of short-lived objects per batch (FlowFile versions,
attribute maps, rows, events) and free them at commit. With CPython's default
threshold the cyclic garbage collector runs every 700 net allocations, about 900
times per 30,000 FlowFiles, and walks the young objects each time, though they are
freed by reference counting anyway: measured 5% of the engine's time, and 7% more
throughput without it (``bench/engine.py``). Raising the threshold keeps cycles
collected, only less often; freezing moves what start-up created (modules, the flow)
out of every later collection.

The interpreter's switch interval goes from 5 ms to 1 ms. A thread that gives up the
GIL for a moment (an fsync, a SQLite statement, a socket write) waits for a busy
thread's interval to end before it runs again, so a commit of four statements beside
a merge of 10,000 FlowFiles took 20-80 ms: the "convoy" that made the ingest p99
(``bench/ingest.py``). Shorter turns cost busy threads little.

Called by ``headwater run``, not by the library: an embedding application keeps its
own settings.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (50_000, 20, 100)
SWITCH_INTERVAL = 0.001  # seconds


def tune_for_throughput() -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
