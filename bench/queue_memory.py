"""Queue memory: a million FlowFiles queued keep ``headwater run`` under 500 MB RSS.

GenerateFlowFile fills a connection with no back-pressure limit whose consumer is
disabled, in a real ``headwater run`` process; past the swap threshold the queue keeps
only seq numbers in memory and the FlowFiles themselves in the FlowFile repository.
Once the target is queued, GenerateFlowFile is stopped through the API, the hub is
stopped with SIGTERM and started again on the same data directory: the queue must
hold the same count, restored from the repository.

Prints the queued count, the hub's peak RSS (VmHWM) while filling, the time to fill,
to stop and to restart, and the RSS after the restart.

    python bench/queue_memory.py [--flowfiles 1000000]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

API_LINE = re.compile(r"API on (http://[\d.]+:\d+)")
MB = 1024 * 1024

FLOW = """\
flow: queue-memory
processors:
  generate:
    type: GenerateFlowFile
    enabled: {generate}
    properties: {{Batch Size: {batch}, File Size: 16 B}}
    schedule: {{period: 0 sec}}
  consume:
    type: UpdateAttribute
    enabled: false
    auto-terminate: [success]
connections:
  - {{id: queued, from: generate, relationships: [success], to: consume,
     back-pressure: {{objects: 0, size: 0}}}}
"""


class Hub:
    """``headwater run`` with its API on a free port; output to a log file."""

    def __init__(self, flow: Path, data_dir: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        command = [sys.executable, "-m", "headwater", "run", str(flow), "--data-dir"]
        command += [str(data_dir), "--api", "127.0.0.1:0", "--log-level", "WARNING"]
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = ""

    def wait_for_api(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = API_LINE.search(self.log_path.read_text(errors="replace"))
            if found:
                self.url = found.group(1) + "/api/v1"
                return self.url
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited: {self.log_path.read_text()}")
            time.sleep(0.02)
        raise TimeoutError(f"the hub did not print its API address within {timeout}s")

    def status(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/status", timeout=30)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def queued(self) -> int:
        return sum(c["queuedCount"] for c in self.status()["connections"])

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def peak_rss(self) -> int:
        """VmHWM: the highest RSS the process ever had (Linux); else the current RSS."""
        try:
            text = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return self.rss()
        found = re.search(r"VmHWM:\s+(\d+) kB", text)
        return int(found.group(1)) * 1024 if found else self.rss()

    def stop(self, timeout: float = 120.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit within ``timeout``."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
            self._log.close()


@dataclass
class Figures:
    queued: int = 0
    peak_rss: int = 0
    rss_before_fill: int = 0
    fill_seconds: float = 0.0
    stop_seconds: float = 0.0
    restart_seconds: float = 0.0
    queued_after_restart: int = 0
    rss_after_restart: int = 0
    exit_codes: tuple[int, int] = (0, 0)

    def summary(self) -> str:
        return (
            f"queued {self.queued:,} in {self.fill_seconds:.1f} s"
            f" ({self.queued / max(self.fill_seconds, 1e-9):,.0f}/s);"
            f" RSS before {self.rss_before_fill / MB:.0f} MB, peak {self.peak_rss / MB:.0f} MB;"
            f" stopped in {self.stop_seconds:.1f} s; restarted in {self.restart_seconds:.1f} s"
            f" with {self.queued_after_restart:,} queued, RSS {self.rss_after_restart / MB:.0f} MB"
        )


def fill(root: Path, flowfiles: int, *, batch: int = 1000, poll: float = 0.25) -> Figures:
    """Queue ``flowfiles`` (or a batch more), stop, restart, and measure."""
    flow = root / "queue-memory.yaml"
    flow.write_text(FLOW.format(batch=batch, generate="true"))
    # The restart runs the same flow with GenerateFlowFile disabled, so what it shows
    # queued is exactly what the repository restored.
    held = root / "queue-memory-held.yaml"
    held.write_text(FLOW.format(batch=batch, generate="false"))
    data_dir = root / "data"
    figures = Figures()
    hub = Hub(flow, data_dir, root / "fill.log")
    try:
        hub.wait_for_api()
        figures.rss_before_fill = hub.rss()
        started = time.monotonic()
        while hub.queued() < flowfiles:
            if hub.process.poll() is not None:
                raise RuntimeError(f"the hub exited: {hub.log_path.read_text()}")
            time.sleep(poll)
        httpx.post(f"{hub.url}/processors/generate/stop", timeout=60).raise_for_status()
        figures.fill_seconds = time.monotonic() - started
        figures.queued = hub.queued()
        figures.peak_rss = hub.peak_rss()
        stopping = time.monotonic()
    finally:
        first = hub.stop()
    figures.stop_seconds = time.monotonic() - stopping
    started = time.monotonic()
    hub = Hub(held, data_dir, root / "restart.log")
    try:
        hub.wait_for_api()
        figures.queued_after_restart = hub.queued()
        figures.restart_seconds = time.monotonic() - started
        figures.rss_after_restart = hub.rss()
    finally:
        second = hub.stop()
    figures.exit_codes = (first, second)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flowfiles", type=int, default=1_000_000)
    parser.add_argument("--limit-mb", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headwater-queue-") as tmp:
        figures = fill(Path(tmp), args.flowfiles)
    print(figures.summary())
    ok = (
        figures.peak_rss < args.limit_mb * MB
        and figures.queued_after_restart == figures.queued
        and figures.exit_codes == (0, 0)
    )
    print(f"peak RSS under {args.limit_mb} MB and every FlowFile back after restart: {ok}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
