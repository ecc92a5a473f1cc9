"""``headwater agent``'s plain command lines read without argparse, to the same result."""

from __future__ import annotations

import pytest

from headwater.cli import build_parser
from headwater.cli.agent import plain_args

PLAIN = [
    ["--config", "agent.yaml"],
    ["--config", "a.yaml", "--data-dir", "/var/hw", "--duration", "2.5", "--log-level", "debug"],
    ["--log-level", "ERROR", "--config", "first.yaml", "--config", "last.yaml"],
]
NOT_PLAIN = [
    [],
    ["--help"],
    ["--data-dir", "d"],  # no --config
    ["--config=agent.yaml"],
    ["--conf", "agent.yaml"],  # argparse's abbreviation
    ["--config", "a.yaml", "--duration", "0"],
    ["--config", "a.yaml", "--duration", "-1"],
    ["--config", "a.yaml", "--verbose"],
]


@pytest.mark.parametrize("argv", PLAIN)
def test_a_plain_command_line_reads_as_argparse_reads_it(argv: list[str]) -> None:
    plain = plain_args(argv)
    assert plain is not None
    assert vars(plain) == vars(build_parser("agent").parse_args(["agent", *argv]))


@pytest.mark.parametrize("argv", NOT_PLAIN)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert plain_args(argv) is None
