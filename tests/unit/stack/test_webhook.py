"""The alert sink: Slack-style bodies appended as JSON lines, listed back; bad bodies 400."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from headwater.stack.webhook import AlertSink


def test_alerts_are_appended_and_listed(tmp_path: Path) -> None:
    path = tmp_path / "alerts" / "alerts.jsonl"
    with AlertSink(path) as sink:
        first = httpx.post(sink.url, json={"text": "device-1: cputemp 80 > 75"})
        second = httpx.post(sink.url, json={"text": "person seen", "channel": "#demo"})
        listed = httpx.get(sink.url).json()["alerts"]
    assert (first.status_code, first.text) == (200, "ok")
    assert second.status_code == 200
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["text"] for line in lines] == ["device-1: cputemp 80 > 75", "person seen"]
    assert lines[1]["body"]["channel"] == "#demo"
    assert all(isinstance(line["time"], int) for line in lines)
    assert listed == lines


def test_bad_bodies_are_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    with AlertSink(path) as sink:
        not_json = httpx.post(sink.url, content=b"{nope")
        no_text = httpx.post(sink.url, json={"blocks": []})
        text_not_string = httpx.post(sink.url, json={"text": 3})
        a_list = httpx.post(sink.url, json=["text"])
    for answer in (not_json, no_text, text_not_string, a_list):
        assert answer.status_code == 400
        assert "invalid_payload" in answer.text
    assert not path.exists() or path.read_text() == ""
