"""``/api/v1/jobs...``: the hub's proxy to a real jobs service on 127.0.0.1, and how
it answers when no service is linked, the service is down, or the key is wrong."""

from __future__ import annotations

import socket
import time
from typing import Any

from fastapi.testclient import TestClient

from conftest import JOBS_KEY, PROJECT, TOKEN, MakeHub
from headwater.web.options import JobsLink, WebOptions

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FINAL = ("succeeded", "failed", "stopped", "timedout")


def linked(make_hub: MakeHub, url: str, key: str = JOBS_KEY) -> TestClient:
    return make_hub(web=WebOptions(jobs=JobsLink(url, key, PROJECT)))


def get(client: TestClient, path: str) -> Any:
    answer = client.get(f"/api/v1{path}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def finished(client: TestClient, job_id: int, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        (run,) = [r for r in get(client, f"/jobs/{job_id}/runs")["runs"] if r["id"] == run_id]
        if run["status"] in FINAL:
            return run  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
        time.sleep(0.05)


def test_jobs_are_listed_started_and_their_runs_and_logs_shown(
    make_hub: MakeHub, jobs_url: str
) -> None:
    client = linked(make_hub, jobs_url)
    listed = get(client, "/jobs")
    assert listed["project"] == PROJECT
    jobs = {j["name"]: j for j in listed["jobs"]}
    assert set(jobs) == {"hello", "boom"}
    assert jobs["hello"]["latest"] is None and jobs["hello"]["script"] == "hello.py"

    for name, status in (("hello", "succeeded"), ("boom", "failed")):
        job_id = jobs[name]["id"]
        started = client.post(f"/api/v1/jobs/{job_id}/start", headers=AUTH)
        assert started.status_code == 200, started.text
        run_id = started.json()["latest"]["id"]
        run = finished(client, job_id, run_id)
        assert run["status"] == status
        assert run["duration"] is not None and run["duration"] >= 0
        assert run["created_at"] and run["finished_at"]
        log = client.get(f"/api/v1/jobs/{job_id}/runs/{run_id}/log", headers=AUTH)
        assert log.status_code == 200
        assert log.headers["content-type"].startswith("text/plain")
        expected = "hello from the jobs service" if name == "hello" else "boom: the data is bad"
        assert expected in log.text
    after = {j["name"]: j for j in get(client, "/jobs")["jobs"]}
    assert after["hello"]["latest"]["status"] == "succeeded"
    assert after["boom"]["total_failures"] == 1


def test_the_jobs_services_refusals_keep_their_code_and_reason(
    make_hub: MakeHub, jobs_url: str
) -> None:
    client = linked(make_hub, jobs_url)
    missing = client.get("/api/v1/jobs/999/runs", headers=AUTH)
    assert missing.status_code == 404
    assert "no job 999" in missing.json()["detail"]
    no_run = client.get("/api/v1/jobs/1/runs/nope/log", headers=AUTH)
    assert no_run.status_code == 404 and "no run nope" in no_run.json()["detail"]
    bad_id = client.get("/api/v1/jobs/zero/runs", headers=AUTH)
    assert bad_id.status_code == 422 and "job_id" in bad_id.json()["detail"]
    bad_run = client.get("/api/v1/jobs/1/runs/..%2F..%2Fetc/log", headers=AUTH)
    assert bad_run.status_code in (404, 422)


def test_a_wrong_key_is_a_502_naming_the_flags(make_hub: MakeHub, jobs_url: str) -> None:
    client = linked(make_hub, jobs_url, key="not-the-key")
    answer = client.get("/api/v1/jobs", headers=AUTH)
    assert answer.status_code == 502
    assert "--jobs-key" in answer.json()["detail"] and "401" in answer.json()["detail"]


def test_a_jobs_service_that_is_down_is_a_503_with_the_reason(make_hub: MakeHub) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = linked(make_hub, f"http://127.0.0.1:{port}")
    for method, path in (("GET", "/jobs"), ("POST", "/jobs/1/start"), ("GET", "/jobs/1/runs")):
        answer = client.request(method, f"/api/v1{path}", headers=AUTH)
        assert answer.status_code == 503, path
        assert f"127.0.0.1:{port} cannot be reached" in answer.json()["detail"]


def test_without_a_linked_service_the_jobs_routes_are_404(make_hub: MakeHub) -> None:
    client = make_hub()
    for path in ("/jobs", "/jobs/1/runs"):
        answer = client.get(f"/api/v1{path}", headers=AUTH)
        assert answer.status_code == 404
        assert answer.json()["detail"].startswith("no jobs service linked")
