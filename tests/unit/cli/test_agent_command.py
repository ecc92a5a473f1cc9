"""`headwater agent` and the hub's agent options: bad files are reported whole, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.cli import main

FLOW = "flow: f\nprocessors:\n  gen: {type: GenerateFlowFile, auto-terminate: [success]}\n"


def test_a_bad_agent_configuration_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("agent: {}\nflow: nowhere.yaml\nc2: {urls: [hub], timeout: soon}\n")
    assert main(["agent", "--config", str(config)]) == 1
    errors = capsys.readouterr().err
    for path in ("agent.id", "flow", "c2.urls[0]", "c2.timeout"):
        assert f": {path}: " in errors, errors
    assert f"{config}:3: c2.urls[0]" in errors  # with the line, for editors


def test_an_invalid_agent_flow_is_reported_with_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW.replace("GenerateFlowFile", "Generate"))
    (tmp_path / "agent.yaml").write_text("agent: {id: a}\nflow: flow.yaml\n")
    code = main(["agent", "--config", str(tmp_path / "agent.yaml"), "--data-dir", str(tmp_path)])
    assert code == 1
    assert "processors.gen.type: unknown processor type" in capsys.readouterr().err


def test_the_agent_runs_its_flow_without_c2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "agent.yaml").write_text("agent: {id: a}\nflow: flow.yaml\n")
    args = ["agent", "--config", str(tmp_path / "agent.yaml"), "--data-dir", str(tmp_path / "d")]
    assert main([*args, "--duration", "0.2", "--log-level", "ERROR"]) == 0
    out = capsys.readouterr().out
    assert "flow 'f' from" in out and "none (C2 off)" in out and "stopped cleanly" in out


@pytest.mark.parametrize(
    ("agents", "options", "message"),
    [
        ("agents: {a: {token: short}}\n", [], "agents.a.token: is shorter than 8 characters"),
        ("agents: {a: {tokn: x}}\n", [], "agents.a.tokn: unknown agent key"),
        ("agents: {a: {}}\n", ["--tls-ca", "ca.crt"], "need --tls-cert"),
    ],
)
def test_the_hub_refuses_a_bad_agents_list_or_tls_options(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    agents: str,
    options: list[str],
    message: str,
) -> None:
    (tmp_path / "hub.yaml").write_text(FLOW)
    (tmp_path / "agents.yaml").write_text(agents)
    command = ["run", str(tmp_path / "hub.yaml"), "--data-dir", str(tmp_path / "d")]
    command += ["--api", "127.0.0.1:0", "--agents", str(tmp_path / "agents.yaml"), *options]
    assert main(command) == 1
    assert message in capsys.readouterr().err


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc arenas: Linux only")
@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("3", "3")])
def test_the_agent_command_keeps_one_malloc_arena_unless_told(
    tmp_path: Path, given: str | None, expected: str
) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW)
    (tmp_path / "agent.yaml").write_text("agent: {id: a}\nflow: flow.yaml\n")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if given is not None:
        env["MALLOC_ARENA_MAX"] = given
    command = [sys.executable, "-m", "headwater", "agent", "--config", str(tmp_path / "agent.yaml")]
    command += ["--data-dir", str(tmp_path / "d"), "--log-level", "ERROR"]
    agent = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None
        assert "flow 'f' from" in agent.stdout.readline()  # started, in the same process
        environ = Path(f"/proc/{agent.pid}/environ").read_bytes().split(b"\0")
        assert f"MALLOC_ARENA_MAX={expected}".encode() in environ
    finally:
        agent.terminate()
        agent.communicate(timeout=30)
    assert agent.returncode == 0
