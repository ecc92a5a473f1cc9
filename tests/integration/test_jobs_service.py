"""``headwater jobs serve`` for real: the service as its own process on 127.0.0.1
(port 0), the seed's PySpark jobs (``jobs/``) run through it, reports to an aiosmtpd
server, and a restart after a crash.

Spark starts are slow on a small machine, so the PySpark runs are few: one ``sensors``
run and one ``join`` run on data made from the seed's fixtures.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from aiosmtpd.controller import Controller

from ports import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / ".." / "shared" / "seed"
KEY = "integration-key"
SEEDJOBS = "/api/v1/projects/tspann/edge-to-ai"
SCRATCH = "/api/v1/projects/tspann/scratch"
FINAL = ("succeeded", "failed", "stopped", "timedout")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class JobsProcess:
    """``python -m headwater jobs serve`` in a process of its own; ``url`` once listening."""

    def __init__(self, config: Path) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "headwater",
                "jobs",
                "serve",
                "--config",
                str(config),
                "--bind",
                "127.0.0.1:0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = ""
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line.rstrip())
                if "listening on " in line:
                    self.url = line.split("listening on ", 1)[1].strip()
                if line.startswith("jobs: "):  # the last line of the start
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(30) and self.url, "\n".join(self.lines)
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()},
            timeout=10,
        )

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def start(self, path: str, **body: Any) -> dict[str, Any]:
        response = self.client.post(path + "/start", json=body or None)
        assert response.status_code == 200, response.text
        started: dict[str, Any] = response.json()
        return started

    def wait(self, path: str, run_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.client.get(f"{path}/runs/{run_id}").json()
            if run["status"] in FINAL:
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
            time.sleep(0.1)

    def job_id(self, project: str, name: str) -> int:
        found = [j["id"] for j in self.client.get(f"{project}/jobs").json() if j["name"] == name]
        assert found, name
        return int(found[0])


def sensor_rows(count: int) -> list[dict[str, Any]]:
    """``count`` readings made from the seed's, each naming its own image."""
    seed = json.loads((SEED / "sensor_reading.json").read_text())
    rows = []
    for i in range(count):
        name = f"bog_image_2019021304{i:04d}_{i:08d}-142b-4b7e-a28b-fec0305ab125.jpg"
        rows.append(
            {
                "uuid": name[10:-4],
                "host": f"piups{i % 3}",
                "imgname": "/opt/demo/images/" + name,
                "systemtime": seed["systemtime"],
                "cputemp": seed["cputemp"] + i,
                "memory": seed["memory"],
                "bme680_tempc": float(seed["bme680_tempc"]) + i / 10,
                "bme680_humidity": float(seed["bme680_humidity"]),
                "VL53L1X_distance_in_mm": seed["VL53L1X_distance_in_mm"],
            }
        )
    return rows


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("jobs")
    scratch = base / "scratch"
    scratch.mkdir()
    (scratch / "hello.py").write_text("print('hello')\n")
    (scratch / "sleep.py").write_text(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n"
    )
    readings = sensor_rows(12)
    (base / "lake" / "sensors").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(readings), base / "lake" / "sensors" / "a.parquet")
    image = json.loads((SEED / "image_analytics.json").read_text())
    (base / "lake" / "images").mkdir()
    with open(base / "lake" / "images" / "images.json", "w") as out:
        for i, reading in enumerate(readings[:10]):  # the last two readings have no image
            record = {**image, "filename": reading["imgname"].rsplit("/", 1)[1], "label_1": f"l{i}"}
            out.write(json.dumps(record) + "\n")
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {"OUTPUT_DIR": str(base / "out")}
    config = {
        "data-dir": str(base / "data"),
        "spark": {"conf": {"spark.sql.shuffle.partitions": "2"}},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "sender": "jobs@example.com"},
        "users": {"tspann": {"name": "T", "email": "t@example.com", "api-key": KEY}},
        "projects": {
            "tspann/edge-to-ai": {"name": "Edge to AI", "directory": str(REPO / "jobs")},
            "tspann/scratch": {"name": "Scratch", "directory": str(scratch)},
        },
        "jobs": [
            {
                "project": "tspann/edge-to-ai",
                "name": "sensors",
                "script": "sensors.py",
                "kernel": "pyspark",
                "cpu": 1,
                "memory": 2,
                "timeout": 10,
                "timeout_kill": True,
                "environment": {**env, "SENSORS_PATH": str(base / "lake" / "sensors")},
                "report": {
                    "recipients": ["ops@example.com"],
                    "attachments": [str(base / "out" / "sensors.html")],
                },
            },
            {
                "project": "tspann/edge-to-ai",
                "name": "join",
                "script": "join.py",
                "kernel": "pyspark",
                "cpu": 1,
                "memory": 2,
                "timeout": 10,
                "timeout_kill": True,
                "environment": {
                    **env,
                    "READINGS_PATH": str(base / "lake" / "sensors"),
                    "IMAGES_PATH": str(base / "lake" / "images"),
                },
            },
            {
                "project": "tspann/edge-to-ai",
                "name": "status",
                "script": "status.py",
                "kernel": "pyspark",
                "cpu": 1,
                "memory": 2,
                "timeout": 10,
                "timeout_kill": True,
                "environment": {**env, "JOBSTATUS_PATH": str(base / "lake" / "jobstatus")},
            },
            {"project": "tspann/scratch", "name": "hello", "script": "hello.py"},
            {"project": "tspann/scratch", "name": "sleep", "script": "sleep.py"},
        ],
    }
    (base / "jobs.yaml").write_text(yaml.safe_dump(config))
    world = {"base": base, "service": JobsProcess(base / "jobs.yaml"), "inbox": inbox}
    try:
        yield world
    finally:
        world["service"].stop()  # the latest: a test may have restarted it
        controller.stop()


