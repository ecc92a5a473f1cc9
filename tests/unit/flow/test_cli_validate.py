from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from flowparts import VALID_FLOW
from test_flow_validation import MANY_MISTAKES

from headwater.cli import validate


def main(argv: list[str]) -> int:
    """``headwater`` with only this sub-command, so the test needs no other command."""
    parser = argparse.ArgumentParser(prog="headwater")
    validate.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_valid_flow_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID_FLOW)
    assert main(["validate", path]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: valid (4 processors, 3 connections)\n"
    assert err == ""


def test_every_problem_on_its_own_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MANY_MISTAKES)
    assert main(["validate", path]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == ""
    assert len(lines) == 7
    assert all(line.startswith(f"{path}:") and ": processors." in line for line in lines)
    merge = "processors.merge.properties.min-records"
    assert f"{path}:15: {merge}: expected a whole number, got 'ten'" in lines
    assert f"{path}:13: processors.merge: relationship 'merged' is neither" in err


def test_parameters_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, VALID_FLOW.replace("#{out_dir}", "#{target}"))
    assert main(["validate", path]) == 1
    assert "missing parameter 'target'" in capsys.readouterr().err
    assert main(["validate", path, "-p", "target=/data", "--parameter", "port=1"]) == 0


def test_bad_parameter_syntax_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", write(tmp_path, VALID_FLOW), "-p", "no-equals"])
    assert caught.value.code == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "absent.yaml")
    assert main(["validate", path]) == 1
    assert capsys.readouterr().err.startswith(f"{path}: cannot read the flow file")
