"""The jobs service's start answer, through FlattenJson (``.``, dot notation) and the
seed's Jolt chain, is a ``jobstatus`` record: exactly the keys of
``jobstatus_transformed.json``, and it fits ``jobstatus.avsc``."""

from __future__ import annotations

import io
import json

import fastavro

from conftest import SEED, Jobs
from headwater.processors.json_flatten import FlattenJson
from headwater.processors.json_jolt import JoltTransformJSON
from headwater.testing import TestRunner


def jobstatus(answer: str) -> dict[str, object]:
    flatten = {"flatten-json-separator": ".", "flatten-mode": "dot notation"}
    with TestRunner(FlattenJson, flatten) as runner:
        runner.enqueue(answer)
        runner.run()
        flat = runner.transferred(FlattenJson.SUCCESS)[0].text
    spec = (SEED / "jolt_cleanup_jobstatus.json").read_text()
    chain = {"jolt-transform": "jolt-transform-chain", "jolt-spec": spec}
    with TestRunner(JoltTransformJSON, chain) as runner:
        runner.enqueue(flat)
        runner.run()
        record: dict[str, object] = json.loads(
            runner.transferred(JoltTransformJSON.SUCCESS)[0].text
        )
        return record


def test_the_start_answer_becomes_a_jobstatus_record(jobs: Jobs) -> None:
    expected = json.loads((SEED / "jobstatus_transformed.json").read_text())
    schema = fastavro.parse_schema(json.loads((SEED / "jobstatus.avsc").read_text()))
    job = jobs.create(name="hello", script="hello.py", schedule="0 3 * * *")
    started = jobs.start(job["id"], environment={"A": "1"})
    record = jobstatus(json.dumps(started))
    assert list(record) == list(expected)
    assert {k: type(v) for k, v in record.items()} == {k: type(v) for k, v in expected.items()}
    assert record["englishSchedule"] == "At 03:00 every day" and record["type"] == "cron"
    out = io.BytesIO()
    fastavro.writer(out, schema, [record], validator=True)
    out.seek(0)
    assert list(fastavro.reader(out)) == [record]
    jobs.wait(job["id"], started["latest"]["id"])
