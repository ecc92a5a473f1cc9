"""Secrets are made once, kept 0600, reused, and grown (never changed) for new agents."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from headwater.errors import ConfigurationError
from headwater.stack.secrets import load_or_create


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_made_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secrets.yaml"
    first = load_or_create(path, ["device-1"])
    assert mode(path) == 0o600
    assert len({first.api_token, first.jobs_api_key, first.detector_key, first.ftp_password}) == 4
    assert len(first.api_token) >= 40
    again = load_or_create(path, ["device-1"])
    assert again == first
    assert yaml.safe_load(path.read_text())["api-token"] == first.api_token


def test_a_new_agent_gets_a_token_and_the_rest_stays(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    first = load_or_create(path, ["device-1"])
    grown = load_or_create(path, ["device-1", "device-2"])
    assert grown.api_token == first.api_token
    assert grown.agents["device-1"] == first.agents["device-1"]
    assert grown.agents["device-2"] not in (first.agents["device-1"], "")
    assert load_or_create(path).agents == grown.agents  # listed agents are kept


def test_loosened_permissions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    load_or_create(path)
    path.chmod(0o644)
    load_or_create(path)
    assert mode(path) == 0o600


def test_a_missing_key_is_made_and_written(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    made = load_or_create(path)
    data = yaml.safe_load(path.read_text())
    del data["detector-key"]
    path.write_text(yaml.safe_dump(data))
    again = load_or_create(path)
    assert again.api_token == made.api_token
    assert again.detector_key and again.detector_key != made.detector_key
    assert yaml.safe_load(path.read_text())["detector-key"] == again.detector_key


def test_a_broken_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigurationError, match="remove it"):
        load_or_create(path)
