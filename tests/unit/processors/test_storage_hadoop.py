"""PutParquet and PutHDFS on file:// through TestRunner; the partitioned Directory
layout shared with PutFile. (The s3 runs are in tests/integration.)"""

from __future__ import annotations

import bz2
import gzip
import os
import zlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from headwater.processor import Processor
from headwater.processors.files_put import PutFile
from headwater.processors.storage_hdfs import PutHDFS
from headwater.processors.storage_parquet import PutParquet
from headwater.services.records import JsonTreeReader
from headwater.testing import TestRunner

READINGS = b'[{"host": "a", "v": 1.5}, {"host": "a", "v": 2.5}, {"host": "a", "v": 3.0}]'


def parquet(directory: str, **properties: str) -> TestRunner:
    runner = TestRunner(PutParquet, {"record-reader": "json", "Directory": directory, **properties})
    runner.add_service("json", JsonTreeReader(), {})
    return runner


def core_site(path: Path, **values: str) -> str:
    body = "".join(
        f"<property><name>{k}</name><value>{v}</value></property>" for k, v in values.items()
    )
    path.write_text(f"<?xml version='1.0'?><configuration>{body}</configuration>")
    return str(path)


def test_put_parquet_writes_one_file_readable_by_pyarrow_and_duckdb(tmp_path: Path) -> None:
    with parquet(f"{tmp_path}/lake/${{host}}", **{"compression-type": "SNAPPY"}) as runner:
        runner.enqueue(READINGS, filename="r.parquet", host="a")
        runner.run()
        runner.assert_all_transferred(PutParquet.SUCCESS, 1)
        out = runner.transferred(PutParquet.SUCCESS)[0]
        target = tmp_path / "lake/a/r.parquet"
        assert out.attributes["record.count"] == "3"
        assert out.attributes["filename"] == "r.parquet"
        assert out.attributes["absolute.hdfs.path"] == str(tmp_path / "lake/a")
        assert out.attributes["hadoop.file.url"] == target.as_uri()
        assert out.content == READINGS, "the FlowFile keeps its content"
        sends = [e for e in runner.provenance_events() if e.event_type == "SEND"]
        assert [e.transit_uri for e in sends] == [target.as_uri()]
    assert pq.read_table(target).to_pylist() == [
        {"host": "a", "v": 1.5},
        {"host": "a", "v": 2.5},
        {"host": "a", "v": 3.0},
    ]
    assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == "SNAPPY"
    query = f"select host, sum(v) from read_parquet('{target}') group by host"
    assert duckdb.sql(query).fetchall() == [("a", 7.0)]
    assert os.listdir(target.parent) == ["r.parquet"], "no temporary dot file left"


def test_put_parquet_row_groups_and_writer_options(tmp_path: Path) -> None:
    rows = b"[" + b",".join(b'{"n": %d}' % i for i in range(1000)) + b"]"
    props = {
        "row-group-size": "${group}",
        "Compression Type": "ZSTD",
        "writer-version": "PARQUET_2_0",
        "enable-dictionary-encoding": "false",
    }
    with parquet(str(tmp_path), **props) as runner:
        runner.enqueue(rows, filename="n.parquet", group="800 B")
        runner.run()
        runner.assert_all_transferred(PutParquet.SUCCESS, 1)
    meta = pq.ParquetFile(tmp_path / "n.parquet").metadata
    assert meta.num_rows == 1000
    assert meta.num_row_groups == 10  # 800 bytes of 8-byte longs: 100 rows a group
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_put_parquet_unreadable_content_goes_to_failure_unpenalized(tmp_path: Path) -> None:
    with parquet(str(tmp_path)) as runner:
        runner.enqueue(b'{"host": ', filename="bad.parquet")
        runner.run()
        runner.assert_all_transferred(PutParquet.FAILURE, 1)
        bad = runner.transferred(PutParquet.FAILURE)[0]
        assert "malformed JSON" in bad.attributes["record.error.message"]
        assert not bad.penalized
        assert "SEND" not in runner.provenance_types()
    assert os.listdir(tmp_path) == []


class IntervalReader(JsonTreeReader):
    """Records with a column Parquet cannot hold (an interval)."""

    def read(self, data: bytes, attributes: Mapping[str, str]) -> pa.Table:
        interval = pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval())
        return pa.table({"n": [1], "gap": interval})


