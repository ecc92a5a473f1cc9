"""The agent configuration: read whole, every problem listed with its path and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from headwater.agent.config import load_agent_config
from headwater.errors import ConfigurationError
from headwater.flow.loader import FlowDefinitionError

EXAMPLE = Path(__file__).resolve().parents[3] / "flows" / "agent-config.yaml"


def test_the_shipped_example_loads() -> None:
    config = load_agent_config(EXAMPLE)
    assert config.agent_id == "agent-1"
    assert config.flow_path == EXAMPLE.parent / "agent.yaml"
    assert config.c2.urls == ("http://127.0.0.1:8080",)
    assert config.c2.heartbeat_period == 5.0
    assert config.c2.token
    assert config.parameters["agent_id"] == "agent-1"  # given to the flow
    assert config.parameters["hub_url"] == "http://127.0.0.1:8080"
    assert config.parameters["agent_token"] == config.c2.token


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "agent: {id: 'bad id!'}\n"
        "flow: missing.yaml\n"
        "colour: blue\n"
        "c2:\n"
        "  urls: [ftp://hub]\n"
        "  heartbeat-period: often\n"
        "  token: abc\n"
        "  token-file: abc.token\n"
        "  ssl: {Keystore Filename: nowhere.pem, Keystore Type: PEM}\n"
    )
    with pytest.raises(FlowDefinitionError) as caught:
        load_agent_config(path)
    problems = {p.path: str(p) for p in caught.value.problems}
    assert set(problems) >= {
        "agent.id",
        "flow",
        "colour",
        "c2.urls[0]",
        "c2.heartbeat-period",
        "c2.token-file",
        "c2.ssl.Keystore Filename",
    }
    assert "missing.yaml" in problems["flow"]
    assert caught.value.line_of("c2.heartbeat-period") == 6


def test_an_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the agent configuration"):
        load_agent_config(tmp_path / "nope.yaml")


def test_ssl_properties_make_a_client_context(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("agent-1").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "agent-1.pem")
    )
    (tmp_path / "flow.yaml").write_text("flow: f\nprocessors: {}\n")
    (tmp_path / "token").write_text("a-token-from-a-file\n")
    (tmp_path / "agent.yaml").write_text(
        "agent: {id: agent-1}\nflow: flow.yaml\n"
        "c2:\n  urls: https://127.0.0.1:8443\n  token-file: token\n"
        "  ssl: {Keystore Filename: agent-1.pem, Keystore Type: PEM,"
        " Truststore Filename: ca.pem, Truststore Type: PEM}\n"
    )
    config = load_agent_config(tmp_path / "agent.yaml")
    assert config.c2.ssl_context is not None
    assert config.c2.token == "a-token-from-a-file"
    assert config.c2.urls == ("https://127.0.0.1:8443",)
