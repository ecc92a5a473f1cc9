"""A jobs service over a temporary data directory, its API through starlette's
TestClient, and plain Python scripts as jobs (fast: no Spark here)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.jobs.api import create_app
from headwater.jobs.config import JobsConfig, parse_config
from headwater.jobs.service import JobsService

KEY = "uu1ltbtc5jmo7s2dgtkvlhbaxq7iw2v8"
OTHER_KEY = "other-key"
PROJECT = "/api/v1/projects/tspann/edge-to-ai"
SEED = Path(__file__).resolve().parents[3] / ".." / "shared" / "seed"

SCRIPTS = {
    "hello.py": "import os\nprint('hello from', os.environ.get('GREETING', 'nobody'))\n",
    "boom.py": "def fail():\n    raise RuntimeError('boom: the data is bad')\n\nfail()\n",
    "sleep.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n",
    "hog.py": (
        "import time\nblocks = [bytearray(64 * 2**20) for _ in range(8)]\n"
        "for b in blocks:\n    b[::4096] = b'x' * len(b[::4096])\ntime.sleep(30)\n"
    ),
    "exit3.py": "import sys\nsys.exit(3)\n",
}


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def make_config(
    tmp_path: Path, jobs: list[dict[str, Any]] | None = None, **extra: Any
) -> JobsConfig:
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    for name, text in SCRIPTS.items():
        (scripts / name).write_text(text)
    data = {
        "data-dir": "data",
        "users": {
            "tspann": {"name": "Timothy Spann", "email": "t@example.com", "api-key": KEY},
            "other": {"name": "Other", "email": "o@example.com", "api-key": OTHER_KEY},
        },
        "projects": {"tspann/edge-to-ai": {"name": "Edge to AI", "directory": "scripts"}},
        "jobs": [{"project": "tspann/edge-to-ai", **job} for job in jobs or []],
        **extra,
    }
    return parse_config(data, tmp_path)


class Jobs:
    """A running service and a client of its API."""

    def __init__(self, service: JobsService, client: TestClient) -> None:
        self.service = service
        self.client = client

    def create(self, **settings: Any) -> dict[str, Any]:
        response = self.client.post(f"{PROJECT}/jobs", json=settings, headers=auth())
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def start(self, job_id: int, **body: Any) -> dict[str, Any]:
        response = self.client.post(
            f"{PROJECT}/jobs/{job_id}/start", json=body or None, headers=auth()
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def run(self, job_id: int, run_id: str) -> dict[str, Any]:
        response = self.client.get(f"{PROJECT}/jobs/{job_id}/runs/{run_id}", headers=auth())
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait(self, job_id: int, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """The run once it has ended."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(job_id, run_id)
            if run["status"] in ("succeeded", "failed", "stopped", "timedout"):
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
            time.sleep(0.02)

    def log(self, job_id: int, run_id: str) -> str:
        return self.client.get(f"{PROJECT}/jobs/{job_id}/runs/{run_id}/log", headers=auth()).text


@pytest.fixture
def open_jobs(tmp_path: Path) -> Iterator[Callable[..., Jobs]]:
    """Open a service on ``tmp_path`` (again, to test a restart); all are stopped at the end."""
    opened: list[tuple[JobsService, TestClient]] = []

    def open_(config: JobsConfig | None = None) -> Jobs:
        service = JobsService(config or make_config(tmp_path))
        client = TestClient(create_app(service))
        opened.append((service, client))
        return Jobs(service, client)

    try:
        yield open_
    finally:
        for service, client in opened:
            client.close()
            service.stop()


@pytest.fixture
def jobs(open_jobs: Callable[..., Jobs]) -> Jobs:
    return open_jobs()
