"""Ingest: sensor readings over HTTP into Parquet, each reading durable before its 200.

The flow is ListenHTTP → MergeRecord (JsonTreeReader → ParquetRecordSetWriter, run once
a second with two concurrent tasks, bins of at least --min-records or 1 s old) →
PutFile, with durable repositories and full provenance. wrk drives it with many
keep-alive connections:

(a) single readings: one ``sensor_reading.json`` per POST; readings/s and p50/p99
    latency, and Node-RED (http in → JSON.stringify → append to file → http response)
    under the same load in the same run, for the ratio (goal: 3x Node-RED, p99 < 50 ms);
(b) batches: 100 readings per POST (a JSON array, one FlowFile per POST, arrays read by
    MergeRecord), counted as rows in the Parquet files written (goal: 200,000/s);
(c) where the time goes: each processor's task time per reading, and the top functions
    of a sampling profile of every thread in one extra round of (a).

    python bench/ingest.py [--seconds 10] [--rounds 3] [--connections 64] [--skip-node-red]

Node-RED installs from npm into ~/.cache/headwater-bench/node-red-VERSION on first use
(5.0.7 on Node.js 22.9 or later, else 4.1.8).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import pyarrow.parquet as pq

from headwater.engine.controller import FlowController
from headwater.engine.runtime import tune_for_throughput
from headwater.flow.loader import load_flow_dict

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "sensor_reading.json"
NODE_RED_CACHE = Path.home() / ".cache" / "headwater-bench"
_FALLBACK_READING = {"uuid": "20190213043439_e58bee05", "host": "piups", "cputemp": 44}


def reading() -> bytes:
    """The seed's sensor reading, compact (about 800 bytes)."""
    if SEED.exists():
        return orjson.dumps(orjson.loads(SEED.read_bytes()))
    return orjson.dumps(_FALLBACK_READING)


class SamplingProfiler:
    """Samples every thread's Python stack (``sys._current_frames``) a few hundred times
    a second: cProfile sees one thread, and the hub's time is spread over the server's
    loop and the engine's workers. Time inside uvloop or SQLite shows as its caller."""

    def __init__(self, interval: float = 0.004) -> None:
        self.interval = interval
        self.own: Counter[str] = Counter()
        self.total: Counter[str] = Counter()
        self.samples = self.loop_native = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        skip = {threading.get_ident(), threading.main_thread().ident}  # the sampler, wrk's
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident in skip:
                    continue
                names = []
                current: FrameType | None = frame
                while current is not None:
                    code = current.f_code
                    names.append(f"{code.co_name} ({Path(code.co_filename).name})")
                    current = current.f_back
                if names[0].startswith(("wait (", "_wait_for_tstate_lock", "select (")):
                    continue  # an idle thread
                if names[0] == "_run (server.py)":
                    self.loop_native += 1  # in uvloop: sockets, or waiting for them
                    continue
                self.samples += 1
                self.own[names[0]] += 1
                for name in set(names):
                    self.total[name] += 1

    def summary(self, top: int) -> str:
        n = max(self.samples, 1)
        own = [f"      {c / n:6.1%} {name}" for name, c in self.own.most_common(top)]
        total = [f"      {c / n:6.1%} {name}" for name, c in self.total.most_common(top)]
        head = (
            f"    self time ({self.samples} samples of Python or SQLite at work; the server"
            f" loop was in uvloop, on sockets or idle, in {self.loop_native} more):"
        )
        return "\n".join([head, *own, "    inclusive:", *total])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    """ListenHTTP binds when it is scheduled, a moment after the flow starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# -- wrk -------------------------------------------------------------------------------


def lua_script(directory: Path, body: bytes) -> Path:
    path = directory / f"post-{len(body)}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
    )
    return path


def wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, float]:
    """Requests/s (2xx only), p50 and p99 in ms, and the errors wrk counted."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, url], capture_output=True, text=True)
    out = done.stdout
    if "requests in" not in out:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or out}")
    total = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    failed = float(bad.group(1)) if bad else 0.0
    return {
        "ok_per_s": (total - failed) / elapsed,
        "p50": _millis(re.search(r"50%\s+([\d.]+\w+)", out)),
        "p99": _millis(re.search(r"99%\s+([\d.]+\w+)", out)),
        "failed": failed,
        "socket_errors": 1.0 if errors else 0.0,
        "seconds": elapsed,
    }


def _millis(match: re.Match[str] | None) -> float:
    if match is None:
        return float("nan")
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", match.group(1)).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# -- the headwater hub -----------------------------------------------------------------


