"""``headwater demo --devices 3``: the issue's acceptance facts, from the outputs and
through the APIs, within two minutes of the start; every API the UI uses refuses a
request without the token. The demo runs once per session (demo_harness.py)."""

from __future__ import annotations

import ftplib
import json
from typing import Any

import pytest
from demo_harness import DEVICES, RunningDemo, running_demo

__all__ = ["running_demo"]  # the fixture, used by name below

pytestmark = pytest.mark.e2e
WITHIN = 120.0  # the "within two minutes"
FINAL = ("succeeded", "failed", "stopped", "timedout")


def test_the_lake_has_readings_from_every_device(running_demo: RunningDemo) -> None:
    def hosts() -> set[str] | None:
        found = {row["host"] for row in running_demo.lake_rows("sensors")}
        return found if found >= set(DEVICES) else None

    running_demo.wait_for("readings from all three devices in lake/sensors", hosts, WITHIN)
    listed = running_demo.api("GET", "/api/v1/dashboards/devices")
    assert listed.status_code == 200, listed.text
    by_host = {device["host"]: device for device in listed.json()["devices"]}
    for host in DEVICES:
        assert by_host[host]["readings"] > 0


def _stored_images(demo: RunningDemo) -> dict[str, list[dict[str, Any]]] | None:
    """The lake's image rows of each device whose JPEG is in the FTP store, once every
    device has one."""
    in_store = demo.ftp_images()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in demo.lake_rows("images"):
        if row["filename"] in in_store:
            found.setdefault(row["host"], []).append(row)
    return found if set(found) >= set(DEVICES) else None


def test_every_device_has_images_in_the_ftp_store_with_labels_and_detections(
    running_demo: RunningDemo,
) -> None:
    stored = running_demo.wait_for(
        "images of all three devices in the FTP store and lake/images",
        lambda: _stored_images(running_demo),
        WITHIN,
    )
    for host, rows in stored.items():
        for row in rows:
            assert row["label_1"], f"{host}: {row['filename']} has no label"
            assert row["probability_1"].endswith("%"), row
            detections = json.loads(row["detections"])
            assert isinstance(detections, list), row
            for detection in detections:
                assert {"label", "confidence", "box"} <= set(detection)
            assert row["url"].endswith("/images/" + row["filename"])
    # the store itself, over FTP with the generated login, lists them
    secrets = running_demo.secrets
    host, port = running_demo.ftp_url.removeprefix("ftp://").split(":")
    client = ftplib.FTP()
    client.connect(host, int(port), timeout=10)
    client.login("headwater", secrets["ftp-password"])
    try:
        listed = {name.rsplit("/", 1)[-1] for name in client.nlst("/images")}
    finally:
        client.quit()
    some = next(iter(stored[DEVICES[0]]))["filename"]
    assert some in listed


def test_the_images_api_shows_labels_and_detections(running_demo: RunningDemo) -> None:
    running_demo.wait_for("images in the lake", lambda: _stored_images(running_demo), WITHIN)
    answer = running_demo.api("GET", "/api/v1/dashboards/images", params={"limit": 50})
    assert answer.status_code == 200, answer.text
    images = answer.json()["images"]
    assert images
    for image in images:
        assert image["labels"] and image["labels"][0]["label"]
        assert isinstance(image["detections"], list)
    first = running_demo.api("GET", images[0]["content"])
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert first.content[:2] == b"\xff\xd8"


def test_a_job_run_succeeds_and_its_status_row_is_stored(running_demo: RunningDemo) -> None:
    def succeeded_and_stored() -> list[dict[str, Any]] | None:
        rows = running_demo.lake_rows("jobstatus")
        done = [row for row in rows if row.get("latest_status") == "succeeded"]
        return done or None

    rows = running_demo.wait_for(
        "a succeeded job run with its status row in lake/jobstatus", succeeded_and_stored, WITHIN
    )
    run_id, job_id = rows[0]["latest_id"], rows[0]["id"]
    # the jobs service agrees, and so does the hub's jobs page
    project = "tspann/edge-to-ai"
    runs = running_demo.jobs_api(f"/projects/{project}/jobs/{job_id}/runs")
    assert runs.status_code == 200, runs.text
    statuses = {str(run["id"]): run["status"] for run in _listed(runs.json())}
    assert statuses.get(str(run_id)) == "succeeded", statuses
    jobs = running_demo.api("GET", "/api/v1/jobs")
    assert jobs.status_code == 200, jobs.text
    hub_runs = running_demo.api("GET", f"/api/v1/jobs/{job_id}/runs")
    assert hub_runs.status_code == 200, hub_runs.text
    assert any(run.get("status") == "succeeded" for run in _listed(hub_runs.json()))


def _listed(body: Any) -> list[dict[str, Any]]:
    """A list answer, bare or under its one list-valued key."""
    if isinstance(body, list):
        return body
    lists = [value for value in body.values() if isinstance(value, list)]
    assert len(lists) == 1, body
    return lists[0]


# Every call the web UI makes for data (the static files under /ui/ need no token).
UI_CALLS = [
    ("GET", "/api/v1/status"),
    ("GET", "/api/v1/connections"),
    ("GET", "/api/v1/provenance/events?limit=10"),
    ("GET", "/api/v1/provenance/lineage/01a2215b-8b7b-71cf-84f4-d7dbaec3653a"),
    ("GET", "/api/v1/agents"),
    ("GET", "/api/v1/dashboards/devices"),
    ("GET", "/api/v1/dashboards/readings?host=device-1"),
    ("GET", "/api/v1/dashboards/images?limit=5"),
    ("GET", "/api/v1/dashboards/images/bog_image_x.jpg"),
    ("GET", "/api/v1/dashboards/joined"),
    ("GET", "/api/v1/dashboards/summary"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/1/runs"),
    ("POST", "/api/v1/jobs/1/start"),
    ("GET", "/api/v1/jobs/1/runs/some-run/log"),
    ("POST", "/api/v1/processors/merge-readings/stop"),
]


@pytest.mark.parametrize(("method", "path"), UI_CALLS)
def test_every_ui_api_refuses_a_request_without_the_token(
    running_demo: RunningDemo, method: str, path: str
) -> None:
    missing = running_demo.api(method, path, token=None)
    wrong = running_demo.api(method, path, token="not-the-token")
    assert missing.status_code == 401, (path, missing.status_code, missing.text)
    assert wrong.status_code in (401, 403), (path, wrong.status_code, wrong.text)


def test_the_summary_api_counts_what_the_demo_made(running_demo: RunningDemo) -> None:
    running_demo.wait_for("images in the lake", lambda: _stored_images(running_demo), WITHIN)
    summary = running_demo.api("GET", "/api/v1/dashboards/summary")
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["devices"] >= len(DEVICES)
    assert body["readings"] > 0 and body["images"] > 0
    assert isinstance(body["lastReading"], int)
    ui = running_demo.api("GET", "/ui/", token=None)  # the page itself needs no token
    assert ui.status_code == 200
