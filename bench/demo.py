"""The whole demo's footprint: `headwater demo --devices 3` for some minutes, measured.

The issue's goal: the hub, three devices and every service together under 1.5 GB RSS,
leaving at least half of the two cores idle at the default rates. The demo runs as
`headwater demo` would from a terminal (its own process, free ports, a temporary data
dir unless --data-dir), and psutil samples its whole process tree every second from
outside after the stack is up (the model replicas, the agents, spark-submit and its
JVM included; a process that ended still counts its CPU): the peak of the summed RSS,
and the CPU used over the wall time, as a share of the machine. The demo's own summary
(what it produced, its own measure) is printed after.

    python bench/demo.py [--minutes 5] [--devices 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from headwater.stack.resources import ResourceMonitor, ResourceUse

RSS_GOAL_GB = 1.5
IDLE_GOAL = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headwater-bench-demo-") as scratch:
        data_dir = args.data_dir or Path(scratch) / "data"
        return run(data_dir, args.minutes * 60, args.devices)


def run(data_dir: Path, seconds: float, devices: int) -> int:
    command = [sys.executable, "-m", "headwater", "demo", "--devices", str(devices)]
    command += ["--data-dir", str(data_dir), "--port-base", "0", "--duration", f"{seconds:g}"]
    print(f"running {' '.join(command[1:])}", flush=True)
    demo = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    monitor = ResourceMonitor(demo.pid)
    lines: list[str] = []
    measuring = False
    use: ResourceUse | None = None
    started = time.monotonic()
    for raw in demo.stdout:
        line = raw.rstrip("\n")
        lines.append(line)
        if use is None and not measuring and line.lstrip().startswith("devices "):
            monitor.start()  # from the moment the stack is up and the devices start
            measuring = True
            print(f"stack up after {time.monotonic() - started:.0f} s; measuring", flush=True)
        elif line.startswith("progress:"):
            print(line, flush=True)
        if line.startswith("demo summary:"):
            use = monitor.stop() if measuring else None
            measuring = False
    code = demo.wait()
    print("\n".join(line for line in lines if line.startswith("  ") and "summary" not in line))
    if code != 0 or use is None:
        print(f"the demo failed (exit {code}):\n" + "\n".join(lines[-40:]), file=sys.stderr)
        return 1
    rss_gb = use.peak_rss / 2**30
    print()
    print(f"{'measure':<28}{'value':>10}{'goal':>12}  ok")
    print(f"{'peak RSS, whole tree (GB)':<28}{rss_gb:>10.2f}{'< 1.5':>12}  {rss_gb < RSS_GOAL_GB}")
    idle = use.idle_percent
    print(f"{'CPU idle (% of machine)':<28}{idle:>10.0f}{'>= 50':>12}  {idle >= IDLE_GOAL}")
    print(f"{'CPU used (% of machine)':<28}{use.cpu_percent:>10.0f}")
    print(f"over {use.seconds:.0f} s, {use.cores} cores, {use.processes} processes seen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
