"""A real hub (``headwater run``) and a real agent (``headwater agent``) on 127.0.0.1:
heartbeats show in the hub's agent list; a good flow pushed through the API is applied
and acknowledged with the agent's queued FlowFiles intact; a flow with an error is
refused with the reason while the old one runs on; an agent with a wrong token or
without a valid client certificate is refused, and the hub logs it."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.security.certificates import TlsMaterial, init_tls

pytestmark = pytest.mark.integration

ADMIN = "admin-token-for-tests"
AGENT_TOKEN = "agent-1-token-for-tests"
HUB_FLOW = """\
flow: hub
processors:
  in: {type: InputPort, properties: {Port Name: readings}}
  hold: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
connections:
  - {from: in, relationships: [success], to: hold}
"""
HELD = """\
flow: held
processors:
  gen:
    type: GenerateFlowFile
    properties: {Batch Size: "5"}
    schedule: {period: 1000 days}
  hold: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
connections:
  - {from: gen, relationships: [success], to: hold}
"""
CHANGED = """\
flow: changed
processors:
  gen: {type: GenerateFlowFile, enabled: false}
  hold: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
  spare: {type: UpdateAttribute, enabled: false, auto-terminate: [success]}
connections:
  - {from: gen, relationships: [success], to: hold}
"""
BROKEN = CHANGED.replace("spare: {type: UpdateAttribute", "spare: {type: UpdateAttributes")


@dataclass
class Hub:
    process: subprocess.Popen[str]
    url: str
    log: Path


def wait_until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


@pytest.fixture
def start_hub(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    started: list[subprocess.Popen[str]] = []

    def start(agents: str, *options: str) -> Hub:
        (tmp_path / "hub.yaml").write_text(HUB_FLOW)
        (tmp_path / "agents.yaml").write_text(agents)
        log = tmp_path / "hub.log"
        command = [sys.executable, "-m", "headwater", "run", str(tmp_path / "hub.yaml")]
        command += ["--data-dir", str(tmp_path / "hub"), "--api", "127.0.0.1:0"]
        command += ["--agents", str(tmp_path / "agents.yaml"), *options]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
        started.append(process)
        assert process.stdout is not None
        for line in process.stdout:
            if " API on " in line:
                url = line.split(" API on ")[1].split("/api/v1")[0]
                return Hub(process, url, log)
        raise AssertionError(f"the hub did not start: {log.read_text()}")

    yield start
    for process in started:
        stop(process)


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(url: str, c2: str, agent_id: str = "agent-1") -> subprocess.Popen[str]:
        (tmp_path / "held.yaml").write_text(HELD)
        config = tmp_path / f"{agent_id}.yaml"
        config.write_text(
            f"agent: {{id: {agent_id}}}\nflow: held.yaml\ndata-dir: {tmp_path / agent_id}\n"
            f"c2:\n  urls: [{url}]\n  heartbeat-period: 0.2 sec\n  timeout: 5 sec\n{c2}"
        )
        command = [sys.executable, "-m", "headwater", "agent", "--config", str(config)]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"{agent_id}.log").open("w"),
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def agent_entry(client: httpx.Client, hub: Hub) -> Callable[[], dict[str, Any] | None]:
    def find() -> dict[str, Any] | None:
        answer = client.get(f"{hub.url}/api/v1/agents")
        answer.raise_for_status()
        agents = answer.json()["agents"]
        found = [a for a in agents if a["id"] == "agent-1" and a["lastHeartbeat"]]
        return found[0] if found else None

    return find


def test_heartbeats_and_flow_updates_end_to_end(
    start_hub: Callable[..., Hub], start_agent: Callable[..., subprocess.Popen[str]]
) -> None:
    hub = start_hub(f"agents: {{agent-1: {{token: {AGENT_TOKEN}}}}}\n", "--token", ADMIN)
    agent = start_agent(hub.url, f"  token: {AGENT_TOKEN}\n")
    impostor = start_agent(hub.url, "  token: a-guessed-token\n", "agent-9")
    api = httpx.Client(headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
    find = agent_entry(api, hub)
    first = wait_until(lambda: (a := find()) and a["queuedCount"] == 5 and a)
    assert first["flowName"] == "held"
    assert first["rssBytes"] > 10_000_000 and first["cpuPercent"] is not None
    assert first["droppedCount"] == 0

    pushed = api.post(f"{hub.url}/api/v1/agents/agent-1/flow", content=CHANGED)
    assert pushed.status_code == 202, pushed.text
    applied = wait_until(lambda: (a := find()) and a["flowName"] == "changed" and a)
    assert applied["queuedCount"] == 5  # the FlowFiles queued before the swap are all there
    assert applied["flowVersion"] != first["flowVersion"]
    wait_until(lambda: find()["lastOperation"]["state"] == "FULLY_APPLIED")

    refused = api.post(f"{hub.url}/api/v1/agents/agent-1/flow", content=BROKEN)
    assert refused.status_code == 422
    assert "processors.spare.type" in refused.json()["detail"]
    unchecked = api.post(
        f"{hub.url}/api/v1/agents/agent-1/flow", params={"validate": "false"}, content=BROKEN
    )
    assert unchecked.status_code == 202
    failed = wait_until(
        lambda: (a := find()) and a["lastOperation"]["state"] == "NOT_APPLIED" and a
    )
    assert "processors.spare.type" in failed["lastOperation"]["details"]
    assert failed["flowName"] == "changed" and failed["running"]
    assert agent.poll() is None

    wrong = httpx.post(
        f"{hub.url}/c2-protocol/heartbeat",
        json={"agentInfo": {"identifier": "agent-1"}},
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 401

    def heartbeat_status() -> int:
        return httpx.post(
            f"{hub.url}/c2-protocol/heartbeat",
            json={"agentInfo": {"identifier": "agent-1"}},
            headers={"Authorization": f"Bearer {AGENT_TOKEN}"},
        ).status_code

    assert heartbeat_status() == 200
    (hub.log.parent / "agents.yaml").write_text("agents: {agent-2: {token: another-token}}\n")
    hub.process.send_signal(signal.SIGHUP)  # agent-1 is shut out without a restart
    wait_until(lambda: heartbeat_status() == 401)
    assert stop(agent) == 0
    assert stop(impostor) == 0  # it ran its flow all along, refused by the hub
    listed = api.get(f"{hub.url}/api/v1/agents").json()["agents"]
    assert [(a["id"], a["listed"]) for a in listed] == [("agent-1", False), ("agent-2", True)]
    assert stop(hub.process) == 0
    log = hub.log.read_text()
    assert "claiming agent 'agent-1'" in log
    assert "claiming agent 'agent-9': the bearer token is neither" in log
    assert "reread: 1 agents known" in log


@pytest.fixture
def tls(tmp_path: Path) -> TlsMaterial:
    return init_tls(tmp_path / "tls", agents=["agent-1", "agent-2"], days=2)


def test_agents_prove_who_they_are_with_client_certificates(
    tls: TlsMaterial,
    start_hub: Callable[..., Hub],
    start_agent: Callable[..., subprocess.Popen[str]],
) -> None:
    hub = start_hub(
        "agents: {agent-1: {}}\n",
        *("--tls-cert", str(tls.hub.keystore_pem), "--tls-ca", str(tls.ca_certificate)),
        *("--tls-client-auth", "REQUIRED"),
    )
    assert hub.url.startswith("https://")
    agent_1 = tls.agents[0]
    ssl_section = (
        f"  ssl: {{Keystore Filename: {agent_1.keystore_pem}, Keystore Type: PEM,"
        f" Truststore Filename: {tls.ca_certificate}, Truststore Type: PEM}}\n"
    )
    start_agent(hub.url, ssl_section)

    def client(cert: Path | None) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(tls.ca_certificate))
        if cert is not None:
            context.load_cert_chain(str(cert))
        return httpx.Client(verify=context, timeout=10)

    with client(agent_1.keystore_pem) as as_agent_1:
        entry = wait_until(agent_entry(as_agent_1, hub))
        assert entry["flowName"] == "held"
    beat = {"agentInfo": {"identifier": "agent-2"}}
    with client(tls.agents[1].keystore_pem) as as_agent_2:
        unknown = as_agent_2.post(f"{hub.url}/c2-protocol/heartbeat", json=beat)
        assert unknown.status_code == 403
        assert "unknown agent 'agent-2'" in unknown.json()["detail"]
    with client(None) as anonymous, pytest.raises(httpx.HTTPError):
        anonymous.post(f"{hub.url}/c2-protocol/heartbeat", json=beat)
    assert stop(hub.process) == 0
    assert "claiming agent 'agent-2'" in hub.log.read_text()
