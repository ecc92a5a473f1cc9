"""Bad input never vanishes: in a running flow, content that is not JSON, a value that
cannot be coerced to the ``sensor`` schema, and a record missing a required field go
to ``failure`` with ``record.error.message`` (from ConvertRecord and from MergeRecord),
and every input FlowFile is counted in success or in failure.

Unreachable storage: PutS3Object and PutFTP pointed at a closed port route FlowFiles to
failure, penalized; failure loops back, so they are retried and none is lost; the status
API shows a bulletin naming the endpoint; once a server listens on that port, every
FlowFile is delivered.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import fastavro
import pyarrow.parquet as pq
import pytest
from flowharness import SENSOR_SCHEMA, Hub, RunFlow, poll, seed_path

from ports import free_ports

pytestmark = pytest.mark.e2e


def reading(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(seed_path("sensor_reading.json").read_text())
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


GOOD = {
    "one.json": json.dumps(reading()),
    "three.json": json.dumps([reading(uuid=f"u{i}", bme680_tempc=f"2{i}.5") for i in range(3)]),
}
BAD = {
    "truncated.json": ('{"uuid": "x", "host": "piups", "bme680_tempc": ', "malformed JSON"),
    "not-a-number.json": (json.dumps(reading(bme680_tempc="abc")), "cannot coerce 'abc' to double"),
    "no-host.json": (json.dumps(reading(host=None)), "required field is missing"),
    "second-line.json": (
        json.dumps(reading(uuid="a")) + "\n" + json.dumps(reading(uuid="b", cputemp="hot")),
        "cannot coerce 'hot' to long",
    ),
}
NAMED = {  # the message names the record and the field
    "no-host.json": "record 0, field 'host'",
    "not-a-number.json": "record 0, field 'bme680_tempc'",
    "second-line.json": "record 1, field 'cputemp'",
}


def records_flow(inbox: Path) -> dict[str, Any]:
    by_name = {
        "schema-access-strategy": "schema-name",
        "schema-registry": "registry",
        "schema-name": "sensor",
    }
    sink = {"type": "UpdateAttribute", "enabled": False}
    return {
        "flow": "bad-input",
        "services": {
            "registry": {
                "type": "AvroSchemaRegistry",
                "properties": {"sensor": SENSOR_SCHEMA.read_text()},
            },
            "json-reader": {"type": "JsonTreeReader", "properties": by_name},
            "avro-writer": {"type": "AvroRecordSetWriter", "properties": by_name},
            "parquet-writer": {"type": "ParquetRecordSetWriter", "properties": by_name},
        },
        "processors": {
            "inbox": {"type": "GetFile", "properties": {"Input Directory": str(inbox)}},
            "convert": {
                "type": "ConvertRecord",
                "properties": {"record-reader": "json-reader", "record-writer": "avro-writer"},
            },
            "merge": {
                "type": "MergeRecord",
                "properties": {
                    "record-reader": "json-reader",
                    "record-writer": "parquet-writer",
                    "min-records": "4",
                    "max-bin-age": "10 sec",
                },
            },
            **{name: sink for name in ("converted", "merged", "originals", "failed")},
        },
        "connections": [
            {"from": "inbox", "relationships": ["success"], "to": "convert"},
            {"from": "inbox", "relationships": ["success"], "to": "merge"},
            {"id": "converted", "from": "convert", "relationships": ["success"], "to": "converted"},
            {
                "id": "convert-failed",
                "from": "convert",
                "relationships": ["failure"],
                "to": "failed",
            },
            {"id": "merged", "from": "merge", "relationships": ["merged"], "to": "merged"},
            {"id": "originals", "from": "merge", "relationships": ["original"], "to": "originals"},
            {"id": "merge-failed", "from": "merge", "relationships": ["failure"], "to": "failed"},
            *(
                {"from": name, "relationships": ["success"], "to": name}
                for name in ("converted", "merged", "originals", "failed")
            ),
        ],
    }


def by_filename(hub: Hub, connection: str) -> dict[str, dict[str, Any]]:
    return {f["attributes"]["filename"]: f for f in hub.flowfiles(connection)}


def test_bad_records_go_to_failure_with_the_reason_and_none_is_dropped(
    run_flow: RunFlow, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, text in GOOD.items():
        (inbox / name).write_text(text)
    for name, (text, _) in BAD.items():
        (inbox / name).write_text(text)
    total = len(GOOD) + len(BAD)

    hub = run_flow(records_flow(inbox))
    poll(lambda: hub.queued("converted") + hub.queued("convert-failed") == total, what="convert")
    poll(lambda: hub.queued("merged") == 1, what="the merge of the good records")
    poll(lambda: hub.settled("convert", "merge"), what="both processors to finish")

    # ConvertRecord: every input is in success or in failure, the bad ones with reasons.
    converted, failed = by_filename(hub, "converted"), by_filename(hub, "convert-failed")
    assert sorted(converted) == sorted(GOOD)
    assert sorted(failed) == sorted(BAD)
    for name, (_, reason) in BAD.items():
        message = failed[name]["attributes"]["record.error.message"]
        assert reason in message, (name, message)
        if name in NAMED:
            assert message.startswith(NAMED[name]), (name, message)
        assert hub.content(failed[name]["uuid"]) == BAD[name][0].encode(), "content intact"
    rows = []
    for name in GOOD:
        avro = fastavro.reader(io.BytesIO(hub.content(converted[name]["uuid"])))
        rows.extend(avro)
    assert len(rows) == 4
    assert sorted(r["bme680_tempc"] for r in rows) == [20.5, 21.5, 22.5, 23.97]

    # MergeRecord: the good records merged once, each bad FlowFile failed on its own.
    merge_failed = by_filename(hub, "merge-failed")
    assert sorted(merge_failed) == sorted(BAD)
    for name, (_, reason) in BAD.items():
        assert reason in merge_failed[name]["attributes"]["record.error.message"]
    assert sorted(by_filename(hub, "originals")) == sorted(GOOD)
    (merged,) = hub.flowfiles("merged")
    table = pq.read_table(io.BytesIO(hub.content(merged["uuid"])))
    assert sorted(table.column("uuid").to_pylist()) == sorted(["u0", "u1", "u2", reading()["uuid"]])
    assert merged["attributes"]["record.count"] == "4"

    # Nothing dropped: the status counts agree with the queues.
    assert len(hub.events(type="RECEIVE", component="inbox")) == total
    assert hub.queued("converted") + hub.queued("convert-failed") == total
    assert hub.queued("originals") + hub.queued("merge-failed") == total
    assert hub.events(type="DROP") == []


IMAGES = {f"bog_image_2019021304343{i}_{i}.jpg": bytes([i]) * 1000 + b"\xff\xd9" for i in range(5)}
EVERYWHERE = ("to-s3", "s3-retry", "to-ftp", "ftp-retry", "delivered")
PENALTY_MS = 300


def unreachable_flow(inbox: Path, s3_port: int, ftp_port: int) -> dict[str, Any]:
    retry = {"penalty": f"{PENALTY_MS} millis", "yield": "100 millis"}
    return {
        "flow": "unreachable",
        "processors": {
            "inbox": {"type": "GetFile", "properties": {"Input Directory": str(inbox)}},
            "put-s3": {
                "type": "PutS3Object",
                "properties": {
                    "Bucket": "unreachable",
                    "Region": "us-east-1",
                    "Access Key": "testing",
                    "Secret Key": "testing",
                    "Endpoint Override URL": f"http://127.0.0.1:{s3_port}",
                    "Communications Timeout": "1 sec",
                },
                "schedule": retry,
            },
            "put-ftp": {
                "type": "PutFTP",
                "properties": {
                    "Hostname": "127.0.0.1",
                    "Port": str(ftp_port),
                    "Username": "camera",
                    "Password": "secret",
                    "Remote Path": "/images",
                    "Create Directory": "true",
                    "Connection Timeout": "1 sec",
                },
                "schedule": retry,
                "auto-terminate": ["reject"],
            },
            "delivered": {"type": "UpdateAttribute", "enabled": False},
        },
        "connections": [
            {"id": "to-s3", "from": "inbox", "relationships": ["success"], "to": "put-s3"},
            {"id": "s3-retry", "from": "put-s3", "relationships": ["failure"], "to": "put-s3"},
            {"id": "to-ftp", "from": "put-s3", "relationships": ["success"], "to": "put-ftp"},
            {"id": "ftp-retry", "from": "put-ftp", "relationships": ["failure"], "to": "put-ftp"},
            {"id": "delivered", "from": "put-ftp", "relationships": ["success"], "to": "delivered"},
            {"from": "delivered", "relationships": ["success"], "to": "delivered"},
        ],
    }


def tries(hub: Hub, node_id: str) -> dict[str, list[int]]:
    """The times (ms) each FlowFile (by uuid) failed, from the processor's bulletins in
    the status API."""
    found: dict[str, list[int]] = {}
    for bulletin in hub.processor(node_id)["bulletins"]:
        routed = _ROUTED.match(bulletin["message"])
        if routed:
            found.setdefault(routed.group(1), []).append(bulletin["time"])
    return found


_ROUTED = re.compile(r"routing (\S+) to failure")


def conserved(hub: Hub, **expected: int) -> bool:
    """Every image is in exactly one queue of the flow (and the named ones hold these)."""
    counts = {c: hub.queued(c) for c in EVERYWHERE}
    return sum(counts.values()) == len(IMAGES) and all(
        counts[c.replace("_", "-")] == n for c, n in expected.items()
    )


def check_retry_loop(hub: Hub, node_id: str, loop: str, endpoint: str) -> None:
    """The node failed, penalized, and tried again after the penalty; its bulletin
    names the endpoint."""
    poll(
        lambda: max(map(len, tries(hub, node_id).values()), default=0) >= 2,
        what=f"{node_id} to retry",
    )
    for times in tries(hub, node_id).values():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= PENALTY_MS - 10 for gap in gaps), f"retried within the penalty: {gaps}"

    def penalized() -> list[dict[str, Any]]:
        return [f for f in hub.flowfiles(loop) if f["penalized"]]

    poll(lambda: bool(penalized()), what=f"a penalized FlowFile waiting in {loop}")
    for listed in penalized():
        assert endpoint in listed["attributes"]["error.message"]
    bulletin = hub.processor(node_id)["lastError"]
    assert bulletin["componentId"] == node_id and bulletin["level"] == "WARNING"
    assert endpoint in bulletin["message"]
    assert bulletin["componentType"] == hub.controller.nodes[node_id].type_name


def test_unreachable_s3_and_ftp_retry_penalized_show_a_bulletin_and_lose_nothing(
    run_flow: RunFlow, tmp_path: Path, servers: Any
) -> None:
    s3_port, ftp_port = free_ports(2)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in IMAGES.items():
        (inbox / name).write_bytes(data)
    hub = run_flow(unreachable_flow(inbox, s3_port, ftp_port))

    # S3 is down: images fail, penalized, loop back and are tried again; none is lost.
    check_retry_loop(hub, "put-s3", "s3-retry", f"http://127.0.0.1:{s3_port}/unreachable/")
    poll(lambda: conserved(hub, to_ftp=0, delivered=0), what="every image still queued")
    assert hub.events(type="SEND") == [] and hub.events(type="DROP") == []

    # S3 comes up on that port: the images move on to FTP, which is down.
    endpoint = servers.s3(s3_port)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="unreachable")
    check_retry_loop(hub, "put-ftp", "ftp-retry", f"ftp://127.0.0.1:{ftp_port}")
    poll(lambda: conserved(hub, to_s3=0, s3_retry=0, delivered=0), what="all past S3")
    for name, data in IMAGES.items():
        assert s3.get_object(Bucket="unreachable", Key=name)["Body"].read() == data

    # FTP comes up: every image is delivered, once.
    ftp = servers.ftp(ftp_port)
    poll(lambda: hub.queued("delivered") == len(IMAGES), what="every image delivered")
    assert conserved(hub, delivered=len(IMAGES))
    for name, data in IMAGES.items():
        assert (ftp.home / "images" / name).read_bytes() == data
    delivered = [f["attributes"]["filename"] for f in hub.flowfiles("delivered")]
    assert sorted(delivered) == sorted(IMAGES)
    sends = Counter(e["componentId"] for e in hub.events(type="SEND"))
    assert sends == {"put-s3": len(IMAGES), "put-ftp": len(IMAGES)}
    assert hub.events(type="DROP") == []
