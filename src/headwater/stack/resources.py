"""``ResourceMonitor``: the demo's memory and CPU, measured with psutil over the run.

The issue's goal is the whole demo (hub, services, devices, Spark runs) under 1.5 GB
resident and at least half the machine's cores idle. So it samples this process and
every descendant (model replicas, agents, spark-submit and its JVM) once a second:
the peak of their summed RSS, and the CPU time they used, each process's last seen
time counted once even after it ended, divided by the wall time and the core count.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import psutil

GB = 1024**3


@dataclass(frozen=True)
class ResourceUse:
    peak_rss: int  # bytes, the largest sum seen
    cpu_percent: float  # average use of the whole machine, 0-100
    seconds: float
    cores: int
    processes: int  # how many processes were seen over the run

    @property
    def idle_percent(self) -> float:
        return 100.0 - self.cpu_percent

    def line(self) -> str:
        return (
            f"resources: peak RSS {self.peak_rss / GB:.2f} GB (goal < 1.5),"
            f" CPU {self.cpu_percent:.0f}% of {self.cores} cores on average, so"
            f" {self.idle_percent:.0f}% idle (goal >= 50%), over {self.seconds:.0f} s"
            f" and {self.processes} processes"
        )


class ResourceMonitor:
    """Samples the process tree of ``pid`` every ``period`` seconds on a thread."""

    def __init__(self, pid: int | None = None, period: float = 1.0) -> None:
        self.root = psutil.Process(pid or os.getpid())
        self.period = period
        self.peak_rss = 0
        self._cpu: dict[tuple[int, float], float] = {}  # (pid, create time) -> cpu seconds
        self._started = time.monotonic()
        self._baseline: dict[tuple[int, float], float] = {}
        self._ended: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._started = time.monotonic()
        self.sample()  # what the processes used before the run is not the run's
        self._baseline = dict(self._cpu)
        self._thread = threading.Thread(target=self._run, name="resource-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = 0
        for process in processes:
            try:
                with process.oneshot():
                    rss += process.memory_info().rss
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
            except psutil.Error:  # ended between listing and reading
                continue
            self._cpu[key] = times.user + times.system
        self.peak_rss = max(self.peak_rss, rss)

    def stop(self) -> ResourceUse:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.sample()
        self._ended = time.monotonic()
        return self.result()

    def result(self) -> ResourceUse:
        end = self._ended if self._ended is not None else time.monotonic()
        seconds = max(end - self._started, 1e-6)
        cores = psutil.cpu_count() or 1
        used = sum(self._cpu.values()) - sum(self._baseline.values())
        return ResourceUse(
            self.peak_rss,
            min(100.0, 100.0 * used / seconds / cores),
            seconds,
            cores,
            len(self._cpu),
        )
