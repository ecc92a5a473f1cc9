"""C2 on the hub: heartbeats register agents, flows pushed through the API are validated,
queued, delivered with the next heartbeat and acknowledged; bad requests are 4xx."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from headwater.api import create_app
from headwater.api.agents_identity import KnownAgents
from headwater.api.agents_registry import AgentRegistry
from headwater.engine.controller import FlowController

GOOD_FLOW = """\
flow: pushed
processors:
  gen: {type: GenerateFlowFile, auto-terminate: [success]}
"""
BAD_FLOW = """\
flow: broken
processors:
  gen: {type: GenerateFlowFiles}
  log: {type: LogAttribute, properties: {Log Level: loud}}
"""


def heartbeat(agent: str = "agent-1", **flow: Any) -> dict[str, Any]:
    return {
        "operation": "heartbeat",
        "agentInfo": {
            "identifier": agent,
            "agentClass": "edge",
            "status": {
                "uptime": 1000,
                "resourceConsumption": {"memoryUsage": 30_000_000, "cpuUtilization": 0.5},
            },
        },
        "flowInfo": {
            "flowId": "abc",
            "flowName": "edge-device",
            "queues": {"q": {"size": 3, "dataSize": 30}},
            "dropped": {"total": 2, "connections": {"q": 2}},
            **flow,
        },
    }


@pytest.fixture
def client(controller: FlowController) -> TestClient:
    return TestClient(create_app(controller))


def test_a_heartbeat_lists_the_agent(client: TestClient) -> None:
    answer = client.post("/c2-protocol/heartbeat", json=heartbeat())
    assert answer.status_code == 200
    assert answer.json()["requestedOperations"] == []
    (agent,) = client.get("/api/v1/agents").json()["agents"]
    assert agent["id"] == "agent-1"
    assert agent["flowName"] == "edge-device"
    assert agent["flowVersion"] == "abc"
    assert (agent["queuedCount"], agent["queuedBytes"]) == (3, 30)
    assert (agent["rssBytes"], agent["cpuPercent"]) == (30_000_000, 0.5)
    assert agent["droppedCount"] == 2
    assert agent["lastOperation"] is None


def test_a_pushed_flow_goes_out_with_the_next_heartbeat_and_is_acknowledged(
    client: TestClient,
) -> None:
    client.post("/c2-protocol/heartbeat", json=heartbeat())
    queued = client.post("/api/v1/agents/agent-1/flow", content=GOOD_FLOW)
    assert queued.status_code == 202, queued.text
    op = queued.json()
    assert (op["state"], op["operation"], op["operand"]) == ("QUEUED", "UPDATE", "configuration")
    (sent,) = client.post("/c2-protocol/heartbeat", json=heartbeat()).json()["requestedOperations"]
    assert sent["identifier"] == op["identifier"]
    assert sent["args"]["flow"] == GOOD_FLOW
    assert len(sent["args"]["version"]) == 64
    assert (
        client.post("/c2-protocol/heartbeat", json=heartbeat()).json()["requestedOperations"] == []
    )  # delivered once, until the redelivery time passes
    ack = {
        "operationId": op["identifier"],
        "operationState": {"state": "FULLY_APPLIED", "details": "runs"},
        "agentInfo": {"identifier": "agent-1"},
        "flowInfo": {"flowName": "pushed", "flowId": sent["args"]["version"], "queues": {}},
    }
    assert client.post("/c2-protocol/acknowledge", json=ack).status_code == 200
    agent = client.get("/api/v1/agents/agent-1").json()
    assert agent["flowName"] == "pushed"  # from the acknowledgement, before any heartbeat
    assert agent["flowVersion"] == sent["args"]["version"]
    assert agent["lastOperation"]["state"] == "FULLY_APPLIED"
    assert agent["operations"][0]["details"] == "runs"


def test_a_heartbeat_of_odd_shape_does_not_break_the_listing(client: TestClient) -> None:
    odd = heartbeat(queues=[1, 2], dropped="many", orphanedQueues=None)
    odd["agentInfo"]["status"] = "fine"
    assert client.post("/c2-protocol/heartbeat", json=odd).status_code == 200
    (agent,) = client.get("/api/v1/agents").json()["agents"]
    assert (agent["queuedCount"], agent["droppedCount"], agent["rssBytes"]) == (0, 0, None)


def test_a_newer_flow_cancels_one_still_waiting(client: TestClient) -> None:
    client.post("/c2-protocol/heartbeat", json=heartbeat())
    first = client.post("/api/v1/agents/agent-1/flow", content=GOOD_FLOW).json()
    second = client.post(
        "/api/v1/agents/agent-1/flow", json={"flow": GOOD_FLOW.replace("pushed", "again")}
    ).json()
    sent = client.post("/c2-protocol/heartbeat", json=heartbeat()).json()["requestedOperations"]
    assert [op["identifier"] for op in sent] == [second["identifier"]]
    states = {
        op["identifier"]: op["state"]
        for op in client.get("/api/v1/agents/agent-1").json()["operations"]
    }
    assert states == {first["identifier"]: "CANCELLED", second["identifier"]: "DELIVERED"}


def test_an_invalid_flow_is_refused_with_every_problem(client: TestClient) -> None:
    client.post("/c2-protocol/heartbeat", json=heartbeat())
    answer = client.post("/api/v1/agents/agent-1/flow", content=BAD_FLOW)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    paths = [e["path"] for e in errors]
    assert "processors.gen.type" in paths
    assert any(p.startswith("processors.log") for p in paths)
    assert errors[0]["line"] == 3
    assert "GenerateFlowFile" in answer.json()["detail"]  # the nearest name is suggested
    assert client.get("/api/v1/agents/agent-1").json()["operations"] == []


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/api/v1/agents/nobody/flow", GOOD_FLOW, 404, "no agent 'nobody'"),
        ("/api/v1/agents/agent-1/flow", "  ", 400, "empty"),
        ("/api/v1/agents/agent-1/flow", b"\xff\xfe", 400, "UTF-8"),
        ("/api/v1/agents/agent-1/flow", "flows/agent.yaml", 422, "expected a mapping"),
    ],
)
def test_bad_pushes_are_4xx_with_a_reason(
    client: TestClient, path: str, body: str | bytes, status: int, reason: str
) -> None:
    client.post("/c2-protocol/heartbeat", json=heartbeat())
    answer = client.post(path, content=body)
    assert answer.status_code == status
    assert reason in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/c2-protocol/heartbeat", {"agentInfo": "x"}, 400, "agentInfo.identifier"),
        ("/c2-protocol/heartbeat", {}, 400, "names no agent"),
        ("/c2-protocol/heartbeat", [1], 422, "body"),
        ("/c2-protocol/acknowledge", {"operationState": {}}, 400, "operationId"),
        ("/c2-protocol/acknowledge", {"operationId": "x"}, 400, "FULLY_APPLIED"),
        (
            "/c2-protocol/acknowledge",
            {
                "operationId": "x",
                "operationState": {"state": "NOT_APPLIED"},
                "agentInfo": {"identifier": "agent-1"},
            },
            404,
            "no operation 'x'",
        ),
    ],
)
def test_malformed_c2_messages_are_4xx(
    client: TestClient, path: str, body: object, status: int, reason: str
) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == status
    assert reason in answer.json()["detail"]


def test_with_an_agents_list_an_unknown_agent_is_refused_and_logged(
    controller: FlowController, caplog: pytest.LogCaptureFixture
) -> None:
    known = KnownAgents({"agent-1": "token-of-agent-1", "agent-2": "token-of-agent-2"})
    client = TestClient(create_app(controller, token="admin-token", agents=known))

    def post(path: str, token: str | None, body: object) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.post(path, json=body, headers=headers).status_code

    admin = {"Authorization": "Bearer admin-token"}
    silent = client.get("/api/v1/agents", headers=admin).json()["agents"]
    assert silent == [
        {"id": "agent-1", "lastHeartbeat": None, "listed": True},
        {"id": "agent-2", "lastHeartbeat": None, "listed": True},
    ]
    with caplog.at_level(logging.WARNING, "headwater.api.agents"):
        assert post("/c2-protocol/heartbeat", None, heartbeat()) == 401
        assert post("/c2-protocol/heartbeat", "wrong-token", heartbeat()) == 401
        assert post("/c2-protocol/heartbeat", "token-of-agent-2", heartbeat("agent-1")) == 403
        assert post("/c2-protocol/heartbeat", "admin-token", heartbeat("agent-9")) == 403
        s2s = "/data-transfer/input-ports/readings/transactions"
        assert post(s2s, "wrong-token", None) == 401
        assert post(s2s, None, None) == 401
    assert "claiming agent 'agent-9'" in caplog.text
    assert "from testclient" in caplog.text
    assert post("/c2-protocol/heartbeat", "token-of-agent-1", heartbeat()) == 200
    assert post("/c2-protocol/heartbeat", "admin-token", heartbeat("agent-2")) == 200
    assert post(s2s, "token-of-agent-2", None) == 404  # past the guard: there is no such port
    listed = client.get("/api/v1/agents", headers=admin).json()["agents"]
    assert [(a["id"], a["listed"], a["flowName"]) for a in listed] == [
        ("agent-1", True, "edge-device"),
        ("agent-2", True, "edge-device"),
    ]
    assert client.get("/api/v1/agents").status_code == 401


def test_the_registry_outlives_a_restart(tmp_path: Path) -> None:
    registry = AgentRegistry(tmp_path / "agents.db")
    registry.heartbeat("agent-1", "10.0.0.7", heartbeat())
    op = registry.queue_operation("agent-1", "UPDATE", "configuration", {"flow": "x"})
    registry.close()
    again = AgentRegistry(tmp_path / "agents.db")
    assert again.agent("agent-1") is not None
    (pending,) = again.heartbeat("agent-1", "10.0.0.7", heartbeat())
    assert pending["identifier"] == op["identifier"]
    again.close()
