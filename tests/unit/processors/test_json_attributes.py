"""AttributesToJSON: all, listed and matched attributes, core attributes, destinations."""

from __future__ import annotations

import json

from headwater.processors.json import AttributesToJSON
from headwater.testing import MockFlowFile, TestRunner


def to_json(properties: dict[str, str], **attributes: str) -> tuple[MockFlowFile, list[str]]:
    with TestRunner(AttributesToJSON, properties) as runner:
        runner.enqueue(b"body", attributes)
        runner.run()
        runner.assert_all_transferred(AttributesToJSON.SUCCESS, count=1)
        return runner.transferred(AttributesToJSON.SUCCESS)[0], runner.provenance_types()


def test_all_attributes_to_the_json_attributes_attribute() -> None:
    out, events = to_json({}, filename="a.jpg", label_1="coffeepot")
    data = json.loads(out.attributes["JSONAttributes"])
    assert data["filename"] == "a.jpg" and data["label_1"] == "coffeepot"
    assert data["uuid"] == out.attributes["uuid"]
    assert out.content == b"body"
    assert events == ["ATTRIBUTES_MODIFIED"]


def test_list_regex_and_core_attributes_to_content() -> None:
    props = {
        "Destination": "flowfile-content",
        "Attributes List": "label_1, missing, filename",
        "Attributes Regular Expression": "probability_.*",
        "Include Core Attributes": "false",
    }
    out, events = to_json(props, filename="a.jpg", label_1="cat", probability_1="3.40%", x="y")
    assert json.loads(out.content) == {"label_1": "cat", "missing": "", "probability_1": "3.40%"}
    assert out.attributes["mime.type"] == "application/json"
    assert events == ["CONTENT_MODIFIED"]


def test_null_value_writes_missing_listed_attributes_as_null() -> None:
    props = {"Attributes List": "missing", "Null Value": "true"}
    out, _ = to_json(props)
    assert json.loads(out.attributes["JSONAttributes"]) == {"missing": None}


def test_configuration_is_checked() -> None:
    with TestRunner(AttributesToJSON, {"Destination": "content", "Null Value": "maybe"}) as runner:
        runner.assert_invalid("Destination", "Null Value")


def test_bad_regex_from_an_attribute_goes_to_failure() -> None:
    with TestRunner(AttributesToJSON, {"attributes-to-json-regex": "${re}"}) as runner:
        runner.enqueue(b"", re="(")
        runner.run()
        runner.assert_all_transferred(AttributesToJSON.FAILURE, count=1)
        assert "regular expression" in runner.transferred("failure")[0].attributes["error.message"]


def test_nested_json_handling_and_pretty_print() -> None:
    props = {
        "Destination": "flowfile-content",
        "Attributes List": "doc,text",
        "JSON Handling Strategy": "Nested",
        "Pretty Print": "true",
    }
    out, _ = to_json(props, doc='{"a": [1]}', text="{not json")
    assert out.text == '{\n  "doc": {\n    "a": [\n      1\n    ]\n  },\n  "text": "{not json"\n}'
    escaped, _ = to_json({"Attributes List": "doc"}, doc='{"a": 1}')
    assert json.loads(escaped.attributes["JSONAttributes"]) == {"doc": '{"a": 1}'}
