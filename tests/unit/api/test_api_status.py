from __future__ import annotations

from fastapi.testclient import TestClient

from headwater.api import create_app
from headwater.engine.controller import FlowController

HELD = "route/b/held"


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_status_lists_every_processor_and_connection_with_counts(
    client: TestClient, controller: FlowController
) -> None:
    body = client.get("/api/v1/status").json()
    assert body["flow"] == "api-test"
    assert body["running"] is False
    processors = {p["id"]: p for p in body["processors"]}
    assert set(processors) == {"gen", "route", "upper", "tag", "held", "explode"}
    tag = processors["tag"]
    assert tag["type"] == "UpdateAttribute"
    assert tag["flowFilesIn"] >= 3
    assert tag["bytesIn"] == 5 * tag["flowFilesIn"]
    assert tag["flowFilesRemoved"] == tag["flowFilesIn"]
    assert tag["tasks"] >= 1
    assert processors["gen"]["flowFilesOut"] >= 3
    assert processors["held"]["state"] == "DISABLED"
    connections = {c["id"]: c for c in body["connections"]}
    held = connections[HELD]
    assert held["queuedCount"] == controller.connections[HELD].queue.count >= 3
    assert held["queuedBytes"] == 5 * held["queuedCount"]
    assert held["backPressured"] is True
    assert connections["upper/success/tag"]["backPressured"] is False


def test_status_shows_the_last_error_as_a_bulletin(client: TestClient) -> None:
    processors = {p["id"]: p for p in client.get("/api/v1/status").json()["processors"]}
    explode = processors["explode"]
    assert explode["errors"] >= 1
    assert explode["lastError"]["level"] == "ERROR"
    assert "boom" in explode["lastError"]["message"]
    assert explode["lastError"]["componentId"] == "explode"
    assert explode["bulletins"][-1] == explode["lastError"]
    assert processors["tag"]["lastError"] is None


def test_connections_list_every_connection(client: TestClient) -> None:
    body = client.get("/api/v1/connections").json()
    assert [c["id"] for c in body["connections"]] == [
        "gen/success/route,explode",
        "gen/success/explode",
        "route/a/upper",
        "upper/success/tag",
        HELD,
    ]


def test_one_connection_by_an_id_with_slashes_and_commas(client: TestClient) -> None:
    plain = client.get("/api/v1/connections/gen/success/route,explode")
    encoded = client.get("/api/v1/connections/gen%2Fsuccess%2Froute%2Cexplode")
    assert plain.status_code == encoded.status_code == 200
    assert plain.json()["id"] == encoded.json()["id"] == "gen/success/route,explode"


def test_queue_listing_shows_the_queued_flowfiles_in_order(
    client: TestClient, controller: FlowController
) -> None:
    response = client.get(f"/api/v1/connections/{HELD}/flowfiles", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["connectionId"] == HELD
    assert body["queuedCount"] == controller.connections[HELD].queue.count
    expected = [ff.uuid for ff in controller.connections[HELD].queue.listing(2)]
    assert [ff["uuid"] for ff in body["flowFiles"]] == expected
    first = body["flowFiles"][0]
    assert first["position"] == 1
    assert first["filename"] == "greeting.txt"
    assert first["size"] == 5
    assert first["attributes"]["RouteOnAttribute.Route"] == "b"
    assert first["attributes"]["uuid"] == first["uuid"]
    assert first["entryDate"] > 0 and first["queuedAt"] >= first["entryDate"]
    assert first["penalized"] is False


def test_queue_listing_of_an_encoded_id(client: TestClient) -> None:
    response = client.get("/api/v1/connections/route%2Fb%2Fheld/flowfiles")
    assert response.status_code == 200
    assert len(response.json()["flowFiles"]) >= 3


def test_unknown_connection_is_a_404_naming_the_known_ones(client: TestClient) -> None:
    for path in ("/api/v1/connections/nope/flowfiles", "/api/v1/connections/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert "no connection 'nope'" in response.json()["detail"]
        assert HELD in response.json()["detail"]


def test_queue_listing_limit_is_validated(client: TestClient) -> None:
    for bad in ("0", "10001", "ten"):
        response = client.get(f"/api/v1/connections/{HELD}/flowfiles", params={"limit": bad})
        assert response.status_code == 422
        assert "query parameter 'limit'" in response.json()["detail"]


def test_processor_stop_and_start(controller: FlowController) -> None:
    controller.scheduler.start()
    client = TestClient(create_app(controller))
    stopped = client.post("/api/v1/processors/gen/stop")
    assert stopped.status_code == 200
    assert stopped.json()["state"] == "STOPPED"
    assert controller.nodes["gen"].state == "STOPPED"
    started = client.post("/api/v1/processors/gen/start")
    assert started.status_code == 200
    assert started.json()["id"] == "gen"
    assert started.json()["state"] == "RUNNING"
    assert client.get("/api/v1/processors/gen").json()["state"] == "RUNNING"
    controller.scheduler.stop()


def test_unknown_processor_is_a_404(client: TestClient) -> None:
    for method, path in (
        ("POST", "/api/v1/processors/nope/start"),
        ("POST", "/api/v1/processors/nope/stop"),
        ("GET", "/api/v1/processors/nope"),
    ):
        response = client.request(method, path)
        assert response.status_code == 404
        assert "no processor 'nope'" in response.json()["detail"]


def test_openapi_document_describes_the_api(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "headwater hub API"
    assert document["info"]["description"]
    paths = document["paths"]
    for path in (
        "/api/v1/health",
        "/api/v1/status",
        "/api/v1/provenance/events",
        "/api/v1/provenance/events/{event_id}",
        "/api/v1/provenance/events/{event_id}/content",
        "/api/v1/provenance/lineage/{uuid}",
        "/api/v1/flowfiles/{uuid}/content",
        "/api/v1/connections",
        "/api/v1/connections/{connection_id}/flowfiles",
        "/api/v1/processors/{processor_id}/start",
    ):
        assert path in paths, path
    parameters = {p["name"] for p in paths["/api/v1/provenance/events"]["get"]["parameters"]}
    assert parameters == {"flowfile", "type", "component", "since", "until", "limit"}
