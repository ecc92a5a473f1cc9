"""FlattenJson: the four modes, reserved characters, unflatten, failure."""

from __future__ import annotations

import json

import pytest

from headwater.processors.json_flatten import FlattenJson
from headwater.testing import MockFlowFile, TestRunner

NESTED = {"a": {"b": 1, "c": [1, 2]}, "d": [{"e": {"f": "x"}}], "g": {}, "h": []}


def flatten(document: object, **properties: str) -> MockFlowFile:
    with TestRunner(FlattenJson, properties) as runner:
        runner.enqueue(json.dumps(document), filename="n.json")
        runner.run()
        runner.assert_all_transferred(FlattenJson.SUCCESS, count=1)
        assert runner.provenance_types() == ["CONTENT_MODIFIED"]
        return runner.transferred(FlattenJson.SUCCESS)[0]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "normal",
            {"a.b": 1, "a.c[0]": 1, "a.c[1]": 2, "d[0].e.f": "x", "g": {}, "h": []},
        ),
        (
            "dot notation",
            {"a.b": 1, "a.c.0": 1, "a.c.1": 2, "d.0.e.f": "x", "g": {}, "h": []},
        ),
        ("keep arrays", {"a.b": 1, "a.c": [1, 2], "d": [{"e.f": "x"}], "g": {}, "h": []}),
        (
            "keep primitive arrays",
            {"a.b": 1, "a.c": [1, 2], "d[0].e.f": "x", "g": {}, "h": []},
        ),
    ],
)
def test_flatten_modes(mode: str, expected: dict[str, object]) -> None:
    out = flatten(NESTED, **{"flatten-mode": mode})
    assert json.loads(out.content) == expected
    assert out.attributes["filename"] == "n.json"


def test_default_mode_is_keep_arrays_and_separator_is_configurable() -> None:
    out = flatten({"a": {"b": [1]}}, Separator="_")
    assert json.loads(out.content) == {"a_b": [1]}


def test_reserved_characters_are_quoted_unless_ignored() -> None:
    assert json.loads(flatten({"a": {"b.c": 1}}).content) == {'a["b.c"]': 1}
    out = flatten({"a": {"b.c": 1}}, **{"ignore-reserved-characters": "true"})
    assert json.loads(out.content) == {"a.b.c": 1}


@pytest.mark.parametrize("mode", ["normal", "dot notation", "keep arrays"])
def test_unflatten_reverses_flatten(mode: str) -> None:
    flat = json.loads(flatten(NESTED, **{"flatten-mode": mode}).content)
    props = {"flatten-mode": mode, "flatten-json-return-type": "unflatten"}
    assert json.loads(flatten(flat, **props).content) == NESTED


def test_pretty_print_indents() -> None:
    out = flatten({"a": {"b": 1}}, **{"flatten-json-pretty-print-json": "true"})
    assert out.text == '{\n  "a.b": 1\n}'


def test_bad_json_goes_to_failure_with_reason() -> None:
    with TestRunner(FlattenJson) as runner:
        runner.enqueue(b"{not json")
        runner.run()
        runner.assert_all_transferred(FlattenJson.FAILURE, count=1)
        assert (
            "JSONDecodeError"
            in runner.transferred(FlattenJson.FAILURE)[0].attributes["error.message"]
        )


def test_configuration_is_checked() -> None:
    with TestRunner(FlattenJson, {"flatten-mode": "flat"}) as runner:
        runner.assert_invalid("flatten-mode")
