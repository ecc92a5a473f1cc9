"""PutS3Object and FetchS3Object against a real moto S3 server on 127.0.0.1."""

from __future__ import annotations

import io
import os
import time
from typing import Any

import boto3
import pytest

from headwater.processors.storage_s3 import FetchS3Object, PutS3Object
from headwater.storage import FAIL, IGNORE, REPLACE, StorageError, open_storage
from headwater.testing import TestRunner
from ports import free_port

pytestmark = pytest.mark.integration

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(200_000) + b"\xff\xd9"


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> str:
    return moto_endpoint  # the run's moto server (tests/conftest.py)


@pytest.fixture(scope="module")
def s3(endpoint: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="images")
    return client


def _props(endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "Bucket": "images",
        "Region": "us-east-1",
        "Access Key": "testing",
        "Secret Key": "testing",
        "Endpoint Override URL": endpoint,
        **extra,
    }


def test_jpeg_arrives_byte_for_byte_with_its_url(endpoint: str, s3: Any) -> None:
    runner = TestRunner(PutS3Object, _props(endpoint, **{"Object Key": "cams/${filename}"}))
    runner.enqueue(JPEG, filename="cat.jpg", **{"mime.type": "image/jpeg"})
    runner.run()
    runner.assert_all_transferred(PutS3Object.SUCCESS, count=1)
    out = runner.transferred(PutS3Object.SUCCESS)[0]
    stored = s3.get_object(Bucket="images", Key="cams/cat.jpg")
    assert stored["Body"].read() == JPEG
    assert stored["ContentType"] == "image/jpeg"
    assert out.attributes["s3.bucket"] == "images"
    assert out.attributes["s3.key"] == "cams/cat.jpg"
    assert out.attributes["s3.etag"] == stored["ETag"].strip('"')
    assert out.attributes["s3.url"] == f"{endpoint}/images/cams/cat.jpg"
    assert out.content == JPEG
    sends = [e for e in runner.provenance_events() if e.event_type == "SEND"]
    assert [e.transit_uri for e in sends] == [f"{endpoint}/images/cams/cat.jpg"]


def test_put_then_fetch_round_trips(endpoint: str, s3: Any) -> None:
    put = TestRunner(PutS3Object, _props(endpoint))
    put.enqueue(JPEG, filename="dog.jpg")
    put.run()
    put.assert_all_transferred(PutS3Object.SUCCESS, count=1)
    fetch = TestRunner(FetchS3Object, _props(endpoint))
    fetch.enqueue(b"", filename="dog.jpg")
    fetch.enqueue(b"", filename="missing.jpg")
    fetch.run()
    assert fetch.transferred(FetchS3Object.SUCCESS)[0].content == JPEG
    failed = fetch.transferred(FetchS3Object.FAILURE)[0]
    assert "missing.jpg does not exist" in failed.attributes["error.message"]
    assert "FETCH" in fetch.provenance_types()


def test_unreachable_endpoint_goes_to_failure_penalized() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    runner = TestRunner(PutS3Object, _props(dead, **{"Communications Timeout": "2 sec"}))
    runner.enqueue(JPEG, filename="cat.jpg")
    started = time.monotonic()
    runner.run()
    assert time.monotonic() - started < 10
    runner.assert_all_transferred(PutS3Object.FAILURE, count=1)
    out = runner.transferred(PutS3Object.FAILURE)[0]
    assert out.content == JPEG, "nothing lost"
    assert "s3://images/cat.jpg" in out.attributes["error.message"]
    assert "connect" in out.attributes["error.message"].lower()
    assert out.penalized
    assert "SEND" not in runner.provenance_types()


def test_unreachable_endpoint_fails_one_returns_the_rest_and_yields() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    runner = TestRunner(PutS3Object, _props(dead, **{"Communications Timeout": "2 sec"}))
    for index in range(20):
        runner.enqueue(JPEG, filename=f"cat{index}.jpg")
    runner.run(stop=False)
    (failed,) = runner.transferred(PutS3Object.FAILURE)
    assert failed.penalized and failed.attributes["filename"] == "cat0.jpg"
    assert runner.queue_size() == 19, "the rest went back to the queue, untried"
    assert runner.context.yield_requested
    assert runner.provenance_types() == ["ATTRIBUTES_MODIFIED"]


def test_an_object_error_does_not_stop_the_batch(endpoint: str, s3: Any) -> None:
    runner = TestRunner(PutS3Object, _props(endpoint, Bucket="${bucket}"))
    runner.enqueue(JPEG, filename="a.jpg", bucket="no-such-bucket")
    runner.enqueue(JPEG, filename="b.jpg", bucket="images")
    runner.run(stop=False)
    runner.assert_transferred(PutS3Object.FAILURE, 1)
    runner.assert_transferred(PutS3Object.SUCCESS, 1)
    assert runner.queue_size() == 0
    assert not runner.context.yield_requested


def test_bucket_and_key_are_required() -> None:
    runner = TestRunner(PutS3Object, {})
    runner.assert_invalid("Bucket")


def test_storage_layer_conflicts_on_s3(endpoint: str, s3: Any) -> None:
    storage, path = open_storage(
        "s3://images/layer/x.bin",
        endpoint_url=endpoint,
        key="testing",
        secret="testing",
        skip_instance_cache=True,
    )
    assert storage.put(path, io.BytesIO(b"first"), FAIL).written
    assert not storage.put(path, io.BytesIO(b"second"), IGNORE).written
    with pytest.raises(StorageError, match=r"s3://images/layer/x.bin already exists"):
        storage.put(path, io.BytesIO(b"third"), FAIL)
    assert storage.put(path, io.BytesIO(b"fourth"), REPLACE).written
    assert s3.get_object(Bucket="images", Key="layer/x.bin")["Body"].read() == b"fourth"
