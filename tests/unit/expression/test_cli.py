"""``headwater expression``: prints the result, or a caret under a compile error."""

from __future__ import annotations

import pytest

import headwater.cli
from headwater.cli import main


@pytest.fixture(autouse=True)
def only_expression_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other sub-commands are built in parallel; this test needs only its own.
    monkeypatch.setattr(headwater.cli, "COMMANDS", ("expression",))


def test_prints_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expression", "${filename:toUpper()}", "-a", "filename=x.csv"]) == 0
    assert capsys.readouterr().out == "X.CSV\n"


def test_repeated_attributes_and_values_with_equals(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["expression", "${a}-${b}", "-a", "a=1", "--attribute", "b=x=y"])
    assert code == 0
    assert capsys.readouterr().out == "1-x=y\n"


def test_compile_error_shows_a_caret_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expression", "${filename:toUppr()}"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "${filename:toUppr()}",
        "           ^ unknown function 'toUppr'; did you mean 'toUpper'?",
    ]


def test_evaluation_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["expression", "${n:toNumber()}", "-a", "n=abc"]) == 1
    assert "cannot convert 'abc' to a number" in capsys.readouterr().err
