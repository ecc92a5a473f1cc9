"""flows/agent.yaml and flows/hub.yaml: both validate; the device flow run for a few
seconds against a hub running the hub flow delivers readings that name the images it
delivered, classified on the device."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from headwater.api.app import create_app
from headwater.api.server import ApiServer
from headwater.cli import main
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow
from headwater.models.testing import prepared_cache

pytestmark = pytest.mark.e2e

FLOWS = Path(__file__).parents[2] / "flows"


def test_the_agent_and_hub_flows_validate() -> None:
    assert main(["validate", str(FLOWS / "agent.yaml")]) == 0
    assert main(["validate", str(FLOWS / "hub.yaml")]) == 0


def test_readings_name_the_images_the_device_sent_and_classified(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    hub = FlowController(load_flow(FLOWS / "hub.yaml", parameters={"lake": str(lake)}), tmp_path)
    server = ApiServer(create_app(hub), "127.0.0.1", 0)
    server.start()
    hub.start()
    try:
        command = [sys.executable, "-m", "headwater", "run", str(FLOWS / "agent.yaml")]
        command += ["--api", "off", "--duration", "6", "--data-dir", str(tmp_path / "agent")]
        command += ["-p", f"hub_url={server.url}", "-p", f"image_dir={tmp_path / 'device'}"]
        environment = {**os.environ, "HEADWATER_MODELS": str(prepared_cache())}
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 20
        while hub.queued() or not (lake / "sensors").exists():
            assert time.monotonic() < deadline, "the hub did not store what it received"
            time.sleep(0.1)
        received = hub.repositories.provenance.query(component="images", event_type="RECEIVE")
    finally:
        server.stop()
        hub.stop()

    images = {p.name for p in (lake / "images").iterdir()}
    assert any(name.startswith("bog_image_p_") for name in images)  # the processed copy
    originals = [e for e in received if not e.attributes["filename"].startswith("bog_image_p_")]
    assert originals and all(e.attributes["label_1"] for e in originals)  # classified
    readings = ds.dataset(lake / "sensors", format="parquet").to_table().to_pylist()
    assert len(readings) >= 3
    named = {Path(r["imgname"]).name for r in readings if r["imgname"]}
    assert named and named <= images
    assert {Path(r["imgnamep"]).name for r in readings if r["imgnamep"]} <= images


def test_the_example_agent_is_one_the_example_hub_accepts() -> None:
    from headwater.agent.config import load_agent_config
    from headwater.api.agents_identity import load_known_agents

    agent = load_agent_config(FLOWS / "agent-config.yaml")
    known = load_known_agents(FLOWS / "agents.yaml")
    assert agent.c2.token is not None
    assert known.by_token(agent.c2.token) == agent.agent_id
