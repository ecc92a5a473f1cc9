"""Crash safety: ``kill -9`` a running hub again and again; no FlowFile may be lost.

GenerateFlowFile (unique content) → UpdateAttribute → RouteOnAttribute → PutFile runs
as ``headwater run FLOW --data-dir D --api off`` in a subprocess, which is killed with
SIGKILL at a random moment after it starts, and restarted, until the FlowFiles created
(committed CREATE events in the provenance repository) reach the target. Then the same
flow with GenerateFlowFile disabled (same ids, so the queues are restored) drains what
is left and is stopped with SIGTERM.

Each run is given its number as the parameter ``run``, and PutFile writes to
``out/run-<run>/<uuid>.txt``, so a FlowFile written twice (its PutFile session was in
flight at a kill, so it ran again after the restart) leaves two files in two runs'
directories. The check:

- lost: a created FlowFile with no file at all (must be 0);
- duplicates: files past the first for one FlowFile; every copy but the last must be
  in a killed run and have no SEND event (its session never committed), and a killed
  run holds at most one PutFile batch of them;
- copies of one FlowFile hold the same content, and contents are unique across
  FlowFiles.

    python bench/crash_safety.py [--flowfiles 100000] [--kills 10]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from headwater.repository.provenance import SqliteProvenanceRepository

RUNNING = re.compile(r"headwater: flow .* running")
API_LINE = re.compile(r"API on (http://[\d.]+:\d+)")

FLOW_TEMPLATE = """\
flow: crash-safety
parameters:
  out: {out}
  run: "0"
processors:
  generate:
    type: GenerateFlowFile
    enabled: {generate}
    properties:
      Batch Size: {batch}
      Unique FlowFiles: true
      Custom Text: "${{UUID()}}-${{random()}}"
    schedule: {{period: {period}}}
  stamp:
    type: UpdateAttribute
    properties:
      filename: "${{uuid}}.txt"
      stamped: "${{now():toNumber()}}"
  route:
    type: RouteOnAttribute
    properties:
      keep: "${{filename:endsWith('.txt')}}"
    auto-terminate: [unmatched]
  put:
    type: PutFile
    properties:
      Directory: "#{{out}}/run-#{{run}}"
      Conflict Resolution Strategy: fail
    schedule: {{batch-size: {put_batch}}}
    auto-terminate: [success, failure]
connections:
  - {{from: generate, relationships: [success], to: stamp, back-pressure: {{objects: {limit}}}}}
  - {{from: stamp, relationships: [success], to: route, back-pressure: {{objects: {limit}}}}}
  - {{from: route, relationships: [keep], to: put, back-pressure: {{objects: {limit}}}}}
