"""``headwater run`` and ``headwater validate`` as people use them: real processes.

The example flow runs until SIGTERM or SIGINT and then says it stopped cleanly; a flow
with many mistakes is refused by both commands, every mistake listed with its path,
and nothing starts.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.flow.loader import load_flow

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "flows" / "hello.yaml"
API_LINE = re.compile(r"API on (http://127\.0\.0\.1:(\d+))/api/v1/status")
DATA_LINE = re.compile(r"running \((\d+) processors, (\d+) connections\); data in (.+)")

Launch = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def headwater(tmp_path: Path) -> Iterator[Launch]:
    """Start ``headwater ARGS...`` in ``tmp_path`` (output in ``proc.log``); every
    process started is killed at the end if it is still running."""
    started: list[tuple[subprocess.Popen[bytes], object]] = []

    def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"headwater-{len(started)}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "headwater", *args],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        process.log = log_path  # type: ignore[attr-defined]
        started.append((process, log))
        return process

    try:
        yield launch
    finally:
        for process, log in started:
            if process.poll() is None:
                process.kill()
                process.wait(30)
            log.close()  # type: ignore[attr-defined]


def output(process: subprocess.Popen[bytes]) -> str:
    return process.log.read_text(errors="replace")  # type: ignore[attr-defined]


def wait_for(
    process: subprocess.Popen[bytes], pattern: re.Pattern[str], timeout: float = 30.0
) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(output(process))
        if found:
            return found
        assert process.poll() is None, f"exited {process.returncode}:\n{output(process)}"
        time.sleep(0.02)
    raise AssertionError(f"no {pattern.pattern!r} within {timeout}s:\n{output(process)}")


def poll_status(
    url: str, ready: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = httpx.get(f"{url}/api/v1/status", timeout=5).json()
        if ready(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_serves_status_until_a_signal_then_stops_cleanly(
    headwater: Launch, tmp_path: Path, signum: signal.Signals
) -> None:
    data_dir = tmp_path / "data"
    hub = headwater("run", str(HELLO), "--data-dir", str(data_dir), "--api", "127.0.0.1:0")
    flow = load_flow(HELLO)
    sources = set(flow.processors) - {c.destination for c in flow.connections}
    url = wait_for(hub, API_LINE).group(1)
    running = wait_for(hub, DATA_LINE)
    assert int(running.group(1)) == len(flow.processors)
    assert int(running.group(2)) == len(flow.connections)
    assert Path(running.group(3).strip()) == data_dir.resolve()

    def generated(status: dict[str, Any]) -> bool:
        return any(p["id"] in sources and p["flowFilesOut"] > 0 for p in status["processors"])

    status = poll_status(url, generated)
    assert generated(status), status
    processors = {p["id"]: p for p in status["processors"]}
    assert set(processors) == set(flow.processors)
    assert {p["state"] for p in processors.values()} == {"RUNNING"}
    assert len(status["connections"]) == len(flow.connections)
    assert status["running"] is True

    hub.send_signal(signum)
    assert hub.wait(10) == 0, output(hub)
    assert "stopped cleanly" in output(hub)
    for repository in ("flowfile_repository", "content_repository", "provenance_repository"):
        assert (data_dir / repository).is_dir()


EXTENSION = '''\
"""A processor with a controller-service property, installed for the e2e test."""

from headwater.processor import ControllerService, Processor, Property, Relationship


class E2eRecordReader(ControllerService):
    """A record reader that reads nothing."""


class E2eConvertRecord(Processor):
    """Needs a record reader."""

    def on_trigger(self, context: object, session: object) -> None:
        """Never triggered here: the class is only declarations."""

    SUCCESS = Relationship("success", "Converted.")
    reader = Property("record-reader", "The reader", required=True, service=E2eRecordReader)
'''

BROKEN = """\
flow: broken
processors:
  gen:
    type: GenerateFlowFil
  make:
    type: GenerateFlowFile
    properties:
      Batch Size: ten
    schedule: {period: 1 sec}
  route:
    type: RouteOnAttribute
    properties:
      big: "${fileSize:gt(10)}"
  convert:
    type: E2eConvertRecord
    properties: {record-reader: json-reader}
  store:
    type: PutFile
    properties:
      Directory: out
      Conflict Resolutoin Strategy: replace
    auto-terminate: [success, failure]
connections:
  - {from: make, relationships: [success], to: route}
  - {from: route, relationships: [big], to: convert}
  - {from: convert, relationships: [success], to: store}
"""

EXPECTED = {
    "processors.gen.type": "unknown processor type 'GenerateFlowFil'",
    "processors.make.properties.Batch Size": "expected a whole number, got 'ten'",
    "processors.convert.properties.record-reader": "missing controller service 'json-reader'",
    "processors.store.properties.Conflict Resolutoin Strategy": "unknown property of PutFile",
    "processors.route": "relationship 'unmatched' is neither connected nor auto-terminated",
}


@pytest.fixture
def broken_flow(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The flow with five mistakes, and an environment in which the test processor with
    a service property is installed (an entry point in ``headwater.extensions``)."""
    site = tmp_path / "site"
    info = site / "hw_e2e_ext-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "hw_e2e_ext.py").write_text(EXTENSION)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hw-e2e-ext\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[headwater.extensions]\ne2e = hw_e2e_ext\n")
    flow = tmp_path / "broken.yaml"
    flow.write_text(BROKEN)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return flow, {"PYTHONPATH": path}


def test_validate_lists_every_mistake_with_its_path(
    headwater: Launch, broken_flow: tuple[Path, dict[str, str]]
) -> None:
    flow, env = broken_flow
    check = headwater("validate", str(flow), env=env)
    assert check.wait(30) == 1
    lines = output(check).splitlines()
    for path, message in EXPECTED.items():
        hits = [line for line in lines if f": {path}: " in line and message in line]
        assert hits, f"{path}: {message!r} not reported in:\n{output(check)}"
        assert hits[0].startswith(f"{flow}:"), "each line starts with the file (and line)"
    assert len(lines) == len(EXPECTED), output(check)


def test_run_refuses_a_broken_flow_and_starts_nothing(
    headwater: Launch, broken_flow: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    flow, env = broken_flow
    data_dir = tmp_path / "data"
    hub = headwater("run", str(flow), "--data-dir", str(data_dir), "--api", "127.0.0.1:0", env=env)
    assert hub.wait(30) == 1
    text = output(hub)
    for path in EXPECTED:
        assert f": {path}: " in text, text
    assert "API on" not in text and "running" not in text
    assert not data_dir.exists(), "no repository is opened for a flow that does not load"
