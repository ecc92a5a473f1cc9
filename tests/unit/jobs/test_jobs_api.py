"""The CDSW Jobs API: the start response in the seed's exact shape, the users and
projects endpoints, and every bad request answered 4xx with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import KEY, OTHER_KEY, PROJECT, SEED, Jobs, auth


def shape(value: Any) -> Any:
    """Keys, nesting and types of a JSON value, its own values left out."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def test_start_answers_the_whole_job_in_the_seed_shape(jobs: Jobs) -> None:
    seed = json.loads((SEED / "cdsw_job_start_response.json").read_text())
    job = jobs.create(name="hello", script="hello.py", cpu=2, memory=4, timeout=30)
    started = jobs.start(job["id"])

    assert shape(started) == shape(seed)
    assert list(started) == list(seed), "the same keys in the same order"
    assert list(started["latest"]) == list(seed["latest"])
    assert list(started["project"]["owner"]) == list(seed["project"]["owner"])
    assert started["latest"]["status"] == "scheduling"
    assert started["engine_id"] == started["latest"]["id"]
    assert started["total_runs"] == 1 and started["total_failures"] == 0
    assert (started["cpu"], started["memory"], started["timeout"]) == (2, 4, 30)
    assert started["creator"]["username"] == "tspann"
    assert started["project"]["slug"] == "tspann/edge-to-ai"
    assert started["url"].endswith(f"{PROJECT}/jobs/{job['id']}")
    jobs.wait(job["id"], started["latest"]["id"])


def test_get_job_and_dashboard_answer_the_same_shape_with_the_final_status(jobs: Jobs) -> None:
    job = jobs.create(name="hello", script="hello.py")
    started = jobs.start(job["id"])
    run_id = started["latest"]["id"]
    jobs.wait(job["id"], run_id)
    got = jobs.client.get(f"{PROJECT}/jobs/{job['id']}", headers=auth()).json()
    dashboard = jobs.client.get(started["latest"]["url"], headers=auth()).json()
    assert shape(got) == shape(started) == shape(dashboard)
    assert got["latest"]["status"] == dashboard["latest"]["status"] == "succeeded"


def test_users_projects_and_jobs_listing(jobs: Jobs) -> None:
    user = jobs.client.get("/api/v1/users/tspann", headers=auth()).json()
    assert (user["username"], user["name"], user["email"]) == (
        "tspann",
        "Timothy Spann",
        "t@example.com",
    )
    projects = jobs.client.get("/api/v1/users/tspann/projects", headers=auth()).json()
    assert [p["slug"] for p in projects] == ["tspann/edge-to-ai"]
    made = jobs.client.post(
        "/api/v1/users/tspann/projects", json={"name": "Second One"}, headers=auth()
    )
    assert made.status_code == 201 and made.json()["slug"] == "tspann/second-one"
    jobs.create(name="a", script="hello.py")
    jobs.create(name="b", script="boom.py", schedule="*/5 * * * *")
    listed = jobs.client.get(f"{PROJECT}/jobs", headers=auth()).json()
    assert [(j["name"], j["type"], j["englishSchedule"]) for j in listed] == [
        ("a", "manual", ""),
        ("b", "cron", "Every 5 minutes"),
    ]
    assert listed[0]["latest"] is None


def test_start_takes_an_environment_for_that_run(jobs: Jobs) -> None:
    job = jobs.create(name="hello", script="hello.py", environment={"GREETING": "the job"})
    first = jobs.start(job["id"])["latest"]["id"]
    second = jobs.start(job["id"], environment={"GREETING": "the run"})["latest"]["id"]
    jobs.wait(job["id"], first)
    jobs.wait(job["id"], second)
    assert jobs.log(job["id"], first).strip() == "hello from the job"
    assert jobs.log(job["id"], second).strip() == "hello from the run"