"""


@dataclass
class Settings:
    flowfiles: int = 100_000
    kills: int = 10
    batch: int = 100
    period: str = "0 sec"
    put_batch: int = 500
    queue_limit: int = 5_000
    kill_after: tuple[float, float] = (0.3, 3.0)  # seconds after the flow runs
    start_timeout: float = 60.0
    drain_timeout: float = 600.0
    seed: int | None = None


@dataclass
class Result:
    created: int = 0
    written: int = 0
    lost: int = 0
    duplicates: int = 0
    kills: int = 0
    runs: int = 0
    without_create: int = 0  # written, but the CREATE event died with the process
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"created {self.created:,}  written {self.written:,}  lost {self.lost:,}"
            f"  duplicates {self.duplicates:,}  ({self.kills} kills, {self.runs} runs,"
            f" {self.without_create} written without a CREATE event, {self.seconds:.1f} s)"
        )


def write_flows(root: Path, settings: Settings) -> tuple[Path, Path]:
    """The generating flow and the draining one (GenerateFlowFile disabled)."""
    out = root / "out"
    paths = []
    for name, generate in (("generate", "true"), ("drain", "false")):
        text = FLOW_TEMPLATE.format(
            out=out,
            generate=generate,
            batch=settings.batch,
            period=settings.period,
            put_batch=settings.put_batch,
            limit=settings.queue_limit,
        )
        path = root / f"crash-{name}.yaml"
        path.write_text(text)
        paths.append(path)
    return paths[0], paths[1]


class Hub:
    """One ``headwater run`` subprocess; its output goes to a log file."""

    def __init__(self, flow: Path, data_dir: Path, run: int, api: str = "off") -> None:
        self.log_path = data_dir.parent / f"run-{run}.log"
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "headwater", "run", str(flow), "--data-dir"]
        command += [str(data_dir), "--api", api, "-p", f"run={run}", "--log-level", "WARNING"]
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.output())
            if found:
                return found
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.02)
        raise TimeoutError(f"no {pattern.pattern!r} within {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self._log.close()

    def terminate(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()


def created_uuids(data_dir: Path) -> set[str]:
    """The FlowFiles GenerateFlowFile committed (its CREATE events)."""
    with SqliteProvenanceRepository(data_dir / "provenance_repository") as provenance:
        events = provenance.query(event_type="CREATE", component="generate", limit=1 << 40)
    return {e.flowfile_uuid for e in events}


def drain(hub: Hub, settings: Settings) -> None:
    """Wait until every queue is empty and no task runs, through the status API."""
    import httpx

    url = hub.wait_for(API_LINE, settings.start_timeout).group(1) + "/api/v1/status"
    deadline = time.monotonic() + settings.drain_timeout
    while time.monotonic() < deadline:
        status = httpx.get(url, timeout=10).json()
        queued = sum(c["queuedCount"] for c in status["connections"])
        active = sum(p["activeTasks"] for p in status["processors"])
        if queued == 0 and active == 0:
            return
        time.sleep(0.2)
    raise TimeoutError(f"queues not drained within {settings.drain_timeout}s")


def run(root: Path, settings: Settings, progress: Callable[[str], None] = lambda _: None) -> Result:
    """Generate with kills until the target is created, drain, and check the output."""
    rng = random.Random(settings.seed)
    started = time.monotonic()
    generate_flow, drain_flow = write_flows(root, settings)
    data_dir = root / "data"
    result = Result()
    killed_runs: set[int] = set()
    created = 0
    while created < settings.flowfiles or result.kills < settings.kills:
        flow = generate_flow if created < settings.flowfiles else drain_flow
        result.runs += 1
        hub = Hub(flow, data_dir, result.runs)
        try:
            hub.wait_for(RUNNING, settings.start_timeout)
            time.sleep(rng.uniform(*settings.kill_after))
        finally:
            hub.kill()
        killed_runs.add(result.runs)
        result.kills += 1
        created = len(created_uuids(data_dir))
        progress(f"run {result.runs}: killed; {created:,} created so far")
    result.runs += 1
    hub = Hub(drain_flow, data_dir, result.runs, api="127.0.0.1:0")
    try:
        drain(hub, settings)
    finally:
        code = hub.terminate()
    if code != 0 or "stopped cleanly" not in hub.output():
        result.problems.append(f"the draining run exited {code}:\n{hub.output()}")
    progress(f"run {result.runs}: drained and stopped")
    check(root, data_dir, killed_runs, settings, result)
    result.seconds = time.monotonic() - started
    return result


def check(
    root: Path, data_dir: Path, killed_runs: set[int], settings: Settings, result: Result
) -> None:
    created = created_uuids(data_dir)
    with SqliteProvenanceRepository(data_dir / "provenance_repository") as provenance:
        sends = provenance.query(event_type="SEND", component="put", limit=1 << 40)
    sent_to = {Path(e.transit_uri.removeprefix("file://")) for e in sends if e.transit_uri}
    sends_per_uuid: dict[str, int] = {}
    for event in sends:
        sends_per_uuid[event.flowfile_uuid] = sends_per_uuid.get(event.flowfile_uuid, 0) + 1
    copies: dict[str, list[tuple[int, Path]]] = {}
    for run_dir in (root / "out").glob("run-*"):
        number = int(run_dir.name.removeprefix("run-"))
        for entry in os.scandir(run_dir):
            if entry.name.startswith("."):
                continue  # a PutFile temporary file cut short by a kill
            copies.setdefault(entry.name.removesuffix(".txt"), []).append((number, Path(entry)))
    result.created = len(created)
    result.written = len(copies)
    result.lost = len(created - copies.keys())
    result.without_create = len(copies.keys() - created)
    result.duplicates = sum(len(found) - 1 for found in copies.values())
    problems = result.problems
    if result.lost:
        missing = sorted(created - copies.keys())[:3]
        problems.append(f"{result.lost} created FlowFiles never written, e.g. {missing}")
    replayed = [u for u, n in sends_per_uuid.items() if n > 1]
    if replayed:
        problems.append(
            f"{len(replayed)} FlowFiles sent again after a committed SEND: {replayed[:3]}"
        )
    contents: dict[bytes, str] = {}
    uncommitted_per_run: dict[int, int] = {}
    for uuid, found in copies.items():
        found.sort()
        texts = {path.read_bytes() for _, path in found}
        if len(texts) != 1:
            problems.append(f"{uuid}: copies differ: {sorted(texts)[:2]}")
        text = texts.pop()
        if text in contents:
            problems.append(f"{uuid} and {contents[text]} share content {text!r}")
        contents[text] = uuid
        for number, path in found[:-1]:
            if number not in killed_runs:
                problems.append(f"{uuid}: written again after run {number}, which was not killed")
            if path.absolute() in sent_to:
                problems.append(f"{uuid}: {path} has a SEND event, yet it was written again")
            uncommitted_per_run[number] = uncommitted_per_run.get(number, 0) + 1
    for number, count in sorted(uncommitted_per_run.items()):
        if count > settings.put_batch:
            problems.append(
                f"run {number}: {count} FlowFiles written twice, more than one PutFile batch"
                f" ({settings.put_batch}) could have been in flight at the kill"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flowfiles", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--dir", type=Path, help="work here (default: a temporary directory)")
    args = parser.parse_args()
    settings = Settings(flowfiles=args.flowfiles, kills=args.kills, seed=args.seed)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="headwater-crash-") as tmp:
        root = args.dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        result = run(root, settings, progress=lambda line: print(line, flush=True))
    print(result.summary())
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    if result.lost or result.problems or result.kills < settings.kills:
        sys.exit(1)


if __name__ == "__main__":
    main()
