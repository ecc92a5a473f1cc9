"""``headwater jobs serve``: a bad file is refused at load with every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.cli import main


def test_a_bad_config_exits_1_listing_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text("users: {a: {}}\njobs: [{project: x/y, name: n}]\ncolour: red\n")
    assert main(["jobs", "serve", "--config", str(config), "--bind", "127.0.0.1:0"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{config}: users.a.api-key: is required (the user's API key)" in err
    assert any("jobs[0].project" in line for line in err)
    assert any("jobs[0].script: is required" in line for line in err)
    assert any(line.startswith(f"{config}: colour: unknown setting") for line in err)


def test_a_bad_bind_is_refused() -> None:
    with pytest.raises(SystemExit, match="HOST:PORT"):
        main(["jobs", "serve", "--bind", "127.0.0.1:http"])
