"""A running ``headwater demo``, shared by the end-to-end and UI tests of one session.

``running_demo`` (session-scoped) starts ``headwater demo --devices 3`` as a child
process on free ports (``--port-base 0``) in a temporary data dir, with the model cache
that ``prepared_cache`` made, and waits until the stack says where it listens. Tests
read what it produces from the outputs (``lake_rows``, ``ftp_images``) and through the
APIs (``api``, with or without the token), waiting with ``wait_for`` rather than
sleeping. At the end of the session the demo gets SIGTERM and must stop cleanly with its
summary: a demo that hangs or crashes on the way out is an error of the session.

Use it from a test module with ``from demo_harness import running_demo``
(the fixture) and ``RunningDemo`` (its type); modules that import it share one demo.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyarrow.parquet as pq
import pytest
import yaml

from headwater.models.testing import prepared_cache

DEVICES = ("device-1", "device-2", "device-3")
# An upper bound only: the session's end stops the demo with SIGTERM before this.
DURATION = float(os.environ.get("HEADWATER_DEMO_DURATION", "600"))
STARTUP_TIMEOUT = 240.0  # the models, Spark's Java check and the hub (models prepared)
STOP_TIMEOUT = 120.0
T = TypeVar("T")


@dataclass
class RunningDemo:
    data_dir: Path
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    started_at: float = 0.0  # monotonic, when the stack said where it listens
    hub_url: str = ""
    token: str = ""
    jobs_url: str = ""
    ftp_url: str = ""

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def secrets(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load((self.data_dir / "secrets.yaml").read_text())
        return loaded

    def api(
        self, method: str, path: str, *, token: str | None = "", **kwargs: Any
    ) -> httpx.Response:
        """A call to the hub; ``token=""`` sends the demo's token, None sends none."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.token}"
        return httpx.request(method, self.hub_url + path, headers=headers, timeout=30, **kwargs)

    def jobs_api(self, path: str) -> httpx.Response:
        """A GET on the jobs service, with the generated key as the Basic user."""
        key = self.secrets["jobs-api-key"]
        return httpx.get(self.jobs_url + "/api/v1" + path, auth=(key, ""), timeout=30)

    def lake_rows(self, folder: str) -> list[dict[str, Any]]:
        """Every row of the Parquet files under ``lake/<folder>`` (files being written
        are left for the next call)."""
        rows: list[dict[str, Any]] = []
        for path in sorted((self.data_dir / "lake" / folder).rglob("*.parquet")):
            try:
                rows.extend(pq.read_table(path).to_pylist())
            except (OSError, ValueError):
                continue
        return rows

    def ftp_images(self) -> set[str]:
        folder = self.data_dir / "ftp" / "images"
        return {p.name for p in folder.glob("*.jpg")} if folder.is_dir() else set()

    def wait_for(
        self, what: str, check: Callable[[], T | None], timeout: float, period: float = 2.0
    ) -> T:
        """``check()``'s first true value, polled until ``timeout`` seconds after the
        stack came up; else fail with ``what`` and the demo's last lines."""
        deadline = self.started_at + timeout
        while True:
            found = check()
            if found:
                return found
            if self.process.poll() is not None:
                pytest.fail(
                    f"the demo exited ({self.process.returncode}) before {what}:\n" + self.tail()
                )
            if time.monotonic() > deadline:
                pytest.fail(f"not within {timeout:g} s of the start: {what}\n" + self.tail())
            time.sleep(period)

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])

    def stop(self) -> int:
        """SIGTERM, then the exit code (killed, and failed, past STOP_TIMEOUT)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the demo did not stop within {STOP_TIMEOUT:g} s:\n" + self.tail())


def start_demo(data_dir: Path, *extra: str) -> RunningDemo:
    """``headwater demo`` in a child process; returns once the stack is up."""
    env = {**os.environ, "HEADWATER_MODELS": str(prepared_cache()), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "headwater", "demo", "--devices", str(len(DEVICES))]
    command += ["--data-dir", str(data_dir), "--port-base", "0", "--duration", f"{DURATION:g}"]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    demo = RunningDemo(data_dir, process)
    up = threading.Event()
    threading.Thread(target=_read, args=(demo, up), daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not up.wait(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            demo.stop()
            pytest.fail("the demo did not come up:\n" + demo.tail(80))
    return demo


def _read(demo: RunningDemo, up: threading.Event) -> None:
    assert demo.process.stdout is not None
    for raw in demo.process.stdout:
        line = raw.rstrip("\n")
        demo.lines.append(line)
        if found := re.search(r"web UI\s+(http://[^/\s]+)/ui/#token=(\S+)", line):
            demo.hub_url, demo.token = found.group(1), found.group(2)
        elif found := re.match(r"\s+jobs\s+(http://\S+)", line):
            demo.jobs_url = found.group(1)
        elif found := re.match(r"\s+FTP store\s+(ftp://\S+)", line):
            demo.ftp_url = found.group(1)
        elif line.lstrip().startswith("devices ") and demo.hub_url:
            demo.started_at = time.monotonic()
            up.set()


# One demo for the whole session even when several modules import the fixture (each
# import makes a fixture of its own in pytest): the first starts it, the last stops it.
_shared: RunningDemo | None = None
_users = 0


@pytest.fixture(scope="session")
def running_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    global _shared, _users
    if _shared is None:
        _shared = start_demo(tmp_path_factory.mktemp("demo") / "data")
    demo = _shared
    _users += 1
    try:
        yield demo
    finally:
        _users -= 1
        if _users == 0:
            _shared = None
            code = demo.stop()
            output = demo.output
            assert code == 0, f"the demo exited {code}:\n" + demo.tail(80)
            assert "demo summary:" in output and "resources: peak RSS" in output, demo.tail(80)
