"""With a token, every data route the UI calls refuses a request without it (or with
another), and answers with it; the UI's static files need none."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import JOBS_KEY, PROJECT, TOKEN, MakeHub
from headwater.web.options import JobsLink, WebOptions

# Every call the UI's pages make (js/pages/*.js), with a method.
UI_CALLS = [
    ("GET", "/api/v1/status"),
    ("POST", "/api/v1/processors/gen/start"),
    ("POST", "/api/v1/processors/gen/stop"),
    ("GET", "/api/v1/connections/gen-success-tag/flowfiles?limit=50"),
    ("GET", "/api/v1/provenance/events?limit=200"),
    ("GET", "/api/v1/provenance/events/1"),
    ("GET", "/api/v1/provenance/events/1/content"),
    ("GET", "/api/v1/provenance/lineage/some-uuid"),
    ("GET", "/api/v1/agents"),
    ("POST", "/api/v1/agents/pi-1/flow"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/1/runs?limit=200"),
    ("POST", "/api/v1/jobs/1/start"),
    ("GET", "/api/v1/jobs/1/runs/some-run/log"),
    ("GET", "/api/v1/dashboards/summary"),
    ("GET", "/api/v1/dashboards/devices"),
    ("GET", "/api/v1/dashboards/readings?host=pi-1&points=300"),
    ("GET", "/api/v1/dashboards/images?host=pi-1&limit=12"),
    ("GET", "/api/v1/dashboards/images/bog_image_1.jpg"),
    ("GET", "/api/v1/dashboards/joined?host=pi-1&limit=50"),
]


@pytest.fixture
def hub(make_hub: MakeHub, jobs_url: str, tmp_path: Path) -> TestClient:
    (tmp_path / "lake").mkdir()
    link = JobsLink(jobs_url, JOBS_KEY, PROJECT)
    return make_hub(web=WebOptions(lake=tmp_path / "lake", images=tmp_path / "img", jobs=link))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["none", "wrong"])
def test_every_data_route_of_the_ui_refuses_a_request_without_the_token(
    hub: TestClient, headers: dict[str, str]
) -> None:
    for method, path in UI_CALLS:
        answer = hub.request(method, path, headers=headers)
        assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
        assert "token" in answer.json()["detail"]


def test_with_the_token_the_same_routes_answer(hub: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    served = {
        path: hub.request(method, path, headers=auth).status_code for method, path in UI_CALLS
    }
    assert 401 not in served.values(), served
    for path in ("/api/v1/status", "/api/v1/agents", "/api/v1/jobs", "/api/v1/dashboards/summary"):
        assert served[path] == 200, path
    assert hub.get("/api/v1/dashboards/devices", headers=auth).json() == {"devices": []}


def test_the_static_files_need_no_token(hub: TestClient) -> None:
    for path in ("/ui/", "/ui/js/main.js", "/ui/app.css"):
        assert hub.get(path).status_code == 200, path
