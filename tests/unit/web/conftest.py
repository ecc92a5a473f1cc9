"""A hub app over a small flow that is never started (the UI's routes need no data
flowing), and a real jobs service on 127.0.0.1 (port 0) running plain Python jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from headwater.api.app import close_app, create_app
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow
from headwater.jobs.config import parse_config
from headwater.jobs.server import JobsServer
from headwater.web.options import WebOptions

TOKEN = "ui-test-token"
JOBS_KEY = "ui-jobs-key"
PROJECT = "tspann/edge-to-ai"

FLOW = """\
flow: ui-test
processors:
  gen:
    type: GenerateFlowFile
    schedule: {period: 1 sec}
  tag:
    type: UpdateAttribute
    properties: {tagged: "yes"}
    auto-terminate: [success]
connections:
  - {from: gen, relationships: [success], to: tag}
"""

SCRIPTS = {
    "hello.py": "print('hello from the jobs service')\n",
    "boom.py": "raise SystemExit('boom: the data is bad')\n",
}


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[FlowController]:
    made = FlowController(load_flow(FLOW), tmp_path / "hub")
    try:
        yield made
    finally:
        made.stop()


MakeHub = Callable[..., TestClient]


@pytest.fixture
def make_hub(controller: FlowController) -> Iterator[MakeHub]:
    """``make_hub(token=..., web=...)``: a TestClient of the hub's app; closed at the end."""
    clients: list[TestClient] = []

    def make(*, token: str | None = TOKEN, web: WebOptions | None = None) -> TestClient:
        client = TestClient(create_app(controller, token=token, web=web))
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()
            close_app(client.app)  # type: ignore[arg-type]


@pytest.fixture
def jobs_url(tmp_path: Path) -> Iterator[str]:
    """A jobs service with the jobs ``hello`` (succeeds) and ``boom`` (fails), served."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name, text in SCRIPTS.items():
        (scripts / name).write_text(text)
    config = parse_config(
        {
            "data-dir": "jobs-data",
            "users": {"tspann": {"name": "T", "email": "t@example.com", "api-key": JOBS_KEY}},
            "projects": {PROJECT: {"name": "Edge to AI", "directory": str(scripts)}},
            "jobs": [
                {"project": PROJECT, "name": "hello", "script": "hello.py"},
                {"project": PROJECT, "name": "boom", "script": "boom.py"},
            ],
        },
        tmp_path,
    )
    with JobsServer(config, "127.0.0.1", 0) as server:
        yield server.url