def ingest_flow(port: int, out_dir: Path, min_records: int, threads: int) -> dict[str, Any]:
    return {
        "flow": "bench-ingest",
        "settings": {"threads": threads},
        "services": {
            "json": {"type": "JsonTreeReader"},
            "parquet": {"type": "ParquetRecordSetWriter"},
        },
        "processors": {
            "listen": {"type": "ListenHTTP", "properties": {"Listening Port": port}},
            "merge": {
                "type": "MergeRecord",
                "properties": {
                    "record-reader": "json",
                    "record-writer": "parquet",
                    "min-records": min_records,
                    "max-records": min_records * 5,
                    "max-bin-age": "1 sec",
                },
                # Once a second, and whatever it takes is a bin by then: a bin below
                # min-records would go back to the queue (a durable write of each
                # FlowFile) and be read again, holding the FlowFile repository longer.
                # A second task starts while a long merge runs: pyarrow parses and
                # encodes without the GIL, so a merge that is behind uses both cores.
                "schedule": {"period": "1 sec", "concurrent-tasks": 2},
                "auto-terminate": ["original", "failure"],
            },
            "put": {
                "type": "PutFile",
                "properties": {"Directory": str(out_dir)},
                "auto-terminate": ["success", "failure"],
            },
        },
        "connections": [
            {  # room for the readings of a few bins: at the default 10,000 ListenHTTP
                # stops at one bin's worth and waits for the merge's next trigger
                "from": "listen",
                "relationships": ["success"],
                "to": "merge",
                "back-pressure": {"objects": min_records * 20},
            },
            {"from": "merge", "relationships": ["merged"], "to": "put"},
        ],
    }


@contextlib.contextmanager
def hub(flow: dict[str, Any]) -> Iterator[FlowController]:
    with tempfile.TemporaryDirectory(prefix="headwater-ingest-") as tmp:
        controller = FlowController(load_flow_dict(flow, "bench"), Path(tmp))
        controller.start()
        try:
            yield controller
        finally:
            controller.stop()


def parquet_rows(directory: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in directory.glob("*") if p.is_file())


def settle() -> None:
    """Write back what earlier rounds left dirty in the page cache (gigabytes after a
    round of batches), so that no round's fsyncs queue behind another's writeback."""
    os.sync()
    time.sleep(0.5)


def drain(controller: FlowController, timeout: float = 15.0) -> None:
    """Wait until every reading that got its 200 is in a Parquet file."""
    deadline = time.monotonic() + timeout
    while controller.queued() and time.monotonic() < deadline:
        time.sleep(0.05)


def run_headwater(
    body: bytes, per_post: int, args: argparse.Namespace, profiler: SamplingProfiler | None = None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="headwater-ingest-out-") as out:
        port = free_port()
        flow = ingest_flow(port, Path(out), args.min_records, args.threads)
        with hub(flow) as controller:
            url = f"http://127.0.0.1:{port}/contentListener"
            wait_for_port(port)
            script = lua_script(args.scripts, body)
            wrk(url, script, 1.0, args.connections)  # warm up
            drain(controller)
            settle()
            rows0 = parquet_rows(Path(out))
            stats0 = {n: (s.stats.tasks, s.stats.task_nanos) for n, s in controller.nodes.items()}
            if profiler is not None:
                profiler.start()
            started = time.perf_counter()
            figures = wrk(url, script, args.seconds, args.connections)
            drain(controller)
            elapsed = time.perf_counter() - started
            if profiler is not None:
                profiler.stop()
            rows = parquet_rows(Path(out)) - rows0
            figures["readings_per_s"] = figures["ok_per_s"] * per_post
            figures["parquet_rows_per_s"] = rows / elapsed
            accepted = figures["ok_per_s"] * figures["seconds"] * per_post
            for name, node in controller.nodes.items():
                tasks0, nanos0 = stats0[name]
                nanos = node.stats.task_nanos - nanos0
                figures[f"us_per_reading.{name}"] = nanos / 1000 / max(accepted, 1)
                figures[f"tasks.{name}"] = node.stats.tasks - tasks0
    return figures


# -- Node-RED --------------------------------------------------------------------------


