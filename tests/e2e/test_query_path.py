"""The seed's detection branch: model outputs (``class1``, ``pct1``, host, ...) picked
up as JSON files → QueryRecord ``SELECT * FROM FLOWFILE WHERE class1='cat' OR
class1='person'`` → PutS3Object (moto). Exactly the cats and people arrive, in their
order, with every field; files with neither send nothing; the originals go on intact."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from flowharness import RunFlow, poll

pytestmark = pytest.mark.e2e

BUCKET = "e2e-detections"
QUERY = "SELECT * FROM FLOWFILE WHERE class1='cat' OR class1='person'"
CLASSES = ["cat", "person", "dog", "Cat", "persons", "car", "bicycle"]


def detections(rng: random.Random, count: int, classes: list[str]) -> list[dict[str, Any]]:
    """Records shaped like the seed's model answer."""
    return [
        {
            "class1": rng.choice(classes),
            "pct1": round(rng.uniform(0.3, 0.99), 4),
            "host": f"piups-{rng.randrange(4)}",
            "shape": "(480, 640, 3)",
            "end": f"{1550032479.39 + i:.4f}",
            "te": f"{rng.uniform(0.1, 3):.6f}",
            "systemtime": "02/12/2019 23:34:39",
            "cpu": round(rng.uniform(0, 100), 1),
            "memory": round(rng.uniform(10, 90), 1),
        }
        for i in range(count)
    ]


def query_flow(inbox: Path, endpoint: str) -> dict[str, Any]:
    return {
        "flow": "detections",
        "services": {
            "json-reader": {"type": "JsonTreeReader"},
            "json-writer": {"type": "JsonRecordSetWriter"},
        },
        "processors": {
            "model-output": {"type": "GetFile", "properties": {"Input Directory": str(inbox)}},
            "query": {
                "type": "QueryRecord",
                "properties": {
                    "record-reader": "json-reader",
                    "record-writer": "json-writer",
                    "include-zero-record-flowfiles": "false",
                    "catsandpeople": QUERY,
                },
            },
            "put-s3": {
                "type": "PutS3Object",
                "properties": {
                    "Bucket": BUCKET,
                    "Object Key": "detections/${filename}",
                    "Region": "us-east-1",
                    "Access Key": "testing",
                    "Secret Key": "testing",
                    "Endpoint Override URL": endpoint,
                },
                "auto-terminate": ["success"],
            },
            "originals": {"type": "UpdateAttribute", "enabled": False},
            "dead-letter": {"type": "UpdateAttribute", "enabled": False},
        },
        "connections": [
            {"from": "model-output", "relationships": ["success"], "to": "query"},
            {"id": "selected", "from": "query", "relationships": ["catsandpeople"], "to": "put-s3"},
            {"id": "originals", "from": "query", "relationships": ["original"], "to": "originals"},
            {"from": "originals", "relationships": ["success"], "to": "originals"},
            {
                "id": "query-failed",
                "from": "query",
                "relationships": ["failure"],
                "to": "dead-letter",
            },
            {
                "id": "s3-failed",
                "from": "put-s3",
                "relationships": ["failure"],
                "to": "dead-letter",
            },
            {"from": "dead-letter", "relationships": ["success"], "to": "dead-letter"},
        ],
    }


def test_query_record_sends_exactly_the_cats_and_people_to_s3(
    run_flow: RunFlow, moto_endpoint: str, tmp_path: Path
) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(7)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batches = {f"detections-{i}.json": detections(rng, 40, CLASSES) for i in range(4)}
    batches["nothing-to-see.json"] = detections(rng, 10, ["dog", "car", "Cat"])
    for name, records in batches.items():
        (inbox / name).write_text(json.dumps(records))

    expected = {
        name: [r for r in records if r["class1"] in ("cat", "person")]
        for name, records in batches.items()
    }
    with_results = sum(1 for rows in expected.values() if rows)

    hub = run_flow(query_flow(inbox, moto_endpoint))
    poll(lambda: hub.queued("originals") == len(batches), what="every file queried")
    put = hub.controller.nodes["put-s3"]
    poll(lambda: put.stats.flowfiles_in == with_results, what="every result put to S3")
    assert hub.queued("query-failed") == 0 and hub.queued("s3-failed") == 0

    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="detections/").get("Contents", [])
    stored = {
        item["Key"].removeprefix("detections/"): json.loads(
            s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        )
        for item in listed
    }
    assert sorted(stored) == sorted(name for name, rows in expected.items() if rows)
    assert "nothing-to-see.json" not in stored, "no zero-record FlowFile"
    assert stored == {name: rows for name, rows in expected.items() if rows}
    selected = sum(len(rows) for rows in stored.values())
    total = sum(len(records) for records in batches.values())
    assert 0 < selected < total  # the query did filter
    assert {r["class1"] for rows in stored.values() for r in rows} == {"cat", "person"}

    # The originals go on unchanged, and each result is a child of its original.
    originals = hub.flowfiles("originals")
    assert sorted(o["attributes"]["filename"] for o in originals) == sorted(batches)
    for original in originals:
        name = original["attributes"]["filename"]
        assert json.loads(hub.content(original["uuid"])) == batches[name]
    forks = hub.events(type="FORK", component="query")
    assert sum(len(e["childUuids"]) for e in forks) == len(stored)
    assert hub.processor("put-s3")["flowFilesIn"] == len(stored)
