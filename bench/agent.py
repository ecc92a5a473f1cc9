"""The agent's footprint: RSS and CPU of `headwater run flows/agent.yaml` over time.

The device flow (a reading every second, an image every 10 s) runs as its own process
with the API off, as an agent would; psutil samples its resident memory and CPU every
few seconds. Goals (issue 4): at most 30 MB RSS without the classifier and 2% of one
core without images. Anchors printed beside them: MiNiFi Java's default heap, 256 MB,
and MiNiFi's promise of "less than 40 MB". A run without images sets the camera's
period beyond the run.

    python bench/agent.py [--seconds 120] [--no-images]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

FLOW = Path(__file__).resolve().parents[1] / "flows" / "agent.yaml"


def run(seconds: float, images: bool) -> tuple[list[float], float]:
    """RSS samples in MB, and CPU as a share of one core over the steady part."""
    with tempfile.TemporaryDirectory(prefix="hw-agent-") as data:
        flow = FLOW.read_text()
        if not images:
            flow = flow.replace("schedule: {period: 10 sec}", "schedule: {period: 1000 days}")
        path = Path(data) / "agent.yaml"
        path.write_text(flow)
        command = [sys.executable, "-m", "headwater", "run", str(path), "--api", "off"]
        command += ["--data-dir", f"{data}/repo", "-p", f"out_dir={data}/out"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            agent = psutil.Process(process.pid)
            time.sleep(min(10.0, seconds / 4))  # start-up is not the steady state
            cpu_start = sum(agent.cpu_times()[:2])
            started = time.monotonic()
            samples = []
            while time.monotonic() - started < seconds:
                samples.append(agent.memory_info().rss / 2**20)
                time.sleep(2.0)
            cpu = (sum(agent.cpu_times()[:2]) - cpu_start) / (time.monotonic() - started)
        finally:
            process.terminate()
            _, errors = process.communicate(timeout=30)
        if process.returncode not in (0, -15):
            raise SystemExit(f"the agent failed: {errors.decode()[-2000:]}")
    return samples, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--no-images", action="store_true")
    args = parser.parse_args()
    samples, cpu = run(args.seconds, not args.no_images)
    kind = "readings only" if args.no_images else "readings and images"
    print(f"agent ({kind}, classifier not loaded), {args.seconds:.0f} s steady state")
    print(
        f"  RSS   median {statistics.median(samples):6.1f} MB  max {max(samples):6.1f} MB"
        "   (goal: 30 MB; MiNiFi Java default heap 256 MB, MiNiFi's promise < 40 MB)"
    )
    print(f"  CPU   {cpu * 100:5.2f}% of one core   (goal: 2% without images)")


if __name__ == "__main__":
    main()
