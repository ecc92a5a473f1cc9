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

On glibc, freed memory stays with the process up to ``MALLOC_KEEP`` instead of going
back to the kernel at once. A site-to-site transaction arrives as megabytes (the body,
then its stream): by glibc's defaults each such buffer was a fresh mapping, and
faulting its pages in again, zeroed, cost the hub 5% of its time; measured with
``bench/site_to_site.py``: 57,000 page faults per 100,000 FlowFiles before, 41,000
after. The price is a resident size that stays at its high-water mark, as a JVM's does.

Called by ``headwater run``, not by the library: an embedding application keeps its
own settings (an agent does not call it: its memory is the figure that counts).
"""

from __future__ import annotations

import ctypes
import gc
import platform
import sys

GC_THRESHOLDS = (50_000, 20, 100)
SWITCH_INTERVAL = 0.001  # seconds
MALLOC_KEEP = 128 * 1024**2  # freed heap kept for reuse (glibc's M_TRIM_THRESHOLD)
MALLOC_MAP_ABOVE = 64 * 1024**2  # larger blocks are mappings of their own (M_MMAP_THRESHOLD)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def tune_for_throughput() -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)
    keep_freed_memory()


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse (see above); False where there is no glibc."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(
            libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_KEEP)
            and libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_MAP_ABOVE)
        )
    except (OSError, AttributeError):  # a libc without mallopt
        return False
