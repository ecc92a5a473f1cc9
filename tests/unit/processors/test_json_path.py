"""EvaluateJsonPath and SplitJson: destinations, return types, not found, splits."""

from __future__ import annotations

import json

from headwater.processors.json_path import EvaluateJsonPath, SplitJson
from headwater.testing import TestRunner

READING = json.dumps(
    {"host": "piups", "cputemp": 44, "ok": True, "none": None, "tags": ["a", "b"], "m": {"x": 1}}
)
MODEL = json.dumps({"success": True, "response": {"class1": "cat", "pct1": 0.9}})


def test_content_destination_takes_the_model_response() -> None:
    with TestRunner(EvaluateJsonPath, {"response": "$.response"}) as runner:
        runner.enqueue(MODEL, filename="m.json")
        runner.run()
        runner.assert_all_transferred(EvaluateJsonPath.MATCHED, count=1)
        out = runner.transferred(EvaluateJsonPath.MATCHED)[0]
        assert json.loads(out.content) == {"class1": "cat", "pct1": 0.9}
        assert out.attributes["filename"] == "m.json"
        assert runner.provenance_types() == ["CONTENT_MODIFIED"]


def test_attribute_destination_writes_scalars_and_handles_missing() -> None:
    props = {
        "Destination": "flowfile-attribute",
        "host": "$.host",
        "temp": "$.cputemp",
        "ok": "$.ok",
        "none": "$.none",
        "gone": "$.missing",
    }
    with TestRunner(EvaluateJsonPath, props) as runner:
        runner.enqueue(READING)
        runner.run()
        runner.assert_all_transferred(EvaluateJsonPath.MATCHED, count=1)
        out = runner.transferred(EvaluateJsonPath.MATCHED)[0]
        assert out.content == READING.encode()
        got = {k: out.attributes[k] for k in ("host", "temp", "ok", "none", "gone")}
        assert got == {"host": "piups", "temp": "44", "ok": "true", "none": "", "gone": ""}
        assert runner.provenance_types() == ["ATTRIBUTES_MODIFIED"]


def test_skip_and_null_string_and_json_return_type() -> None:
    props = {
        "Destination": "flowfile-attribute",
        "Return Type": "json",
        "Path Not Found Behavior": "skip",
        "Null Value Representation": "the string 'null'",
        "tags": "$.tags",
        "none": "$.none",
        "gone": "$.missing",
        "all": "$.tags[*]",
    }
    with TestRunner(EvaluateJsonPath, props) as runner:
        runner.enqueue(READING)
        runner.run()
        out = runner.transferred(EvaluateJsonPath.MATCHED)[0]
        assert out.attributes["tags"] == '["a","b"]' == out.attributes["all"]
        assert out.attributes["none"] == "null"
        assert "gone" not in out.attributes


def test_unmatched_scalar_mismatch_and_bad_json() -> None:
    with TestRunner(EvaluateJsonPath, {"p": "$.missing"}) as runner:
        runner.enqueue(READING)
        runner.run()
        runner.assert_all_transferred(EvaluateJsonPath.UNMATCHED, count=1)
    props = {"Destination": "flowfile-attribute", "m": "$.m"}
    with TestRunner(EvaluateJsonPath, props) as runner:
        runner.enqueue(READING)
        runner.enqueue(b"{oops")
        runner.run()
        runner.assert_all_transferred(EvaluateJsonPath.FAILURE, count=2)
        reasons = sorted(f.attributes["error.message"] for f in runner.transferred("failure"))
        assert reasons[0].startswith("content is not JSON")
        assert "not a scalar" in reasons[1]


def test_configuration_is_checked() -> None:
    with TestRunner(EvaluateJsonPath, {"a": "$.a", "b": "$.b"}) as runner:
        runner.assert_invalid("Destination")
    with TestRunner(EvaluateJsonPath, {"Destination": "flowfile-attribute", "a": "$[["}) as runner:
        runner.assert_invalid("a")


def test_split_json_forks_one_flowfile_per_item() -> None:
    content = json.dumps({"rows": [{"id": 1}, "two", None]})
    with TestRunner(SplitJson, {"JsonPath Expression": "$.rows"}) as runner:
        runner.enqueue(content, filename="rows.json")
        runner.run()
        runner.assert_transferred(SplitJson.ORIGINAL, 1)
        runner.assert_transferred(SplitJson.SPLIT, 3)
        splits = sorted(
            runner.transferred(SplitJson.SPLIT), key=lambda f: f.attributes["fragment.index"]
        )
        assert [s.content for s in splits] == [b'{"id":1}', b"two", b""]
        original = runner.transferred(SplitJson.ORIGINAL)[0]
        ident = original.attributes["fragment.identifier"]
        for index, split in enumerate(splits):
            assert split.attributes["fragment.index"] == str(index)
            assert split.attributes["fragment.count"] == "3"
            assert split.attributes["fragment.identifier"] == ident
            assert split.attributes["segment.original.filename"] == "rows.json"
        assert sorted(runner.provenance_types()) == ["ATTRIBUTES_MODIFIED", "FORK"]


def test_split_json_failures() -> None:
    with TestRunner(SplitJson, {"JsonPath Expression": "$.host"}) as runner:
        runner.enqueue(READING)
        runner.enqueue(b"nope")
        runner.run()
        runner.assert_all_transferred(SplitJson.FAILURE, count=2)
        reasons = sorted(f.attributes["error.message"] for f in runner.transferred("failure"))
        assert "not an array" in reasons[0] or "not an array" in reasons[1]
    with TestRunner(SplitJson, {}) as runner:
        runner.assert_invalid("JsonPath Expression")
