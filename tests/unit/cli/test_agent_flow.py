"""flows/agent.yaml: validates, runs, and its readings name images it stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from headwater.cli import main

FLOW = Path(__file__).parents[3] / "flows" / "agent.yaml"


def test_the_agent_flow_validates() -> None:
    assert main(["validate", str(FLOW)]) == 0


def test_the_agent_flow_runs_and_readings_name_the_stored_images(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "headwater", "run", str(FLOW), "--api", "off"]
    done = subprocess.run(
        [
            *command,
            "--duration",
            "3.5",
            "--data-dir",
            str(tmp_path / "data"),
            "-p",
            f"out_dir={out}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    images = sorted((out / "images").iterdir())
    assert [p.name.startswith("bog_image_p_") for p in images] == [False, True]  # one + copy
    readings = [json.loads(p.read_bytes()) for p in (out / "readings").iterdir()]
    assert len(readings) >= 2
    named = {r["imgname"] for r in readings} - {""}
    assert named == {str(images[0])}
    assert {r["imgnamep"] for r in readings} - {""} == {str(images[1])}
