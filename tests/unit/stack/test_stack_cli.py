"""`headwater up` and `headwater demo` parse their options; bad values exit 2 with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.cli import build_parser
from headwater.cli.up import stack_options


def test_up_defaults_follow_the_contract() -> None:
    args = build_parser().parse_args(["up"])
    options = stack_options(args)
    assert options.data_dir == Path("headwater-data")
    assert options.flow == Path("flows/edge-to-ai.yaml")
    assert (options.host, options.port_base, options.ftp_port) == ("127.0.0.1", 8080, None)
    assert args.duration is None


def test_demo_options_and_parameters() -> None:
    args = build_parser().parse_args(
        [
            *("demo", "--devices", "2", "--duration", "150", "--data-dir", "/tmp/d"),
            *("--port-base", "0", "-p", "job_period=1 min", "-p", "cputemp_threshold=60"),
        ]
    )
    assert (args.devices, args.duration) == (2, 150.0)
    options = stack_options(args)
    assert options.port_base == 0
    assert options.data_dir == Path("/tmp/d")
    assert options.parameters == {"job_period": "1 min", "cputemp_threshold": "60"}


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["demo", "--devices", "0"], "expected 1 to 50 devices"),
        (["demo", "--devices", "many"], "expected 1 to 50 devices"),
        (["up", "--port-base", "70000"], "expected 1 to 65531"),
        (["up", "--port-base", "http"], "expected a port number"),
        (["up", "-p", "novalue"], "expected NAME=VALUE"),
    ],
)
def test_bad_options_exit_2_with_a_reason(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    assert reason in capsys.readouterr().err
