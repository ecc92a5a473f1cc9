"""The hub wiring in docs/sinks.md loads, and its RouteOnAttribute sends readings to
Kafka and hot ones to Slack only when the parameters switch the branches on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from headwater.flow.loader import load_flow
from headwater.processors.routing import RouteOnAttribute
from headwater.testing import TestRunner

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sinks.md"


def wiring() -> str:
    text = DOCS.read_text()
    section = text.split("## Wiring:", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "docs/sinks.md has no YAML block under its Wiring section"
    return match.group(1)


@pytest.mark.parametrize(
    ("kafka", "slack", "expected"),
    [
        ("false", "false", {"kafka": 0, "alert": 0, "unmatched": 2}),
        ("true", "false", {"kafka": 2, "alert": 0, "unmatched": 0}),
        ("true", "true", {"kafka": 2, "alert": 1, "unmatched": 0}),
        ("false", "true", {"kafka": 0, "alert": 1, "unmatched": 1}),
    ],
)
def test_the_branches_follow_the_parameters(
    kafka: str, slack: str, expected: dict[str, int]
) -> None:
    flow = load_flow(wiring(), parameters={"kafka_enabled": kafka, "slack_enabled": slack})
    branches = flow.processors["branches"]
    runner = TestRunner(RouteOnAttribute, branches.properties)
    runner.enqueue(b"{}", tempc="23.97", host="piups")
    runner.enqueue(b"{}", tempc="41.5", host="piups")
    runner.run()
    for relationship, count in expected.items():
        runner.assert_transferred(relationship, count)
    runner.close()
