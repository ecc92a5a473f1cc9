import pytest

from headwater.cli import build_parser


def test_run_parameters_are_name_value_pairs() -> None:
    args = build_parser().parse_args(["run", "f.yaml", "-p", "out=/tmp/x", "-p", "hot=30"])
    assert dict(args.parameter) == {"out": "/tmp/x", "hot": "30"}
    assert args.api == "127.0.0.1:8080"


@pytest.mark.parametrize("command", ["run", "agent", "up", "demo"])
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_duration_is_a_positive_number_of_seconds(
    command: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    needed = {"run": ["flow.yaml"], "agent": ["--config", "agent.yaml"]}.get(command, [])
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, *needed, "--duration", value])
    assert f"expected a positive number of seconds, got {value!r}" in capsys.readouterr().err


def test_a_duration_in_seconds_is_taken() -> None:
    args = build_parser().parse_args(["run", "flow.yaml", "--duration", "2.5"])
    assert args.duration == 2.5