def test_put_parquet_records_parquet_cannot_hold_fail_and_leave_nothing(tmp_path: Path) -> None:
    with TestRunner(PutParquet, {"record-reader": "odd", "Directory": str(tmp_path)}) as runner:
        runner.add_service("odd", IntervalReader(), {})
        runner.enqueue(b"{}", filename="odd.parquet")
        runner.run()
        runner.assert_all_transferred(PutParquet.FAILURE, 1)
        reason = runner.transferred(PutParquet.FAILURE)[0].attributes["record.error.message"]
        assert "cannot be written as Parquet" in reason
    assert os.listdir(tmp_path) == [], "the temporary file is removed"


def test_put_parquet_existing_file_fails_penalized_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "r.parquet").write_bytes(b"old")
    with parquet(str(tmp_path)) as runner:
        runner.enqueue(READINGS, filename="r.parquet")
        runner.run()
        runner.assert_all_transferred(PutParquet.FAILURE, 1)
        failed = runner.transferred(PutParquet.FAILURE)[0]
        assert failed.penalized
        assert "already exists" in failed.attributes["record.error.message"]
    assert (tmp_path / "r.parquet").read_bytes() == b"old"
    with parquet(str(tmp_path), **{"Overwrite Files": "true"}) as runner:
        runner.enqueue(READINGS, filename="r.parquet")
        runner.run()
        runner.assert_all_transferred(PutParquet.SUCCESS, 1)
    assert pq.read_table(tmp_path / "r.parquet").num_rows == 3


