"""flows/job-status.yaml against the real jobs service: the flow starts a job 20 times
(one GenerateFlowFile batch), polls each run until it ends, and stores both answers
of every run (``scheduling`` and the final status) as ``jobstatus`` rows in Parquet
whose columns and types are those of ``jobstatus.avsc``; the service's history shows
the 20 runs with their durations.

By default the job is a plain Python script: 20 PySpark runs take many minutes on a
small machine (each Spark start costs 10-40 s), and the jobs' Spark runs are tested in
tests/integration/test_jobs_service.py. With ``HEADWATER_JOBS_E2E_SPARK=1`` the job
is the seed's ``sensors`` job (jobs/sensors.py on PySpark, two engines at a time).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flowharness import REPOSITORY, RunFlow, poll, seed_path

from headwater.jobs.config import parse_config
from headwater.jobs.server import JobsServer

pytestmark = pytest.mark.e2e

RUNS = 20
SPARK = os.environ.get("HEADWATER_JOBS_E2E_SPARK") == "1"
KEY = "uu1ltbtc5jmo7s2dgtkvlhbaxq7iw2v8"
AVRO_TO_ARROW = {"int": "int32", "long": "int64", "string": "string", "boolean": "bool"}


@pytest.fixture
def jobs_service(tmp_path: Path) -> Iterator[str]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "quick.py").write_text("import time\nprint('working')\ntime.sleep(0.3)\n")
    job: dict[str, Any] = {"project": "tspann/edge-to-ai", "name": "quick", "script": "quick.py"}
    if SPARK:
        scripts = REPOSITORY / "jobs"
        sensors = tmp_path / "sensors" / "a.parquet"
        sensors.parent.mkdir()
        reading = json.loads(seed_path("sensor_reading.json").read_text())
        pq.write_table(pa.Table.from_pylist([reading] * 100), sensors)
        job = {
            **job,
            "name": "sensors",
            "script": "sensors.py",
            "kernel": "pyspark",
            "memory": 2,
            "environment": {"SENSORS_PATH": str(sensors), "OUTPUT_DIR": str(tmp_path / "out")},
        }
    config = parse_config(
        {
            "data-dir": "jobs-data",
            "max-concurrent-runs": 2 if SPARK else 0,
            "users": {"tspann": {"name": "Timothy Spann", "email": "t@e.com", "api-key": KEY}},
            "projects": {"tspann/edge-to-ai": {"name": "Edge to AI", "directory": str(scripts)}},
            "jobs": [job],
        },
        tmp_path,
    )
    with JobsServer(config, "127.0.0.1", 0) as server:
        yield server.url


@pytest.mark.timeout(2400 if SPARK else 300)
def test_the_job_status_flow_stores_every_run_start_and_end(
    run_flow: RunFlow, jobs_service: str, tmp_path: Path
) -> None:
    url = jobs_service
    lake = tmp_path / "lake"
    hub = run_flow(
        str(REPOSITORY / "flows" / "job-status.yaml"),
        parameters={
            "jobs_url": url,
            "job_id": "1",
            "api_key": KEY,
            "start_period": "1 hour",  # one batch of starts in this test
            "starts": str(RUNS),
            "lake": str(lake),
            "min_records": str(2 * RUNS),
            "max_records": str(2 * RUNS),
            "max_bin_age": "60 min" if SPARK else "2 min",
        },
    )

    def stored() -> list[Path]:
        return sorted(p for p in (lake / "jobstatus").glob("*.parquet"))

    timeout = 1800 if SPARK else 120
    poll(lambda: len(stored()) == 1, timeout=timeout, what="the Parquet file of 40 records")
    assert not (lake / "failed").exists() or not list((lake / "failed").iterdir())
    table = pq.read_table(stored()[0])
    schema = json.loads(seed_path("jobstatus.avsc").read_text())
    assert table.column_names == [f["name"] for f in schema["fields"]]
    for field in schema["fields"]:
        avro = next(t for t in field["type"] if t != "null")
        assert str(table.schema.field(field["name"]).type) == AVRO_TO_ARROW[avro], field
    rows = table.to_pylist()
    assert len(rows) == 2 * RUNS
    by_run: dict[str, list[str]] = {}
    for row in rows:
        by_run.setdefault(row["latest_id"], []).append(row["latest_status"])
    assert len(by_run) == RUNS
    assert all(sorted(s) == ["scheduling", "succeeded"] for s in by_run.values()), by_run

    auth = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
    history: list[dict[str, Any]] = httpx.get(
        f"{url}/api/v1/projects/tspann/edge-to-ai/jobs/1/runs", headers=auth
    ).json()
    assert {r["id"] for r in history} == set(by_run)
    assert all(r["status"] == "succeeded" and r["duration"] > 0.3 for r in history)
    if SPARK:
        log = httpx.get(history[0]["log_url"], headers=auth).text
        assert "sensors: 100 readings from 1 device(s)" in log
    job = httpx.get(f"{url}/api/v1/projects/tspann/edge-to-ai/jobs/1", headers=auth).json()
    assert (job["total_runs"], job["total_failures"]) == (RUNS, 0)
    assert hub.status() is not None
