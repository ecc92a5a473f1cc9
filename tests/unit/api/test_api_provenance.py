from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from headwater.engine.controller import FlowController
from headwater.flowfile import now_millis
from headwater.provenance import ProvenanceEvent, ProvenanceEventType

HELD = "route/b/held"


def _events(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/provenance/events", params=params)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _held_clone(controller: FlowController) -> str:
    return controller.connections[HELD].queue.listing(1)[0].uuid


def test_events_are_newest_first(client: TestClient, controller: FlowController) -> None:
    events = _events(client, limit=10_000)
    ids = [e["eventId"] for e in events]
    assert ids == sorted(ids, reverse=True)
    assert len(events) == controller.repositories.provenance.count()
    assert {"CREATE", "CLONE", "ROUTE", "CONTENT_MODIFIED", "DROP"} <= {
        e["eventType"] for e in events
    }


def test_events_filtered_by_flowfile_type_and_component(
    client: TestClient, controller: FlowController
) -> None:
    clone = _held_clone(controller)
    mine = _events(client, flowfile=clone)
    assert mine and all(e["flowFileUuid"] == clone for e in mine)
    assert [e["eventType"] for e in mine] == ["ROUTE"]

    creates = _events(client, type="CREATE")
    assert creates and all(e["eventType"] == "CREATE" for e in creates)
    assert all(e["componentId"] == "gen" for e in creates)
    assert _events(client, type="create") == creates

    upper = _events(client, component="upper", type="CONTENT_MODIFIED")
    assert upper and all(e["componentId"] == "upper" for e in upper)
    assert all(e["componentType"] == "_Uppercase" for e in upper)


def test_events_limit(client: TestClient) -> None:
    every = _events(client)
    assert _events(client, limit=2) == every[:2]
    assert len(_events(client, limit=1, type="ROUTE")) == 1


def test_events_since_and_until_in_millis_or_iso_8601(client: TestClient) -> None:
    every = _events(client)
    times = sorted(e["eventTime"] for e in every)
    middle = int(times[len(times) // 2])
    later = _events(client, since=middle)
    assert later and all(e["eventTime"] >= middle for e in later)
    earlier = _events(client, until=middle)
    assert earlier and all(e["eventTime"] <= middle for e in earlier)
    iso = datetime.fromtimestamp(middle / 1000, UTC).isoformat()
    assert _events(client, since=iso) == later
    assert _events(client, since=iso.replace("+00:00", "Z")) == later
    assert _events(client, since="2999-01-01T00:00:00") == []


def test_bad_query_parameters_are_422_with_a_reason(client: TestClient) -> None:
    cases = {
        "type": ({"type": "EXPLODED"}, "query parameter 'type'"),
        "limit low": ({"limit": 0}, "query parameter 'limit'"),
        "limit high": ({"limit": 10_001}, "query parameter 'limit'"),
        "since": ({"since": "yesterday"}, "ISO-8601"),
        "until": ({"until": "2024-13-45"}, "query parameter 'until'"),
        "order": ({"since": 2000, "until": 1000}, "'until': is before 'since' (2000)"),
        "huge": ({"since": "9" * 30}, "out of range"),
    }
    for name, (params, expected) in cases.items():
        response = client.get("/api/v1/provenance/events", params=params)
        assert response.status_code == 422, name
        detail = response.json()["detail"]
        assert isinstance(detail, str) and expected in detail, (name, detail)


def test_one_event_by_id(client: TestClient) -> None:
    newest = _events(client, limit=1)[0]
    response = client.get(f"/api/v1/provenance/events/{newest['eventId']}")
    assert response.status_code == 200
    assert response.json() == newest


def test_unknown_event_is_404_and_a_bad_id_is_422(client: TestClient) -> None:
    missing = client.get("/api/v1/provenance/events/999999")
    assert missing.status_code == 404
    assert "no provenance event 999999" in missing.json()["detail"]
    for bad_id in ("abc", "-1", "9" * 30):
        bad = client.get(f"/api/v1/provenance/events/{bad_id}")
        assert bad.status_code == 422
        assert "path parameter 'event_id'" in bad.json()["detail"]


def test_lineage_of_a_clone_holds_both_flowfiles_and_the_clone_and_route_events(
    client: TestClient, controller: FlowController
) -> None:
    clone = _held_clone(controller)
    response = client.get(f"/api/v1/provenance/lineage/{clone}")
    assert response.status_code == 200
    graph = response.json()
    # route cloned the FlowFile for its second matched relationship (gen cloned too:
    # its success goes to two connections)
    (clone_event,) = [
        n for n in graph["nodes"] if n.get("eventType") == "CLONE" and n["componentId"] == "route"
    ]
    original = clone_event["flowFileUuid"]
    flowfiles = {n["id"] for n in graph["nodes"] if n["type"] == "FLOWFILE"}
    assert {clone, original} <= flowfiles
    routes = {n["flowFileUuid"] for n in graph["nodes"] if n.get("eventType") == "ROUTE"}
    assert {clone, original} <= routes
    clone_route = next(
        n["id"]
        for n in graph["nodes"]
        if n.get("eventType") == "ROUTE" and n["flowFileUuid"] == clone
    )
    assert {"source": clone_event["id"], "target": clone_route, "flowFileUuid": clone} in graph[
        "links"
    ]


def test_lineage_of_an_unknown_uuid_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/provenance/lineage/not-a-flowfile")
    assert response.status_code == 404
    assert "no provenance events for FlowFile not-a-flowfile" in response.json()["detail"]


def test_event_content_download_returns_the_bytes_and_records_a_download(
    client: TestClient,
) -> None:
    modified = _events(client, type="CONTENT_MODIFIED", limit=1)[0]
    response = client.get(f"/api/v1/provenance/events/{modified['eventId']}/content")
    assert response.status_code == 200
    assert response.content == b"HELLO"
    assert response.headers["content-type"] == "application/octet-stream"
    assert 'filename="greeting.txt"' in response.headers["content-disposition"]
    download_id = int(response.headers["x-provenance-event-id"])

    (download,) = _events(client, type="DOWNLOAD")
    assert download["eventId"] == download_id
    assert download["flowFileUuid"] == modified["flowFileUuid"]
    assert download["componentId"] == "api"
    assert download["componentType"] == "HubAPI"
    assert download["attributes"] == modified["attributes"]
    assert download["fileSize"] == 5


def test_event_input_content_is_the_content_before_the_event(client: TestClient) -> None:
    modified = _events(client, type="CONTENT_MODIFIED", limit=1)[0]
    url = f"/api/v1/provenance/events/{modified['eventId']}/content"
    response = client.get(url, params={"direction": "input"})
    assert response.status_code == 200
    assert response.content == b"hello"
    assert client.get(url, params={"direction": "sideways"}).status_code == 422


def test_event_without_input_content_is_404(client: TestClient) -> None:
    route = _events(client, type="ROUTE", limit=1)[0]
    response = client.get(
        f"/api/v1/provenance/events/{route['eventId']}/content", params={"direction": "input"}
    )
    assert response.status_code == 404
    assert "has no input content" in response.json()["detail"]
    assert _events(client, type="DOWNLOAD") == []


def test_reclaimed_content_is_404_with_the_reason(
    client: TestClient, controller: FlowController
) -> None:
    created = _events(client, type="CREATE", limit=1)[0]
    event = controller.repositories.provenance.get(int(created["eventId"]))
    assert event is not None
    controller.repositories.content.path_of(event.claim).unlink()
    response = client.get(f"/api/v1/provenance/events/{created['eventId']}/content")
    assert response.status_code == 404
    assert "no longer available" in response.json()["detail"]
    assert _events(client, type="DOWNLOAD") == []


def test_flowfile_content_is_its_newest_content(
    client: TestClient, controller: FlowController
) -> None:
    uppercased = _events(client, type="CONTENT_MODIFIED", limit=1)[0]["flowFileUuid"]
    response = client.get(f"/api/v1/flowfiles/{uppercased}/content")
    assert response.status_code == 200
    assert response.content == b"HELLO"
    clone = _held_clone(controller)
    response = client.get(f"/api/v1/flowfiles/{clone}/content")
    assert response.content == b"hello"
    downloads = _events(client, type="DOWNLOAD")
    assert [d["flowFileUuid"] for d in downloads] == [clone, uppercased]


def test_content_of_an_unknown_flowfile_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/flowfiles/not-a-flowfile/content")
    assert response.status_code == 404
    assert "no provenance events for FlowFile not-a-flowfile" in response.json()["detail"]


def test_large_content_streams_whole(client: TestClient, controller: FlowController) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, past the in-memory read size
    writer = controller.repositories.content.acquire_writer()
    offset = writer.append(data)
    writer.flush()
    controller.repositories.content.release_writer(writer)
    event = ProvenanceEvent(
        ProvenanceEventType.RECEIVE,
        "big-one",
        "test",
        "Test",
        now_millis(),
        {"uuid": "big-one", "filename": 'naïve "big".bin'},
        claim=writer.claim,
        offset=offset,
        size=len(data),
    )
    controller.repositories.provenance.register([event])
    response = client.get("/api/v1/flowfiles/big-one/content")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-length"] == str(len(data))
    disposition = response.headers["content-disposition"]
    assert disposition == (
        "attachment; filename=\"na_ve _big_.bin\"; filename*=UTF-8''na%C3%AFve%20%22big%22.bin"
    )


def test_validation_problems_list_every_parameter(client: TestClient) -> None:
    response = client.get("/api/v1/provenance/events", params={"limit": 0, "type": "NOPE"})
    assert response.status_code == 422
    body = response.json()
    assert [e["loc"] for e in body["errors"]] == [["query", "type"], ["query", "limit"]]
    assert "query parameter 'type'" in body["detail"]
    assert "query parameter 'limit'" in body["detail"]
    assert "(got '0')" in body["detail"]


def test_closed_repositories_answer_503(client: TestClient, controller: FlowController) -> None:
    controller.stop()
    response = client.get("/api/v1/provenance/events")
    assert response.status_code == 503
    assert "closed" in response.json()["detail"]


def test_a_queued_flowfile_without_events_of_its_own_is_served_from_its_queue(
    client: TestClient, controller: FlowController
) -> None:
    from headwater.flowfile import FlowFile

    repositories = controller.repositories
    writer = repositories.content.acquire_writer()
    offset = writer.append(b"a child, forked")
    writer.flush()
    repositories.content.release_writer(writer)
    child = FlowFile.create({"filename": "child.json"})
    child.claim, child.offset, child.size = writer.claim, offset, 15
    (child.seq,) = repositories.flowfiles.next_seqs(1)
    repositories.flowfiles.commit([repositories.flowfiles.row(HELD, child)], [])
    assert _events(client, flowfile=child.uuid) == []  # as a FORK child waits, unprocessed

    response = client.get(f"/api/v1/flowfiles/{child.uuid}/content")
    assert response.status_code == 200, response.text
    assert response.content == b"a child, forked"
    (download,) = _events(client, type="DOWNLOAD", flowfile=child.uuid)
    assert download["details"] == f"output content of queue {HELD} downloaded"
