"""JoltTransformJSON, and the seed's job status path through FlattenJson first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.processors.json_flatten import FlattenJson
from headwater.processors.json_jolt import SORT, JoltTransformJSON
from headwater.testing import MockFlowFile, TestRunner

SEED = Path(__file__).resolve().parents[3] / ".." / "shared" / "seed"


def seed(name: str) -> str:
    path = SEED / name
    if not path.is_file():
        pytest.fail(f"seed fixture {path} not found: shared/ must sit beside the repository")
    return path.read_text()


def jolt(content: str, properties: dict[str, str]) -> MockFlowFile:
    with TestRunner(JoltTransformJSON, properties) as runner:
        runner.enqueue(content, filename="j.json")
        runner.run()
        runner.assert_all_transferred(JoltTransformJSON.SUCCESS, count=1)
        assert runner.provenance_types() == ["CONTENT_MODIFIED"]
        out = runner.transferred(JoltTransformJSON.SUCCESS)[0]
        assert out.attributes["mime.type"] == "application/json"
        return out


def test_job_status_path_gives_the_seed_record() -> None:
    flatten = {"flatten-json-separator": ".", "flatten-mode": "dot notation"}
    with TestRunner(FlattenJson, flatten) as runner:
        runner.enqueue(seed("cdsw_job_start_response.json"))
        runner.run()
        runner.assert_all_transferred(FlattenJson.SUCCESS, count=1)
        flat = runner.transferred(FlattenJson.SUCCESS)[0].text
    spec = seed("jolt_cleanup_jobstatus.json")
    out = jolt(flat, {"jolt-transform": "jolt-transform-chain", "jolt-spec": spec})
    assert json.loads(out.content) == json.loads(seed("jobstatus_transformed.json"))


@pytest.mark.parametrize(
    ("dsl", "spec", "expected"),
    [
        ("jolt-transform-shift", '{"a": "b"}', {"b": 1}),
        ("jolt-transform-default", '{"z": 0}', {"a": 1, "z": 0}),
        ("jolt-transform-remove", '{"a": ""}', {}),
        ("jolt-transform-cardinality", '{"a": "MANY"}', {"a": [1]}),
        ("jolt-transform-modify-overwrite", '{"a": "=toString"}', {"a": "1"}),
        ("jolt-transform-modify-default", '{"y": 2}', {"a": 1, "y": 2}),
        ("jolt-transform-modify-define", '{"a": 5}', {"a": 1}),
        ("jolt-transform-sort", "", {"a": 1}),
    ],
)
def test_single_operations(dsl: str, spec: str, expected: object) -> None:
    props = {"jolt-transform": dsl} | ({"jolt-spec": spec} if spec else {})
    assert json.loads(jolt('{"a": 1}', props).content) == expected


def test_spec_with_expression_language_is_evaluated_per_flowfile() -> None:
    props = {"Jolt Transformation DSL": "jolt-transform-shift", "Jolt Specification": "${spec}"}
    with TestRunner(JoltTransformJSON, props) as runner:
        runner.enqueue('{"a": 1}', spec='{"a": "x"}')
        runner.enqueue('{"a": 1}', spec='{"a": "y"}')
        runner.run()
        outs = runner.transferred(JoltTransformJSON.SUCCESS)
        assert sorted(o.text for o in outs) == ['{"x":1}', '{"y":1}']


def test_spec_that_does_not_parse_is_a_configuration_error() -> None:
    with TestRunner(JoltTransformJSON, {"jolt-spec": '[{"operation": "nope", "spec": {}}]'}) as r:
        r.assert_invalid("jolt-spec")
    with TestRunner(JoltTransformJSON, {"jolt-spec": "{not json"}) as r:
        r.assert_invalid("jolt-spec")
    with TestRunner(
        JoltTransformJSON, {"jolt-spec": '[{"operation": "shift", "spec": {"a": "b"}}]'}
    ) as r:
        r.assert_valid()


def test_malformed_content_goes_to_failure_with_reason() -> None:
    with TestRunner(JoltTransformJSON, {"jolt-spec": '[{"operation": "sort"}]'}) as runner:
        runner.enqueue(b"[1, 2")
        runner.run()
        runner.assert_all_transferred(JoltTransformJSON.FAILURE, count=1)
        failed = runner.transferred(JoltTransformJSON.FAILURE)[0]
        assert failed.attributes["error.message"].startswith("JSONDecodeError")
        assert failed.content == b"[1, 2"


def test_transform_cache_size_must_be_positive() -> None:
    with TestRunner(JoltTransformJSON, {"jolt-transform": SORT, "Transform Cache Size": "0"}) as r:
        r.assert_invalid("Transform Cache Size")


def test_spec_may_be_the_path_of_a_file() -> None:
    path = str(SEED / "jolt_cleanup_jobstatus.json")
    seed("jolt_cleanup_jobstatus.json")
    out = jolt('{"a.b": 1, "environment": {}}', {"jolt-spec": path})
    assert json.loads(out.content) == {"a_b": 1}
    with TestRunner(JoltTransformJSON, {"jolt-spec": "/nowhere/spec.json"}) as runner:
        runner.assert_invalid("jolt-spec")
