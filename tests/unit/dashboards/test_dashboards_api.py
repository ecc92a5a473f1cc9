"""The /dashboards routes through FastAPI, over a Lake on app.state as create_app sets
it, with create_app's error handlers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_lakes import T0, LakeWriter, image, lake_over, reading, writer_in
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

from headwater.api import dashboards
from headwater.api.app import _api_error, _repository_error, _validation_error
from headwater.dashboards import FIELDS, Lake
from headwater.errors import ApiError, RepositoryError

JPEG = b"\xff\xd8\xff\xe0 a tiny jpeg \xff\xd9"

writer = pytest.fixture(writer_in, name="writer")
lake = pytest.fixture(lake_over, name="lake")


def app_over(lake: Lake | None) -> FastAPI:
    app = FastAPI()
    if lake is not None:
        app.state.lake = lake
    app.include_router(dashboards.router, prefix="/api/v1")
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RepositoryError, _repository_error)
    return app


@pytest.fixture
def client(writer: LakeWriter, lake: Lake) -> Iterator[TestClient]:
    rows = [reading(host, T0 + 1000 * n, n) for host in ("alpha", "bravo") for n in range(90)]
    writer.sensors(rows)
    writer.write("images", [image("alpha", T0 + 1000 * n, n) for n in (10, 20, 30)])
    assert lake.images_dir is not None
    (lake.images_dir / "bog_image_alpha_30.jpg").write_bytes(JPEG)
    with TestClient(app_over(lake)) as test_client:
        yield test_client


def test_devices_and_summary(client: TestClient) -> None:
    devices = client.get("/api/v1/dashboards/devices").json()["devices"]
    assert [(d["host"], d["readings"]) for d in devices] == [("alpha", 90), ("bravo", 90)]
    assert devices[0]["last"] == T0 + 89_000
    assert set(devices[0]["latest"]) == set(FIELDS)
    assert client.get("/api/v1/dashboards/summary").json() == {
        "readings": 180,
        "images": 3,
        "devices": 2,
        "jobRuns": 0,
        "lastReading": T0 + 89_000,
    }


def test_readings_take_times_as_millis_or_iso(client: TestClient) -> None:
    by_millis = client.get(
        "/api/v1/dashboards/readings",
        params={"host": "alpha", "since": T0 + 10_000, "until": T0 + 19_999, "points": 10},
    ).json()
    assert by_millis["host"] == "alpha"
    assert by_millis["series"]["time"] == [T0 + 1000 * n for n in range(10, 20)]
    assert by_millis["series"]["cputemp"] == [40 + n % 7 for n in range(10, 20)]
    by_iso = client.get(
        "/api/v1/dashboards/readings",
        params={
            "host": "alpha",
            "since": "2026-09-21T14:13:30Z",
            "until": "2026-09-21T14:13:39.999Z",
            "points": 10,
        },
    ).json()
    assert by_iso == by_millis


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "host"),
        ({"host": "alpha", "points": 0}, "points"),
        ({"host": "alpha", "points": "many"}, "points"),
        ({"host": "alpha", "since": "yesterday"}, "since"),
        ({"host": "alpha", "since": T0, "until": T0 - 1}, "until"),
    ],
)
def test_bad_readings_parameters_are_422_naming_them(
    client: TestClient, params: dict[str, object], problem: str
) -> None:
    answer = client.get("/api/v1/dashboards/readings", params=params)
    assert answer.status_code == 422
    assert problem in answer.json()["detail"]


def test_images_and_joined_filter_by_host_and_limit(client: TestClient) -> None:
    images = client.get("/api/v1/dashboards/images", params={"limit": 2}).json()["images"]
    assert [i["filename"] for i in images] == ["bog_image_alpha_30.jpg", "bog_image_alpha_20.jpg"]
    assert images[0]["labels"][0] == {"label": "label1-30", "probability": 50.0}
    none = client.get("/api/v1/dashboards/images", params={"host": "bravo"}).json()
    assert none == {"images": []}
    everyone = client.get("/api/v1/dashboards/images", params={"host": ""}).json()["images"]
    assert len(everyone) == 3
    joined = client.get("/api/v1/dashboards/joined", params={"limit": 1}).json()
    row = dict(zip(joined["columns"], joined["rows"][0], strict=True))
    assert row["filename"] == "bog_image_alpha_30.jpg"
    assert row["reading_time"] == T0 + 30_000
    assert row["cputemp"] == 40 + 30 % 7
    too_many = client.get("/api/v1/dashboards/images", params={"limit": 10**6})
    assert too_many.status_code == 422 and "limit" in too_many.json()["detail"]


def test_an_image_is_served_as_jpeg(client: TestClient) -> None:
    content = client.get("/api/v1/dashboards/images").json()["images"][0]["content"]
    answer = client.get(content)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.content == JPEG


@pytest.mark.parametrize("name", [".secrets.yaml", "a b.jpg", "..", "~root.jpg"])
def test_an_image_name_that_is_not_plain_is_400(client: TestClient, name: str) -> None:
    answer = client.get(f"/api/v1/dashboards/images/{name.replace('.', '%2E', 2)}")
    assert answer.status_code == 400, answer.text
    assert "plain file name" in answer.json()["detail"]


def test_an_unknown_image_is_404(client: TestClient) -> None:
    answer = client.get("/api/v1/dashboards/images/bog_image_alpha_20.jpg")  # no JPEG stored
    assert answer.status_code == 404
    assert "bog_image_alpha_20.jpg" in answer.json()["detail"]


def test_without_a_lake_every_route_says_so(tmp_path: Path) -> None:
    with TestClient(app_over(None)) as client:
        for path in ("devices", "summary", "images", "joined", "images/x.jpg"):
            answer = client.get(f"/api/v1/dashboards/{path}")
            assert answer.status_code == 404
            assert "--lake" in answer.json()["detail"]


def test_a_database_that_fails_is_503_with_the_reason(writer: LakeWriter) -> None:
    lake = Lake(writer.root, database=":memory:")
    lake.close()  # every query now fails inside DuckDB
    with TestClient(app_over(lake)) as client:
        answer = client.get("/api/v1/dashboards/summary")
    assert answer.status_code == 503
    assert "dashboards" in answer.json()["detail"]
