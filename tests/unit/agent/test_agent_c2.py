"""The agent's C2 loop against a scripted hub (a transport callable): heartbeats carry the
flow and its queues, operations are applied once and acknowledged, hubs fail over, and
the agent command imports no web framework or columnar library."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from headwater.agent.c2_client import C2Client, C2Error
from headwater.agent.config import AgentConfig
from headwater.agent.runner import Agent
from headwater.s2s.hubhttp import HubRequest, HubResponse, HubUnreachable

FLOW = """\
flow: tiny
processors:
  gen: {type: GenerateFlowFile, schedule: {period: 1000 days}}
  hold: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
connections:
  - {from: gen, relationships: [success], to: hold}
"""


class ScriptedHub:
    """Answers heartbeats with the operations queued in ``pending``; keeps what came."""

    def __init__(self) -> None:
        self.heartbeats: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []
        self.ack_status = 200

    def __call__(self, request: HubRequest) -> HubResponse:
        body = json.loads(request.content)
        if urlsplit(request.url).path.endswith("/heartbeat"):
            self.heartbeats.append(body)
            return answer(200, {"requestedOperations": self.pending})
        self.acks.append(body)
        return answer(self.ack_status, {"detail": "no such operation"})


def answer(status: int, body: object) -> HubResponse:
    return HubResponse(status, json.dumps(body).encode(), {"content-type": "application/json"})


@pytest.fixture
def hub() -> ScriptedHub:
    return ScriptedHub()


@pytest.fixture
def agent(tmp_path: Path, hub: ScriptedHub) -> Iterator[Agent]:
    (tmp_path / "flow.yaml").write_text(FLOW)
    config = AgentConfig("agent-1", "edge", tmp_path / "flow.yaml", tmp_path / "data")
    client = C2Client(["http://hub"], transport=hub)
    agent = Agent(config, client=client)
    agent.start()
    try:
        yield agent
    finally:
        agent.close()


def update(identifier: str, flow: str) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "operation": "UPDATE",
        "operand": "configuration",
        "args": {"flow": flow},
    }


def test_a_heartbeat_carries_the_flow_queues_and_resources(agent: Agent, hub: ScriptedHub) -> None:
    agent.beat()
    (beat,) = hub.heartbeats
    assert beat["agentInfo"]["identifier"] == "agent-1"
    assert beat["agentInfo"]["status"]["resourceConsumption"]["memoryUsage"] > 10_000_000
    flow = beat["flowInfo"]
    assert flow["flowName"] == "tiny"
    assert flow["flowId"] == agent.flow.version and len(flow["flowId"]) == 64
    assert set(flow["queues"]) == {"gen/success/hold"}
    assert flow["dropped"]["total"] == 0


def test_a_heartbeat_reports_what_the_store_and_forward_cap_dropped(
    agent: Agent, hub: ScriptedHub
) -> None:
    capped = FLOW.replace("schedule:", "properties: {Batch Size: '5'}, schedule:").replace(
        "to: hold}", "to: hold, overflow: {objects: 3}}"
    )
    hub.pending = [update("op-cap", capped)]
    agent.beat()
    assert hub.acks[0]["operationState"]["state"] == "FULLY_APPLIED", hub.acks
    controller = agent.flow.controller
    assert controller is not None
    deadline = time.monotonic() + 10
    while controller.dropped().count < 3:  # 1 queued by the old flow + 5 new, over a cap of 3
        assert time.monotonic() < deadline, "nothing was dropped"
        time.sleep(0.01)
    hub.pending = []
    agent.beat()
    dropped = hub.heartbeats[-1]["flowInfo"]["dropped"]
    assert dropped["total"] == 3
    assert dropped["connections"] == {"gen/success/hold": 3}


def test_an_update_is_applied_once_and_acknowledged(agent: Agent, hub: ScriptedHub) -> None:
    hub.pending = [update("op-1", FLOW.replace("tiny", "bigger"))]
    agent.beat()
    (ack,) = hub.acks
    assert ack["operationId"] == "op-1"
    assert ack["operationState"]["state"] == "FULLY_APPLIED"
    assert ack["flowInfo"]["flowName"] == "bigger"
    controller = agent.flow.controller
    agent.beat()  # the hub sends it again (say, our ack was lost): acknowledged, not redone
    assert len(hub.acks) == 2 and hub.acks[1]["operationState"] == ack["operationState"]
    assert agent.flow.controller is controller


def test_a_restarted_agent_runs_the_flow_c2_applied_unless_it_no_longer_loads(
    agent: Agent, hub: ScriptedHub
) -> None:
    hub.pending = [update("op-1", FLOW.replace("tiny", "bigger"))]
    agent.beat()
    agent.close()
    again = Agent(agent.config, client=agent.client)
    again.start()
    assert again.flow.controller is not None and again.flow.controller.flow.name == "bigger"
    assert "applied by C2" in again.flow_source
    again.close()
    (again.flow.c2_dir / "flow.yaml").write_text("flow: x\nprocessors: {a: {type: Gone}}\n")
    third = Agent(agent.config, client=agent.client)
    third.start()  # logs why, and runs the configured flow
    assert third.flow.controller is not None and third.flow.controller.flow.name == "tiny"
    assert third.flow_source == str(agent.config.flow_path)
    third.close()


def test_a_lost_acknowledgement_is_sent_again_with_the_operation(
    agent: Agent, hub: ScriptedHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.pending = [update("op-1", FLOW.replace("tiny", "bigger"))]
    hub.ack_status = 404
    agent.beat()
    assert "acknowledgement of op-1 did not reach a hub" in caplog.text
    assert agent.hub_reachable  # heartbeats get through: the hub is there
    hub.ack_status = 200
    agent.beat()
    assert [a["operationState"]["state"] for a in hub.acks] == ["FULLY_APPLIED"] * 2


def test_a_bad_update_is_refused_with_the_reason(agent: Agent, hub: ScriptedHub) -> None:
    hub.pending = [
        update("op-bad", "flow: x\nprocessors: {gen: {type: Nope}}\n"),
        {"identifier": "op-odd", "operation": "RESTART", "operand": "agent"},
        {"identifier": "op-empty", "operation": "UPDATE", "operand": "configuration"},
    ]
    agent.beat()
    states = {a["operationId"]: a["operationState"] for a in hub.acks}
    assert states["op-bad"]["state"] == "NOT_APPLIED"
    assert "processors.gen.type" in states["op-bad"]["details"]
    assert states["op-odd"]["state"] == "OPERATION_NOT_UNDERSTOOD"
    assert states["op-empty"]["state"] == "NOT_APPLIED"
    assert agent.flow.controller is not None and agent.flow.controller.flow.name == "tiny"


def test_the_client_fails_over_and_reports_refusals() -> None:
    def handler(request: HubRequest) -> HubResponse:
        host = urlsplit(request.url).hostname
        if host == "down":
            raise HubUnreachable("ConnectionRefusedError: refused")
        if host == "busy":
            return answer(503, {"detail": "busy"})
        if request.headers.get("Authorization") != "Bearer right":
            return answer(401, {"detail": "the bearer token is wrong"})
        return answer(200, {"requestedOperations": [{"identifier": "x"}, 7]})

    urls = ["http://down", "http://busy", "http://up"]
    good = C2Client(urls, token="right", transport=handler)
    (op,) = good.heartbeat({})
    assert op.identifier == "x"
    bad = C2Client(urls, token="wrong", transport=handler)
    with pytest.raises(C2Error, match="the bearer token is wrong") as refused:
        bad.heartbeat({})
    assert refused.value.refused
    away = C2Client(urls[:2], transport=handler)
    with pytest.raises(C2Error, match=r"no hub answered.*down.*busy"):
        away.heartbeat({})


def test_the_agent_command_loads_no_web_columnar_or_openssl_library(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "agent.yaml").write_text(
        "agent: {id: agent-1}\nflow: flow.yaml\n"
        "c2: {urls: [http://127.0.0.1:9], heartbeat-period: 0.1 sec, timeout: 1 sec}\n"
    )
    script = f"""
import sys
import time
from headwater.cli import main
code = main(["agent", "--config", {str(tmp_path / "agent.yaml")!r},
             "--data-dir", {str(tmp_path / "data")!r}, "--duration", "0.5",
             "--log-level", "ERROR"])
heavy = ("pyarrow", "duckdb", "botocore", "fastapi", "starlette", "uvicorn", "fsspec",
         "httpx", "httpcore", "ssl", "_hashlib", "email",  # no TLS: OpenSSL stays out
         "encodings.idna", "difflib",  # nor codecs and helpers only odd input needs
         "argparse", "gettext",  # a plain command line is read without argparse
         "uuid_utils")  # uuids are made by headwater.uuids
print(code, sorted(m for m in heavy if m in sys.modules))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr
