"""``headwater run`` with the web flags, as a process: the UI at /ui/, the dashboards
over --lake and the jobs of --jobs-url, all behind --token; a clean stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from uistack import FLOW, JOBS_KEY, PROJECT, fabricate_lake

pytestmark = pytest.mark.e2e


def test_headwater_run_serves_the_ui_with_the_lake_and_the_jobs_link(tmp_path: Path) -> None:
    lake, images = tmp_path / "lake", tmp_path / "images"
    fabricate_lake(lake, images, 1_790_000_000_000)
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW.replace("./out", str(tmp_path / "out")))
    with socket.socket() as probe:  # a port nothing listens on once closed: jobs are down
        probe.bind(("127.0.0.1", 0))
        jobs = f"http://127.0.0.1:{probe.getsockname()[1]}"
    web = ["--lake", str(lake), "--images", str(images), "--jobs-url", jobs]
    web += ["--jobs-key", JOBS_KEY, "--jobs-project", PROJECT]
    hub = ["--data-dir", str(tmp_path / "d"), "--api", "127.0.0.1:0", "--token", "t0k3n"]
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "run", str(flow), *hub, "--duration", "60", *web],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    url = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "web UI on " in line:
                url.set()
        url.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert url.wait(30), "".join(lines)
        ui = next(line for line in lines if "web UI on " in line).split("web UI on ")[1].strip()
        base = ui.removesuffix("/ui/")
        auth = {"Authorization": "Bearer t0k3n"}
        assert httpx.get(ui).status_code == 200
        assert httpx.get(f"{base}/api/v1/dashboards/summary").status_code == 401
        summary = httpx.get(f"{base}/api/v1/dashboards/summary", headers=auth).json()
        assert summary["readings"] == 80 and summary["devices"] == 2
        down = httpx.get(f"{base}/api/v1/jobs", headers=auth)
        assert down.status_code == 503 and jobs in down.json()["detail"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, "".join(lines)
    assert any("stopped cleanly" in line for line in lines), "".join(lines)
