"""flows/edge-to-ai.yaml, the hub of `headwater demo`, with everything it talks to on
127.0.0.1: an FTP image store (pyftpdlib), the models service with the coco-detector,
a jobs service, a webhook receiver standing in for Slack, and one device running
flows/agent.yaml unchanged with scikit-image's astronaut (a person) and chelsea (a cat)
as its camera.

Checked from the outputs: the readings in Parquet with the device's host; each JPEG
byte for byte in the FTP root under images/ (as the hub received it); one image row
per original with the device's labels, the detector's detections and person=true for
the astronaut only; an alert for the person and alerts for readings over a low
threshold; the start and end rows of a succeeded `sensors` and `join` run, join held
back by join_delay_ms. Nothing in the lake's failed/. Then the failure paths: a
detector that refuses the key, and one that comes up after the hub.

The jobs service runs quick stand-in scripts named `sensors` and `join` (plain
Python that lists the lake and exits), not the PySpark jobs: one Spark run takes
25-75 s on this shared machine. The real jobs/sensors.py and jobs/join.py on PySpark
are run by tests/integration/test_jobs_service.py; what matters here is the flow's
side: the starts, following each run to its end and storing its status rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pyarrow.dataset as ds
import pytest
from flowharness import REPOSITORY, poll
from PIL import Image

from headwater.api.app import create_app
from headwater.api.server import ApiServer
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow
from headwater.jobs.config import parse_config as parse_jobs_config
from headwater.jobs.server import JobsServer
from headwater.models.serve.config import parse_config as parse_models_config
from headwater.models.serve.server import ModelServer
from headwater.models.testing import prepared_cache
from headwater.models.verification import photo
from headwater.processors.attributes import UpdateAttribute
from headwater.processors.routing import RouteOnAttribute
from headwater.testing import TestRunner
from ports import free_ports

pytestmark = pytest.mark.e2e

FLOW = REPOSITORY / "flows" / "edge-to-ai.yaml"
FTP_USER, FTP_PASSWORD = "camera", "secret"  # the `servers` fixture's FTP user
DETECTOR_KEY = "edge-to-ai-detector-key"
JOBS_KEY = "edge-to-ai-jobs-key"
DEVICE = "device-1"
STAND_IN = """\
import os, pathlib, time
lake = pathlib.Path(os.environ["LAKE"])
files = sorted(p.name for p in lake.rglob("*.parquet"))
print(f"{os.environ['JOB']} stand-in: {len(files)} Parquet file(s) in {lake}")
time.sleep(0.5)
"""


class Webhook:
    """A Slack-style incoming webhook on a thread: records each POSTed JSON body."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> list[str]:
        return [str(post.get("text", "")) for post in list(self.posts)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    try:
        yield receiver
    finally:
        receiver.stop()


def detector(ftp: Any, port: int = 0) -> ModelServer:
    """The models service with the coco-detector, reading images back from ``ftp``."""
    raw = {
        "inputs": {
            "storage-options": {
                f"ftp://127.0.0.1:{ftp.port}/": {"username": FTP_USER, "password": FTP_PASSWORD}
            }
        },
        "models": {
            "coco-detector": {
                "kind": "builtin",
                "variant": "int8",
                "access-keys": [DETECTOR_KEY],
                "threads": 1,
            }
        },
    }
    return ModelServer(parse_models_config(raw), "127.0.0.1", port, cache=prepared_cache())


@pytest.fixture
def models(servers: Any) -> Iterator[tuple[ModelServer, Any]]:
    """The FTP image store and the models service that reads images back from it."""
    ftp = servers.ftp()
    with detector(ftp) as server:
        yield server, ftp


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[str]:
    """A jobs service whose `sensors` (1), `status` (2) and `join` (3) are stand-ins."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("sensors", "status", "join"):
        (scripts / f"{name}.py").write_text(STAND_IN)
    config = parse_jobs_config(
        {
            "data-dir": "jobs-data",
            "max-concurrent-runs": 0,
            "users": {"tspann": {"name": "T S", "email": "t@e.com", "api-key": JOBS_KEY}},
            "projects": {"tspann/edge-to-ai": {"name": "Edge to AI", "directory": str(scripts)}},
            "jobs": [
                {
                    "project": "tspann/edge-to-ai",
                    "name": name,
                    "script": f"{name}.py",
                    "environment": {"LAKE": str(tmp_path / "lake"), "JOB": name},
                }
                for name in ("sensors", "status", "join")
            ],
        },
        tmp_path,
    )
    with JobsServer(config, "127.0.0.1", 0) as server:
        yield server.url


def sample_photos(folder: Path) -> None:
    """astronaut (a person) then chelsea (a cat): the camera takes them in name order."""
    folder.mkdir()
    for index, name in enumerate(("astronaut", "chelsea")):
        with Image.open(photo(name)) as image:
            image.convert("RGB").save(folder / f"{index}-{name}.jpg", quality=90)


def rows(folder: Path) -> list[dict[str, Any]]:
    if not folder.exists() or not list(folder.rglob("*.parquet")):
        return []
    table = ds.dataset(folder, format="parquet").to_table()
    return table.to_pylist()  # type: ignore[no-any-return]


class Site:
    """The hub running edge-to-ai.yaml (API on a free port) and the device sending to it."""

    def __init__(self, tmp_path: Path, parameters: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.hub = FlowController(load_flow(FLOW, parameters=parameters), tmp_path / "hub")
        self.api = ApiServer(create_app(self.hub), "127.0.0.1", 0)
        self.agent: subprocess.Popen[str] | None = None

    def __enter__(self) -> Site:
        self.api.start()
        self.hub.start()
        return self

    def device(self, seconds: int) -> None:
        """flows/agent.yaml for ``seconds``: a reading a second, a photo every 10 s."""
        photos = self.tmp_path / "photos"
        sample_photos(photos)
        command = [sys.executable, "-m", "headwater", "run", str(REPOSITORY / "flows/agent.yaml")]
        command += ["--api", "off", "--duration", str(seconds)]
        command += ["--data-dir", str(self.tmp_path / "agent")]
        for name, value in {
            "hub_url": self.api.url,
            "host_name": DEVICE,
            "sample_images": str(photos),
            "image_dir": str(self.tmp_path / "devices" / DEVICE / "images"),
        }.items():
            command += ["-p", f"{name}={value}"]
        environment = {**os.environ, "HEADWATER_MODELS": str(prepared_cache())}
        self.agent = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def device_done(self) -> None:
        assert self.agent is not None
        _, stderr = self.agent.communicate(timeout=30)
        assert self.agent.returncode == 0, stderr

    def received_images(self) -> dict[str, bytes]:
        """What the hub's `images` port received, by file name, from its provenance."""
        received = httpx.get(
            f"{self.api.url}/api/v1/provenance/events",
            params={"type": "RECEIVE", "component": "images"},
        ).json()["events"]
        return {
            event["attributes"]["filename"]: httpx.get(
                f"{self.api.url}/api/v1/provenance/events/{event['eventId']}/content"
            ).content
            for event in received
        }

    def __exit__(self, *exc: object) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.kill()
            self.agent.communicate()
        self.api.stop()
        self.hub.stop()


def site_parameters(lake: Path, ftp: Any, models: ModelServer) -> dict[str, str]:
    return {
        "lake": str(lake),
        "ftp_url": f"ftp://127.0.0.1:{ftp.port}",
        "ftp_user": FTP_USER,
        "ftp_password": FTP_PASSWORD,
        "models_url": models.url,
        "detector_key": DETECTOR_KEY,
        "detector_retry_wait": "1 sec",
    }


@pytest.mark.timeout(180)
def test_the_hub_flow_stores_readings_images_detections_alerts_and_job_runs(
    tmp_path: Path, models: tuple[ModelServer, Any], jobs: str, webhook: Webhook
) -> None:
    server_models, ftp = models
    lake = tmp_path / "lake"
    parameters = {
        **site_parameters(lake, ftp, server_models),
        "jobs_url": jobs,
        "jobs_api_key": JOBS_KEY,
        "alert_webhook": webhook.url,
        "temperature_threshold": "-100",  # every reading is over it
        "join_delay_ms": "3000",
    }
    with Site(tmp_path, parameters) as site:
        site.device(16)
        poll(lambda: len(rows(lake / "images")) >= 2, timeout=90, what="rows for both images")
        site.device_done()

        def jobs_succeeded() -> bool:
            statuses = rows(lake / "jobstatus")
            return {r["name"] for r in statuses if r["latest_status"] == "succeeded"} == {
                "sensors",
                "join",
            }

        poll(jobs_succeeded, timeout=30, what="jobstatus rows of succeeded runs")
        poll(lambda: any("person" in t for t in webhook.texts()), timeout=10, what="an alert")
        contents = site.received_images()
        recorded = httpx.get(
            f"{site.api.url}/api/v1/provenance/events", params={"component": "image-record"}
        ).json()["events"]

    assert recorded and all("detector.response" not in e["attributes"] for e in recorded)
    readings = rows(lake / "sensors")
    assert readings and {r["host"] for r in readings} == {DEVICE}

    stored = {p.name: p.read_bytes() for p in (ftp.home / "images").iterdir()}
    named = {Path(r["imgname"]).name for r in readings if r["imgname"]}
    assert named and named <= set(stored)  # each reading's image is in the store
    assert len(contents) >= 4  # two photos, each with its processed copy
    assert stored == contents  # flat under images/, byte for byte as received

    images = {r["filename"]: r for r in rows(lake / "images")}
    assert len(images) == 2 and not any("bog_image_p_" in name for name in images)
    astronaut, chelsea = sorted(images.values(), key=lambda r: r["time"])
    for row in (astronaut, chelsea):
        assert row["host"] == DEVICE
        assert row["url"] == f"ftp://127.0.0.1:{ftp.port}/images/{row['filename']}"
        assert row["uuid"] in row["filename"]  # the device's FlowFile, named in the file
        assert row["label_1"] and row["probability_1"].endswith("%")
        detections = json.loads(row["detections"])
        assert detections, row
        for found in detections:
            assert set(found) == {"label", "confidence", "box"}
            _, _, w, h = found["box"]
            assert 0 < found["confidence"] <= 1 and w > 0 and h > 0
    assert astronaut["person"] is True
    assert json.loads(astronaut["detections"])[0]["label"] == "person"
    assert chelsea["person"] is False

    texts = webhook.texts()
    people = [t for t in texts if "saw a person" in t]
    assert people and all(astronaut["filename"] in t and DEVICE in t for t in people)
    hot = [t for t in texts if "air temperature" in t]  # every reading is over: one alert
    assert len(hot) == 1 and hot[0].startswith(f"{DEVICE} crossed a threshold: CPU ")

    statuses = rows(lake / "jobstatus")  # each run's start and its end, once each
    assert sorted((r["name"], r["latest_status"]) for r in statuses) == [
        ("join", "scheduling"),
        ("join", "succeeded"),
        ("sensors", "scheduling"),
        ("sensors", "succeeded"),
    ]
    first = {
        name: min(
            datetime.fromisoformat(r["latest_created_at"]) for r in statuses if r["name"] == name
        )
        for name in ("sensors", "join")
    }
    assert (first["join"] - first["sensors"]).total_seconds() >= 2.5  # held by join_delay_ms
    assert not (lake / "failed").exists() or not list((lake / "failed").iterdir())


@pytest.mark.parametrize(("kafka", "published"), [("false", 0), ("true", 5)])
def test_readings_go_to_kafka_only_when_switched_on(kafka: str, published: int) -> None:
    """The routing of docs/sinks.md's wiring, as the flow ships it."""
    flow = load_flow(FLOW, parameters={"kafka_enabled": kafka})
    runner = TestRunner(RouteOnAttribute, flow.processors["route-reading"].properties)
    for _ in range(5):
        runner.enqueue(b"{}", host="a", cputemp="44", tempc="23.97")
    runner.run()
    runner.assert_transferred("kafka", published)
    runner.close()


def test_a_reading_alerts_when_it_crosses_either_threshold_once_per_host() -> None:
    """heat → crossing → route-alert: a reading over a threshold alerts when its host's
    last reading was not over; a host that stays over, or a value that is missing or
    not a number, does not alert."""
    flow = load_flow(FLOW, parameters={"cputemp_threshold": "70", "temperature_threshold": "30"})
    readings = [
        ("a", "44", "23.97"),  # under both
        ("a", "71", "23.97"),  # CPU crosses: alert
        ("b", "44", "30.5"),  # air crosses on another host: alert
        ("a", "72", "31"),  # still over: no alert
        ("a", "", "n/a"),  # without values: not over, so a is back under
        ("a", "44", "30.1"),  # air crosses: alert
        ("b", "75", "20"),  # b stays over (now by CPU): no alert
    ]
    batch: list[dict[str, str]] = [
        {"host": host, "cputemp": cpu, "tempc": air} for host, cpu, air in readings
    ]
    for name in ("heat", "crossing", "route-alert"):
        processor = flow.processors[name]
        runner = TestRunner(
            UpdateAttribute if name != "route-alert" else RouteOnAttribute, processor.properties
        )
        for attributes in batch:
            runner.enqueue(b"{}", attributes)
        runner.run()
        out = runner.transferred("alert" if name == "route-alert" else "success")
        batch = [dict(f.attributes) for f in out]
        runner.close()
    assert [(a["host"], a["cputemp"], a["tempc"]) for a in batch] == [
        ("a", "71", "23.97"),
        ("b", "44", "30.5"),
        ("a", "44", "30.1"),
    ]


@pytest.mark.timeout(120)
def test_an_image_the_detector_refuses_waits_in_failed_with_the_reason_not_the_key(
    tmp_path: Path, models: tuple[ModelServer, Any], closed_port: int
) -> None:
    """A wrong access key is a 401: not worth asking again. The image stays in the store,
    and failed/ holds the refusal (status, the service's answer) in place of the request,
    which carried the key."""
    server_models, ftp = models
    lake = tmp_path / "lake"
    wrong = "not-the-detector-key"
    nowhere = f"http://127.0.0.1:{closed_port}"  # no jobs service, no webhook here
    parameters = {
        **site_parameters(lake, ftp, server_models),
        "detector_key": wrong,
        "jobs_url": nowhere,
        "alert_webhook": nowhere,
    }
    failed = lake / "failed"

    def refused() -> list[Path]:
        return list(failed.glob("*.detector-failure.json")) if failed.exists() else []

    with Site(tmp_path, parameters) as site:
        site.device(4)
        poll(lambda: bool(refused()), timeout=60, what="the refused image in failed/")
        site.device_done()

    (written,) = refused()
    assert written.name.endswith(".jpg.detector-failure.json")
    reason = json.loads(written.read_text())
    assert reason["invokehttp.status.code"] == "401"
    assert reason["detector.retries"] == "1"  # refused once, not asked again
    assert json.loads(reason["detector.response"])["success"] is False
    assert wrong not in written.read_text()
    assert (ftp.home / "images" / reason["filename"]).is_file()
    assert rows(lake / "images") == []


@pytest.mark.timeout(120)
def test_images_wait_for_a_detector_that_is_not_up_yet(tmp_path: Path, servers: Any) -> None:
    """`up` may start the hub before the models service is ready: the call is retried
    (detector_retry_wait apart) and the image gets its row once the detector answers."""
    ftp = servers.ftp()
    closed_port, later = free_ports(2)
    lake = tmp_path / "lake"
    nowhere = f"http://127.0.0.1:{closed_port}"
    parameters = {
        "lake": str(lake),
        "ftp_url": f"ftp://127.0.0.1:{ftp.port}",
        "ftp_user": FTP_USER,
        "ftp_password": FTP_PASSWORD,
        "models_url": f"http://127.0.0.1:{later}",
        "detector_key": DETECTOR_KEY,
        "detector_retry_wait": "1 sec",
        "jobs_url": nowhere,
        "alert_webhook": nowhere,
    }
    with Site(tmp_path, parameters) as site:
        site.device(4)
        store = ftp.home / "images"
        poll(lambda: store.exists() and any(store.iterdir()), timeout=60, what="a stored JPEG")
        site.device_done()

        def retried() -> int:
            return int(site.hub.nodes["count-detector-retry"].status()["flowFilesIn"])

        poll(lambda: retried() >= 2, timeout=30, what="the detector call retried")
        with detector(ftp, later):
            poll(lambda: len(rows(lake / "images")) == 1, timeout=60, what="the image's row")

    (row,) = rows(lake / "images")
    assert json.loads(row["detections"])[0]["label"] == "person"  # the astronaut
    assert not list((lake / "failed").glob("*.detector-failure.json"))