def node_red_version() -> str | None:
    """Node-RED 5 needs Node.js 22.9 or later; on older Node.js, the last 4.1."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    text = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    major, minor = (int(x) for x in text.strip().lstrip("v").split(".")[:2])
    return "5.0.7" if (major, minor) >= (22, 9) else "4.1.8"


def node_red_installed(version: str) -> Path | None:
    home = NODE_RED_CACHE / f"node-red-{version}"
    red = home / "node_modules" / "node-red" / "red.js"
    if red.exists():
        return red
    home.mkdir(parents=True, exist_ok=True)
    print(f"installing node-red {version} into {home} ...", flush=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", f"node-red@{version}"],
        cwd=home,
        check=True,
        capture_output=True,
    )
    return red if red.exists() else None


def node_red_flow(out_file: Path) -> list[dict[str, Any]]:
    """http in (POST) → JSON.stringify → append to a file → http response 200."""
    return [
        {"id": "bench", "type": "tab", "label": "bench"},
        {
            "id": "in",
            "type": "http in",
            "z": "bench",
            "url": "/contentListener",
            "method": "post",
            "wires": [["stringify"]],
        },
        {
            "id": "stringify",
            "type": "function",
            "z": "bench",
            "func": "msg.payload = JSON.stringify(msg.payload);\nreturn msg;",
            "outputs": 1,
            "wires": [["append"]],
        },
        {
            "id": "append",
            "type": "file",
            "z": "bench",
            "filename": str(out_file),
            "filenameType": "str",
            "appendNewline": True,
            "createDir": True,
            "overwriteFile": "false",
            "encoding": "none",
            "wires": [["respond"]],
        },
        {"id": "respond", "type": "http response", "z": "bench", "statusCode": "200"},
    ]


def run_node_red(red: Path, body: bytes, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="headwater-node-red-") as tmp:
        user_dir, port = Path(tmp), free_port()
        (user_dir / "flows.json").write_text(json.dumps(node_red_flow(user_dir / "out.jsonl")))
        (user_dir / "settings.js").write_text(
            "module.exports = { uiHost: '127.0.0.1', httpAdminRoot: false,"
            " logging: { console: { level: 'warn' } }, editorTheme: { tours: false } };\n"
        )
        command = ["node", str(red), "-u", str(user_dir), "-p", str(port), "flows.json"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/contentListener"
            _wait_for_flow(url, body, 60.0)
            script = lua_script(user_dir, body)
            wrk(url, script, 1.0, args.connections)  # warm up
            settle()
            figures = wrk(url, script, args.seconds, args.connections)
            figures["readings_per_s"] = figures["ok_per_s"]
        finally:
            process.terminate()
            process.wait(10)
    return figures


def _wait_for_flow(url: str, body: bytes, timeout: float) -> None:
    """Until the flow answers a POST with 200 (the port opens before the flow starts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"Node-RED did not answer {url} within {timeout} s")


# -- report ----------------------------------------------------------------------------


def median(rounds: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def line(label: str, rounds: list[dict[str, float]]) -> str:
    spread = ", ".join(f"{r['readings_per_s']:,.0f}" for r in rounds)
    return (
        f"{label:<22}{median(rounds, 'readings_per_s'):>10,.0f} readings/s"
        f"  p50 {median(rounds, 'p50'):6.1f} ms  p99 {median(rounds, 'p99'):6.1f} ms"
        f"  (rounds: {spread})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=4, help="engine worker threads")
    parser.add_argument("--min-records", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100, help="readings per POST in (b)")
    parser.add_argument("--skip-node-red", action="store_true")
    parser.add_argument("--skip-profile", action="store_true")
    args = parser.parse_args()
    args.scripts = Path(tempfile.mkdtemp(prefix="headwater-wrk-"))
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    tune_for_throughput()  # as `headwater run` does
    one = reading()
    batch = b"[" + b",".join([one] * args.batch) + b"]"
    version = None if args.skip_node_red else node_red_version()
    red = node_red_installed(version) if version else None
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (the machine is shared: other work")
    print(f"skews both systems alike); {args.connections} keep-alive connections, wrk -t2")

    single, nodered, batched = [], [], []
    for _ in range(args.rounds):
        single.append(run_headwater(one, 1, args))
        if red is not None:
            nodered.append(run_node_red(red, one, args))
        batched.append(run_headwater(batch, args.batch, args))

    print("(a) single readings, one POST each, durable before the 200")
    print(line("headwater", single))
    print(f"{'':<22}{median(single, 'parquet_rows_per_s'):>10,.0f} rows/s into Parquet")
    if nodered:
        print(line(f"Node-RED {version}", nodered))
        ratio = median(single, "readings_per_s") / median(nodered, "readings_per_s")
        print(f"headwater / Node-RED: {ratio:.2f}x  (goal: 3x, p99 < 50 ms)")
    print(f"(b) batches of {args.batch} readings per POST")
    print(line("headwater", batched))
    rows = median(batched, "parquet_rows_per_s")
    print(f"{'':<22}{rows:>10,.0f} rows/s counted in the Parquet files  (goal: 200,000)")
    print("(c) engine task time per reading, by processor (medians)")
    for label, rounds in (("single", single), ("batches", batched)):
        parts = [
            f"{key.split('.', 1)[1]} {median(rounds, key):.1f} us"
            for key in rounds[0]
            if key.startswith("us_per_reading.")
        ]
        print(f"  {label:<8}" + ", ".join(parts))
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.skip_profile:
        profiler = SamplingProfiler()
        run_headwater(one, 1, args, profiler)
        print("    where the hub's threads spend their time in (a), sampled:")
        print(profiler.summary(20))


if __name__ == "__main__":
    main()