def test_the_sensors_job_runs_on_spark_and_reports(world: dict[str, Any]) -> None:
    service: JobsProcess = world["service"]
    job = f"{SEEDJOBS}/jobs/{service.job_id(SEEDJOBS, 'sensors')}"
    started = service.start(job)
    run = service.wait(job, started["latest"]["id"], timeout=180)
    log = service.client.get(f"{job}/runs/{run['id']}/log").text
    assert run["status"] == "succeeded", log
    assert "root" in log and "bme680_tempc" in log, "the schema is printed"
    assert "sensors: 12 readings from 3 device(s)" in log
    out = world["base"] / "out"
    summary = {r["column"]: r for r in pq.read_table(out / "sensors_summary.parquet").to_pylist()}
    assert summary["cputemp"]["count"] == 12
    assert summary["cputemp"]["min"] == 44 and summary["cputemp"]["max"] == 55
    hosts = pq.read_table(out / "sensors_by_host.parquet").to_pylist()
    assert sorted(h["readings"] for h in hosts) == [4, 4, 4]
    assert "Summary statistics" in (out / "sensors.html").read_text()

    deadline = time.monotonic() + 15
    while not world["inbox"].messages:
        assert time.monotonic() < deadline, "no report arrived"
        time.sleep(0.05)
    mail = world["inbox"].messages[-1]
    assert mail["Subject"].endswith(f"sensors: run {run['id']} succeeded")
    assert any(p.get_filename() == "sensors.html" for p in mail.walk())


def test_the_join_job_pairs_every_reading_with_its_image(world: dict[str, Any]) -> None:
    service: JobsProcess = world["service"]
    job = f"{SEEDJOBS}/jobs/{service.job_id(SEEDJOBS, 'join')}"
    run = service.wait(job, service.start(job)["latest"]["id"], timeout=180)
    log = service.client.get(f"{job}/runs/{run['id']}/log").text
    assert run["status"] == "succeeded", log
    joined = pq.read_table(world["base"] / "out" / "joined.parquet").to_pylist()
    assert len(joined) == 12
    with_image = [r for r in joined if r["image_filename"] is not None]
    assert len(with_image) == 10 and "join: 10 of 12 readings paired" in log
    for row in with_image:
        assert row["image_filename"] == row["imgname"].rsplit("/", 1)[1]
        assert row["image_label_1"] == f"l{int(row['cputemp']) - 44}"


def test_every_seed_job_succeeds_on_a_new_lake(world: dict[str, Any]) -> None:
    """Before the hub has written anything (no folder yet, or an empty one) each seed job
    succeeds with empty results, so a flow that starts them early sees them through."""
    service: JobsProcess = world["service"]
    missing, empty = world["base"] / "new-lake" / "none", world["base"] / "new-lake" / "empty"
    empty.mkdir(parents=True)
    paths = {
        "sensors": {"SENSORS_PATH": str(missing)},
        "join": {"READINGS_PATH": str(empty), "IMAGES_PATH": str(missing)},
        "status": {"JOBSTATUS_PATH": str(empty)},
    }
    said = {
        "sensors": "sensors: 0 readings",
        "join": "join: 0 of 0 readings paired",
        "status": "status: 0 runs",
    }
    started = {}
    for name, environment in paths.items():
        job = f"{SEEDJOBS}/jobs/{service.job_id(SEEDJOBS, name)}"
        environment = {**environment, "OUTPUT_DIR": str(world["base"] / f"out-new-{name}")}
        started[name] = (job, service.start(job, environment=environment)["latest"]["id"])
    for name, (job, run_id) in started.items():
        run = service.wait(job, run_id, timeout=240)
        log = service.client.get(f"{job}/runs/{run_id}/log").text
        assert run["status"] == "succeeded", f"{name}: {log}"
        assert said[name] in log, log


