from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from headwater.api import create_app
from headwater.engine.controller import FlowController
from headwater.errors import ConfigurationError

TOKEN = "s3cret-token"


@pytest.fixture
def guarded(controller: FlowController) -> TestClient:
    return TestClient(create_app(controller, token=TOKEN))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/status"),
        ("GET", "/api/v1/connections"),
        ("GET", "/api/v1/connections/route/b/held/flowfiles"),
        ("GET", "/api/v1/provenance/events"),
        ("GET", "/api/v1/provenance/events/1"),
        ("GET", "/api/v1/provenance/events/1/content"),
        ("GET", "/api/v1/provenance/lineage/x"),
        ("GET", "/api/v1/flowfiles/x/content"),
        ("POST", "/api/v1/processors/gen/stop"),
        ("GET", "/api/v1/processors/gen"),
    ],
)
def test_every_route_but_health_needs_the_token(
    guarded: TestClient, method: str, path: str
) -> None:
    missing = guarded.request(method, path)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in missing.json()["detail"]
    wrong = guarded.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "not the one the hub was started with" in wrong.json()["detail"]
    basic = guarded.request(method, path, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401


def test_the_right_token_passes(guarded: TestClient) -> None:
    response = guarded.get("/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.json()["flow"] == "api-test"


def test_health_needs_no_token(guarded: TestClient) -> None:
    assert guarded.get("/api/v1/health").json() == {"status": "ok"}


def test_openapi_declares_the_bearer_scheme(guarded: TestClient) -> None:
    document = guarded.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/api/v1/health"]["get"]
    assert document["paths"]["/api/v1/status"]["get"]["security"] == [{"bearerToken": []}]


def test_without_a_token_nothing_is_guarded(client: TestClient) -> None:
    assert client.get("/api/v1/status").status_code == 200


def test_an_empty_token_is_refused(controller: FlowController) -> None:
    with pytest.raises(ConfigurationError, match="API token is empty"):
        create_app(controller, token=" ")
