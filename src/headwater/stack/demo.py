"""``run_demo``: the stack, N simulated devices, a progress line, and a summary at the end.

The summary says what was produced and where, from the outputs themselves (the lake's
Parquet row counts, the FTP store's JPEGs, the job runs, the alerts), and what the
whole demo cost: the peak RSS of every process it ran and its average CPU use,
against the issue's goals (under 1.5 GB, at least half the cores idle).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TextIO

from headwater.stack.devices import Devices, device_ids
from headwater.stack.progress import Counts, DemoCounter, ProgressLine
from headwater.stack.resources import ResourceMonitor, ResourceUse
from headwater.stack.up import Stack, StackOptions

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    counts: Counts
    resources: ResourceUse
    exit_codes: dict[str, int | None]


def run_demo(
    options: StackOptions,
    devices: int,
    duration: float | None,
    stop: threading.Event,
    stream: TextIO,
    say: Say,
) -> DemoResult:
    """Run until ``stop`` is set or ``duration`` passes; print the summary; the result."""
    ids = device_ids(devices)
    stack = Stack(replace(options, agents=ids), say)
    monitor = ResourceMonitor()
    fleet: Devices | None = None
    codes: dict[str, int | None] = {}
    try:
        stack.start()
        assert stack.secrets is not None
        fleet = Devices(ids, stack.layout, stack.secrets, stack.endpoints, stack.cache)
        for line in stack.describe():
            say(line)
        samples = fleet.samples or "none: the agents draw their images"
        say(f"  devices     {', '.join(ids)} in {stack.layout.devices} (sample photos: {samples})")
        monitor.start()
        fleet.start()
        counter = DemoCounter(stack)
        deadline = None if duration is None else time.monotonic() + duration
        reported: set[str] = set()
        with ProgressLine(counter.count, stream) as progress:
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                progress.tick()
                for device in fleet.exited():
                    if device.device_id not in reported:
                        reported.add(device.device_id)
                        progress.end()
                        say(f"demo: agent {device.device_id} exited; see {device.log_path}")
                stop.wait(0.5)
        say("demo: stopping the devices, then the stack ...")
    finally:
        if fleet is not None:
            codes = fleet.stop()
        final = DemoCounter(stack).count() if stack.controller is not None else Counts()
        stack.stop()
    use = monitor.stop()
    for line in summary(stack, final, use, codes):
        say(line)
    return DemoResult(final, use, codes)


def summary(
    stack: Stack, counts: Counts, use: ResourceUse, codes: dict[str, int | None]
) -> list[str]:
    layout = stack.layout
    lake = layout.lake
    lines = [
        "demo summary:",
        f"  readings    {counts.readings} rows in {counts.reading_files} files,"
        f" {lake / 'sensors'}/<day>/*.parquet",
        f"  images      {counts.images} rows in {lake / 'images'}/<day>/*.parquet;"
        f" {counts.stored_jpegs} JPEGs in the FTP store, {layout.images}",
        f"  job runs    {counts.job_runs} ({counts.jobs_succeeded} succeeded);"
        f" {counts.jobstatus_rows} status rows in {lake / 'jobstatus'};"
        f" logs and output in {layout.jobs}",
        f"  alerts      {counts.alerts} in {layout.alerts}",
        f"  queued      {counts.queued} FlowFiles kept in the hub's queues ({layout.hub})",
        f"  devices     {', '.join(f'{k} exit {v}' for k, v in codes.items()) or 'none'}"
        f" (logs in {layout.devices}/<device>/agent.log)",
        f"  web UI      {stack.ui_url} (while `headwater up` runs)",
        "  " + use.line(),
    ]
    return lines