def jobstatus_record(answer: dict[str, Any]) -> dict[str, Any]:
    """What FlattenJson and the seed's Jolt chain make of an answer (tested against the
    processors in tests/unit/jobs/test_jobs_jobstatus.py)."""
    flat: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, f"{prefix}_{key}" if prefix else key)
        else:
            flat[prefix] = value

    walk(answer, "")
    dropped = ("environment", "latest_k8s", "report_attachments")
    return {k: v for k, v in flat.items() if not k.startswith(dropped)}


def test_the_status_job_counts_runs_per_status_with_durations(world: dict[str, Any]) -> None:
    service: JobsProcess = world["service"]
    hello = f"{SCRATCH}/jobs/{service.job_id(SCRATCH, 'hello')}"
    records = []
    for _ in range(2):
        started = service.start(hello)
        records.append(jobstatus_record(started))
        service.wait(hello, started["latest"]["id"], 30)
        ended = service.client.get(started["latest"]["url"]).json()
        records.append(jobstatus_record(ended))
    schema = json.loads((SEED / "jobstatus.avsc").read_text())
    types = {"int": pa.int32(), "string": pa.string(), "boolean": pa.bool_()}
    arrow = pa.schema(
        [(f["name"], types[next(t for t in f["type"] if t != "null")]) for f in schema["fields"]]
    )
    folder = world["base"] / "lake" / "jobstatus"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, arrow), folder / "jobstatus-1.parquet")

    job = f"{SEEDJOBS}/jobs/{service.job_id(SEEDJOBS, 'status')}"
    api = {"JOBS_API_URL": service.url, "JOBS_API_KEY": KEY}
    run = service.wait(job, service.start(job, environment=api)["latest"]["id"], timeout=180)
    log = service.client.get(f"{job}/runs/{run['id']}/log").text
    assert run["status"] == "succeeded", log
    assert "status: 2 runs; succeeded 2" in log
    out = world["base"] / "out"
    runs = pq.read_table(out / "status_runs.parquet").to_pylist()
    assert sorted(r["run_id"] for r in runs) == sorted({r["latest_id"] for r in records})
    assert all(r["status"] == "succeeded" and r["duration"] > 0 for r in runs)
    (summary,) = pq.read_table(out / "status_summary.parquet").to_pylist()
    assert (summary["status"], summary["runs"]) == ("succeeded", 2)
    assert summary["mean_duration"] > 0
    assert "Runs per status" in (out / "status.html").read_text()


def test_bad_requests_over_http_and_the_service_keeps_working(world: dict[str, Any]) -> None:
    service: JobsProcess = world["service"]
    wrong = httpx.post(f"{service.url}{SCRATCH}/jobs/1/start", auth=("nope", ""))
    assert wrong.status_code == 401 and "unknown API key" in wrong.json()["message"]
    malformed = service.client.post(f"{SCRATCH}/jobs", content=b"{")
    assert malformed.status_code == 400 and "not JSON" in malformed.json()["message"]
    assert service.client.get(f"{SCRATCH}/jobs/12345").status_code == 404
    job = f"{SCRATCH}/jobs/{service.job_id(SCRATCH, 'hello')}"
    assert service.wait(job, service.start(job)["latest"]["id"], 30)["status"] == "succeeded"


def test_a_crash_then_restart_keeps_everything_and_fails_what_was_in_flight(
    world: dict[str, Any],
) -> None:
    service: JobsProcess = world["service"]
    hello = f"{SCRATCH}/jobs/{service.job_id(SCRATCH, 'hello')}"
    done = service.wait(hello, service.start(hello)["latest"]["id"], 30)
    sleep = f"{SCRATCH}/jobs/{service.job_id(SCRATCH, 'sleep')}"
    left = service.start(sleep)["latest"]["id"]
    deadline = time.monotonic() + 10
    while service.client.get(f"{sleep}/runs/{left}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    service.stop(signal.SIGKILL)

    again = JobsProcess(world["base"] / "jobs.yaml")
    world["service"] = again
    assert any("left in flight" in line for line in again.lines), again.lines
    run = again.client.get(f"{sleep}/runs/{left}").json()
    assert run["status"] == "failed" and "in flight" in run["reason"]
    assert again.client.get(f"{hello}/runs/{done['id']}").json()["status"] == "succeeded"
    slept = again.client.get(sleep).json()
    assert slept["latest"]["id"] == left and slept["total_failures"] >= 1
    # a clean stop (SIGTERM) exits 0
    assert again.stop() == 0
    world["service"] = JobsProcess(world["base"] / "jobs.yaml")