def test_put_parquet_filesystem_error_goes_to_retry_penalized_and_yields(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_bytes(b"a file where a directory should be")
    with parquet(f"{tmp_path}/blocker/sub") as runner:
        runner.enqueue(READINGS, filename="one.parquet")
        runner.enqueue(READINGS, filename="two.parquet")
        runner.run(stop=False)
        runner.assert_transferred(PutParquet.RETRY, 1)
        retried = runner.transferred(PutParquet.RETRY)[0]
        assert retried.penalized
        assert "blocker" in retried.attributes["record.error.message"]
        assert runner.node.context is not None and runner.node.context.yield_requested
        assert runner.queue_size() == 1, "the rest of the batch goes back to the queue"


def test_put_parquet_configuration() -> None:
    runner = TestRunner(PutParquet, {"compression-type": "LZO", "row-group-size": "big"})
    runner.assert_invalid("record-reader", "Directory", "compression-type", "row-group-size")
    assert {r.name for r in PutParquet.relationships} == {"success", "retry", "failure"}


# -- PutHDFS -------------------------------------------------------------------------------


def test_put_hdfs_writes_to_the_local_filesystem_without_configuration(tmp_path: Path) -> None:
    with TestRunner(PutHDFS, {"Directory": f"{tmp_path}/in/${{dir}}"}) as runner:
        runner.enqueue(b"hello", filename="a.txt", dir="x")
        runner.run()
        runner.assert_all_transferred(PutHDFS.SUCCESS, 1)
        out = runner.transferred(PutHDFS.SUCCESS)[0]
        target = tmp_path / "in/x/a.txt"
        assert out.attributes["absolute.hdfs.path"] == str(target.parent)
        assert out.attributes["target.dir.created"] == "true"
        assert [e.transit_uri for e in runner.provenance_events()] == [target.as_uri()]
    assert target.read_bytes() == b"hello"
    assert os.listdir(target.parent) == ["a.txt"]


def test_put_hdfs_reads_the_configuration_and_takes_a_directory_url(tmp_path: Path) -> None:
    config = core_site(tmp_path / "core-site.xml", **{"fs.defaultFS": "file:///"})
    props = {"Hadoop Configuration Resources": config, "Directory": "${where}"}
    with TestRunner(PutHDFS, props) as runner:
        assert runner.context is not None
        assert runner.processor.filesystems.default_fs == "file:///"  # type: ignore[attr-defined]
        runner.enqueue(b"x", filename="a.txt", where=f"{tmp_path}/bare")
        runner.enqueue(b"y", filename="b.txt", where=(tmp_path / "url").as_uri())
        runner.run()
        runner.assert_all_transferred(PutHDFS.SUCCESS, 2)
    assert (tmp_path / "bare/a.txt").read_bytes() == b"x"
    assert (tmp_path / "url/b.txt").read_bytes() == b"y"
    missing = TestRunner(PutHDFS, {"Hadoop Configuration Resources": "/no/such/core-site.xml"})
    missing.assert_invalid("Hadoop Configuration Resources", "Directory")


@pytest.mark.parametrize(
    ("strategy", "relationship", "content", "penalized"),
    [
        ("fail", "failure", b"old", True),
        ("ignore", "success", b"old", False),
        ("replace", "success", b"new", False),
        ("append", "success", b"oldnew", False),
    ],
)
def test_put_hdfs_conflict_resolution(
    tmp_path: Path, strategy: str, relationship: str, content: bytes, penalized: bool
) -> None:
    (tmp_path / "a.txt").write_bytes(b"old")
    props = {"Directory": str(tmp_path), "Conflict Resolution Strategy": strategy}
    with TestRunner(PutHDFS, props) as runner:
        runner.enqueue(b"new", filename="a.txt")
        runner.run()
        runner.assert_all_transferred(relationship, 1)
        assert runner.transferred(relationship)[0].penalized is penalized
        written = strategy in ("replace", "append")
        assert runner.provenance_types().count("SEND") == (1 if written else 0)
    assert (tmp_path / "a.txt").read_bytes() == content


@pytest.mark.parametrize(
    ("codec", "extension", "unpack"),
    [
        ("GZIP", ".gz", gzip.decompress),
        ("BZIP", ".bz2", bz2.decompress),
        ("DEFAULT", ".deflate", zlib.decompress),
    ],
)
def test_put_hdfs_compresses_with_the_codec_extension(
    tmp_path: Path, codec: str, extension: str, unpack: object
) -> None:
    props = {
        "Directory": str(tmp_path),
        "Compression codec": codec,
        "Writing Strategy": "simpleWrite",
    }
    with TestRunner(PutHDFS, props) as runner:
        runner.enqueue(b"reading " * 1000, filename="r.txt")
        runner.run()
        out = runner.transferred(PutHDFS.SUCCESS)[0]
        assert out.attributes["filename"] == f"r.txt{extension}"
    assert unpack((tmp_path / f"r.txt{extension}").read_bytes()) == b"reading " * 1000  # type: ignore[operator]


@pytest.mark.parametrize(
    ("directory", "filename", "reason"),
    [
        ("{tmp}", "..", "not a plain file name"),
        ("gs://bucket/x", "a.txt", "no filesystem for gs://"),
        ("s3a:///x", "a.txt", "names no bucket"),
    ],
)
def test_put_hdfs_bad_directory_or_filename_fails_without_yielding(
    tmp_path: Path, directory: str, filename: str, reason: str
) -> None:
    with TestRunner(PutHDFS, {"Directory": directory.format(tmp=tmp_path)}) as runner:
        runner.enqueue(b"x", filename=filename)
        runner.run(stop=False)
        runner.assert_all_transferred(PutHDFS.FAILURE, 1)
        assert reason in runner.transferred("failure")[0].attributes["error.message"]
        assert runner.node.context is not None and not runner.node.context.yield_requested


# -- the partitioned layout, the same for the three put processors -------------------------


@pytest.mark.parametrize("processor", [PutFile, PutHDFS, PutParquet])
def test_directory_partitions_by_date_and_host(tmp_path: Path, processor: type[Processor]) -> None:
    properties = {"Directory": f"{tmp_path}/lake/${{now():format('yyyy-MM-dd')}}/${{host}}"}
    if processor is PutParquet:
        properties["record-reader"] = "json"
    with TestRunner(processor, properties) as runner:
        runner.add_service("json", JsonTreeReader(), {})
        before = datetime.now().strftime("%Y-%m-%d")
        for host in ("edge-1", "edge-2"):
            runner.enqueue(READINGS, filename=f"{host}.dat", host=host)
        runner.run()
        after = datetime.now().strftime("%Y-%m-%d")
        runner.assert_all_transferred("success", 2)
    days = os.listdir(tmp_path / "lake")
    assert len(days) == 1 and days[0] in (before, after)
    for host in ("edge-1", "edge-2"):
        assert os.listdir(tmp_path / "lake" / days[0] / host) == [f"{host}.dat"]
