"""Who an agent is: tokens, client certificates and claims, each combination decided with
its status and reason; the agents list is read whole, every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from headwater.api.agents_identity import AgentAuthenticator, KnownAgents, load_known_agents
from headwater.flow.loader import FlowDefinitionError

KNOWN = KnownAgents({"agent-1": "token-one-1", "agent-2": None})


def request(token: str | None = None, cert: str | None = None) -> Request:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/c2-protocol/heartbeat",
        "headers": headers,
        "client": ("10.0.0.7", 5000),
        "extensions": {"tls": {"client_cert_name": f"CN={cert},O=headwater"}} if cert else {},
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("known", "admin", "token", "cert", "claim", "agent_only", "expected"),
    [
        (KNOWN, None, "token-one-1", None, "agent-1", True, "agent-1"),
        (KNOWN, None, None, "agent-2", "agent-2", True, "agent-2"),
        (KNOWN, None, "token-one-1", "agent-1", None, True, "agent-1"),
        (KNOWN, "admin-token", "admin-token", None, "agent-2", True, "agent-2"),
        (KNOWN, "admin-token", "admin-token", None, None, False, None),
        (None, None, None, None, "anyone", True, "anyone"),
        (None, None, None, "agent-7", None, True, "agent-7"),
        (None, "admin-token", "admin-token", None, "agent-7", True, "agent-7"),
        (KNOWN, None, None, None, "agent-1", True, 401),
        (KNOWN, None, "guess", None, "agent-1", True, 401),
        (KNOWN, None, "token-one-1", None, "agent-2", True, 403),
        (KNOWN, None, "token-one-1", "agent-2", None, True, 403),
        (KNOWN, None, None, "agent-3", None, True, 403),
        (KNOWN, "admin-token", "admin-token", None, "agent-3", True, 403),
        (None, "admin-token", None, None, "agent-1", True, 401),
        (None, None, None, "agent-7", "agent-8", True, 403),
    ],
)
def test_each_combination_is_decided(
    known: KnownAgents | None,
    admin: str | None,
    token: str | None,
    cert: str | None,
    claim: str | None,
    agent_only: bool,
    expected: str | int | None,
) -> None:
    authenticator = AgentAuthenticator(known, admin)
    if isinstance(expected, int):
        with pytest.raises(HTTPException) as refused:
            authenticator.identify(request(token, cert), claim, agent_only=agent_only)
        assert refused.value.status_code == expected
        assert refused.value.detail
    else:
        assert authenticator.identify(request(token, cert), claim, agent_only=agent_only) == (
            expected
        )


def test_a_refusal_is_logged_with_address_and_claim(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(HTTPException):
        AgentAuthenticator(KNOWN, None).identify(request("guess"), "agent-1", agent_only=True)
    assert "from 10.0.0.7 claiming agent 'agent-1'" in caplog.text


def test_the_agents_list_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / "same.token").write_text("token-one-1\n")
    path = tmp_path / "agents.yaml"
    path.write_text(
        "agents:\n"
        "  agent-1: {token: token-one-1}\n"
        "  agent-2: {token-file: same.token}\n"
        "  agent-3: {token: short}\n"
        "  agent-4: {token-file: missing.token}\n"
        "  agent-5: {tokn: x}\n"
    )
    with pytest.raises(FlowDefinitionError) as caught:
        load_known_agents(path)
    problems = {p.path: p.message for p in caught.value.problems}
    assert set(problems) == {
        "agents.agent-2.token",
        "agents.agent-3.token",
        "agents.agent-4.token-file",
        "agents.agent-5.tokn",
    }
    assert "agent-1's token" in problems["agents.agent-2.token"]
    assert caught.value.line_of("agents.agent-3.token") == 4


def test_a_good_list_loads(tmp_path: Path) -> None:
    (tmp_path / "agent-2.token").write_text("token-of-agent-2\n")
    (tmp_path / "agents.yaml").write_text(
        "agents: {agent-1: {token: token-one-1}, agent-2: {token-file: agent-2.token}, a3: {}}\n"
    )
    known = load_known_agents(tmp_path / "agents.yaml")
    assert known.tokens == {"agent-1": "token-one-1", "agent-2": "token-of-agent-2", "a3": None}
    assert known.by_token("token-of-agent-2") == "agent-2"
    assert known.by_token("nope") is None
