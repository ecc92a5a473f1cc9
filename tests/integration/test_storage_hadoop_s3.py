"""PutParquet and PutHDFS against a moto S3 server: the filesystem comes from the
Directory URL or from fs.defaultFS, configured with Hadoop's S3A keys, as HDFS would be
(no HDFS can run here; this is the same code path after the filesystem is chosen)."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.processors.storage_hdfs import PutHDFS
from headwater.processors.storage_parquet import PutParquet
from headwater.services.records import JsonTreeReader
from headwater.testing import TestRunner

pytestmark = pytest.mark.integration

READINGS = b'[{"host": "edge-1", "t": 21.5}, {"host": "edge-1", "t": 22.0}]'


class IntervalReader(JsonTreeReader):
    """Records Parquet cannot hold: an interval column."""

    def read(self, data: bytes, attributes: Mapping[str, str]) -> pa.Table:
        return pa.table({"gap": pa.array([pa.MonthDayNano([1, 2, 3])])})


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    name = f"lake-{uuid.uuid4().hex[:8]}"
    _client(moto_endpoint).create_bucket(Bucket=name)
    return name


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def _core_site(path: Path, endpoint: str, **extra: str) -> str:
    values = {
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.access.key": "testing",
        "fs.s3a.secret.key": "testing",
        "fs.s3a.endpoint.region": "us-east-1",
        **extra,
    }
    body = "".join(
        f"<property><name>{k}</name><value>{v}</value></property>" for k, v in values.items()
    )
    path.write_text(f"<configuration>{body}</configuration>")
    return str(path)


def test_put_parquet_writes_an_object_to_a_directory_url(
    tmp_path: Path, moto_endpoint: str, bucket: str
) -> None:
    props = {
        "Hadoop Configuration Resources": _core_site(tmp_path / "core-site.xml", moto_endpoint),
        "record-reader": "json",
        "Directory": f"s3a://{bucket}/sensors/${{host}}",
        "compression-type": "GZIP",
    }
    with TestRunner(PutParquet, props) as runner:
        runner.add_service("json", JsonTreeReader(), {})
        runner.enqueue(READINGS, filename="r.parquet", host="edge-1")
        runner.run()
        runner.assert_all_transferred(PutParquet.SUCCESS, 1)
        out = runner.transferred(PutParquet.SUCCESS)[0]
        url = f"s3://{bucket}/sensors/edge-1/r.parquet"
        assert out.attributes["hadoop.file.url"] == url
        assert out.attributes["absolute.hdfs.path"] == f"s3://{bucket}/sensors/edge-1"
        assert out.attributes["record.count"] == "2"
        assert [e.transit_uri for e in runner.provenance_events() if e.event_type == "SEND"] == [
            url
        ]
    body = _client(moto_endpoint).get_object(Bucket=bucket, Key="sensors/edge-1/r.parquet")
    local = tmp_path / "copy.parquet"
    local.write_bytes(body["Body"].read())
    assert pq.read_table(local).column("t").to_pylist() == [21.5, 22.0]
    assert duckdb.sql(f"select avg(t) from read_parquet('{local}')").fetchall() == [(21.75,)]


def test_put_parquet_existing_object_fails_without_overwrite(
    tmp_path: Path, moto_endpoint: str, bucket: str
) -> None:
    _client(moto_endpoint).put_object(Bucket=bucket, Key="r.parquet", Body=b"old")
    props = {
        "Hadoop Configuration Resources": _core_site(tmp_path / "core-site.xml", moto_endpoint),
        "record-reader": "json",
        "Directory": f"s3://{bucket}",
    }
    with TestRunner(PutParquet, props) as runner:
        runner.add_service("json", JsonTreeReader(), {})
        runner.enqueue(READINGS, filename="r.parquet")
        runner.run()
        runner.assert_all_transferred(PutParquet.FAILURE, 1)
        assert runner.transferred(PutParquet.FAILURE)[0].penalized


def test_put_parquet_unwritable_records_leave_no_object(
    tmp_path: Path, moto_endpoint: str, bucket: str
) -> None:
    props = {
        "Hadoop Configuration Resources": _core_site(tmp_path / "core-site.xml", moto_endpoint),
        "record-reader": "odd",
        "Directory": f"s3://{bucket}/odd",
    }
    with TestRunner(PutParquet, props) as runner:
        runner.add_service("odd", IntervalReader(), {})
        runner.enqueue(b"{}", filename="odd.parquet")
        runner.run()
        runner.assert_all_transferred(PutParquet.FAILURE, 1)
    assert "Contents" not in _client(moto_endpoint).list_objects_v2(Bucket=bucket)


def test_put_hdfs_qualifies_a_bare_directory_with_fs_default_fs(
    tmp_path: Path, moto_endpoint: str, bucket: str
) -> None:
    config = _core_site(
        tmp_path / "core-site.xml", moto_endpoint, **{"fs.defaultFS": f"s3a://{bucket}"}
    )
    props = {
        "Hadoop Configuration Resources": config,
        "Directory": "/landing/${now():format('yyyy')}/${host}",
    }
    with TestRunner(PutHDFS, props) as runner:
        runner.enqueue(b"hello hub", filename="a.txt", host="edge-2")
        runner.run()
        runner.assert_all_transferred(PutHDFS.SUCCESS, 1)
        out = runner.transferred(PutHDFS.SUCCESS)[0]
        key = out.attributes["hadoop.file.url"].removeprefix(f"s3://{bucket}/")
        assert key.startswith("landing/") and key.endswith("/edge-2/a.txt")
    stored = _client(moto_endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert stored == b"hello hub"


def test_put_hdfs_append_is_refused_on_s3(tmp_path: Path, moto_endpoint: str, bucket: str) -> None:
    s3 = _client(moto_endpoint)
    s3.upload_fileobj(io.BytesIO(b"old"), bucket, "a.txt")
    props = {
        "Hadoop Configuration Resources": _core_site(tmp_path / "core-site.xml", moto_endpoint),
        "Directory": f"s3a://{bucket}/",
        "Conflict Resolution Strategy": "append",
    }
    with TestRunner(PutHDFS, props) as runner:
        runner.enqueue(b"new", filename="a.txt")
        runner.run()
        runner.assert_all_transferred(PutHDFS.FAILURE, 1)
        failed = runner.transferred(PutHDFS.FAILURE)[0]
        assert "cannot append" in failed.attributes["error.message"]
        assert failed.penalized
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"old"


def test_put_parquet_unreachable_s3_goes_to_retry_penalized(
    tmp_path: Path, closed_port: int
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    config = _core_site(
        tmp_path / "core-site.xml", endpoint, **{"fs.s3a.connection.timeout": "2000"}
    )
    props = {
        "Hadoop Configuration Resources": config,
        "record-reader": "json",
        "Directory": "s3a://lake/sensors",
    }
    with TestRunner(PutParquet, props) as runner:
        runner.add_service("json", JsonTreeReader(), {})
        runner.enqueue(READINGS, filename="r.parquet")
        started = time.monotonic()
        runner.run()
        assert time.monotonic() - started < 15
        runner.assert_all_transferred(PutParquet.RETRY, 1)
        retried = runner.transferred(PutParquet.RETRY)[0]
        assert retried.penalized
        assert "s3://lake/sensors/r.parquet" in retried.attributes["record.error.message"]
        assert retried.content == READINGS, "nothing lost"
        assert "SEND" not in runner.provenance_types()
