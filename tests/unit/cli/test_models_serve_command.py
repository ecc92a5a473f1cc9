"""``headwater models serve`` refuses a bad models file at once, listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.cli import main


def test_a_bad_config_exits_1_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "models.yaml"
    config.write_text(
        "models:\n"
        "  a: {kind: builtin, builtin: resnet, replicas: none}\n"
        "  b: {kind: python, file: missing.py}\n"
    )
    assert main(["models", "serve", "--config", str(config), "--bind", "127.0.0.1:0"]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"{config}: models.a.builtin: no built-in model 'resnet'")
    assert "models.a.replicas: expected a whole number >= 1, got 'none'" in errors[1]
    assert "models.b.file: cannot read" in errors[2]


def test_an_unprepared_model_exits_1_saying_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["models", "serve", "--cache", str(tmp_path / "empty"), "--bind", "127.0.0.1:0"]
    assert main(args) == 1
    assert "run `headwater models prepare`" in capsys.readouterr().err


def test_check_only_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from headwater.models.testing import prepared_cache

    example = Path(__file__).resolve().parents[3] / "models" / "models.yaml"
    cache = str(prepared_cache())
    assert main(["models", "serve", "--config", str(example), "--cache", cache, "--check"]) == 0
    assert "2 model(s), all ready to serve" in capsys.readouterr().out
    empty = str(tmp_path / "empty")
    assert main(["models", "serve", "--config", str(example), "--cache", empty, "--check"]) == 1
    assert "not prepared" in capsys.readouterr().err