BAD = [
    ("get", f"{PROJECT}/jobs", None, {"Authorization": "Basic " + "d3Jvbmc6"}, 401, "API key"),
    ("get", f"{PROJECT}/jobs", None, {}, 401, "HTTP Basic"),
    ("get", f"{PROJECT}/jobs", None, {"Authorization": "Basic !!!"}, 401, "Basic"),
    ("get", f"{PROJECT}/jobs", None, auth(OTHER_KEY), 403, "may not"),
    ("get", "/api/v1/projects/tspann/nope/jobs", None, auth(), 404, "no project"),
    ("get", f"{PROJECT}/jobs/999", None, auth(), 404, "no job 999"),
    ("get", f"{PROJECT}/jobs/abc", None, auth(), 404, "job_id"),
    ("get", f"{PROJECT}/jobs/{10**30}", None, auth(), 404, "no job"),
    ("get", f"{PROJECT}/jobs/1/runs?limit=many", None, auth(), 400, "limit"),
    ("post", f"{PROJECT}/jobs/999/start", None, auth(), 404, "no job 999"),
    ("post", f"{PROJECT}/jobs", b"{not json", auth(), 400, "not JSON"),
    ("post", f"{PROJECT}/jobs", b"[1, 2]", auth(), 400, "JSON object"),
    ("post", f"{PROJECT}/jobs", {"script": "hello.py"}, auth(), 400, "name: is required"),
    ("post", f"{PROJECT}/jobs", {"name": "x", "script": "missing.py"}, auth(), 400, "no such"),
    ("post", f"{PROJECT}/jobs", {"name": "x", "script": "../x.py"}, auth(), 400, "inside"),
    (
        "post",
        f"{PROJECT}/jobs",
        {"name": "x", "script": "hello.py", "kernel": "r"},
        auth(),
        400,
        "kernel",
    ),
    (
        "post",
        f"{PROJECT}/jobs",
        {"name": "x", "script": "hello.py", "schedule": "often"},
        auth(),
        400,
        "cron",
    ),
    (
        "post",
        f"{PROJECT}/jobs",
        {"name": "x", "script": "hello.py", "nvidia_gpu": 1},
        auth(),
        400,
        "GPU",
    ),
    ("get", "/api/v1/nothing-here", None, auth(), 404, "Not Found"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "reason"), BAD)
def test_bad_requests_get_4xx_json_with_a_reason(
    jobs: Jobs, method: str, path: str, body: Any, headers: dict[str, str], status: int, reason: str
) -> None:
    send = getattr(jobs.client, method)
    if isinstance(body, bytes):
        response = send(path, content=body, headers=headers)
    elif body is not None:
        response = send(path, json=body, headers=headers)
    else:
        response = send(path, headers=headers)
    assert response.status_code == status, response.text
    assert reason in response.json()["message"]
    # and the service keeps working
    assert jobs.client.get(f"{PROJECT}/jobs", headers=auth()).status_code == 200


def test_a_deleted_job_cannot_be_started_and_a_bad_start_body_is_refused(jobs: Jobs) -> None:
    job = jobs.create(name="hello", script="hello.py")
    start = f"{PROJECT}/jobs/{job['id']}/start"
    bad_env = jobs.client.post(start, json={"environment": ["x"]}, headers=auth())
    assert bad_env.status_code == 400 and "environment" in bad_env.json()["message"]
    unknown = jobs.client.post(start, json={"cpu": 3}, headers=auth())
    assert unknown.status_code == 400 and "cpu" in unknown.json()["message"]
    stop = jobs.client.post(f"{PROJECT}/jobs/{job['id']}/stop", headers=auth())
    assert stop.status_code == 409 and "no run in flight" in stop.json()["message"]
    assert jobs.client.delete(f"{PROJECT}/jobs/{job['id']}", headers=auth()).status_code == 204
    refused = jobs.client.post(start, headers=auth())
    assert refused.status_code == 404 and "deleted" in refused.json()["message"]
    assert KEY not in refused.text
