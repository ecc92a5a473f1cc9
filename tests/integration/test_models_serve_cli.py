"""``headwater models serve`` as a process: it says where it listens, serves the shipped
example models.yaml, and stops cleanly (exit 0, replicas gone) on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from headwater.models.testing import prepared_cache

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "models" / "models.yaml"


def test_serve_the_example_then_stop_on_sigterm(closed_port: int) -> None:
    command = [
        sys.executable, "-m", "headwater", "models", "serve",
        "--config", str(EXAMPLE),
        "--bind", f"127.0.0.1:{closed_port}",
        "--cache", os.fspath(prepared_cache()),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"models service listening on http://127.0.0.1:{closed_port}")
        url = f"http://127.0.0.1:{closed_port}"
        assert httpx.get(f"{url}/ready").json() == {"ready": True}
        reading = {"cputemp": 44, "bme680_tempc": "23.97"}
        answer = httpx.post(
            f"{url}/model", json={"accessKey": "change-me-alert-key", "request": reading}
        )
        assert answer.json() == {
            "success": True,
            "response": {"alert": False, "cputemp": 44.0, "margin": 20.03},
        }
        workers = psutil.Process(process.pid).children()
        assert len(workers) >= 3  # two classifier replicas and the user model's (and a tracker)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, process.stderr.read() if process.stderr else ""
        # the replicas were stopped; multiprocessing's resource tracker ends with us
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
