"""The seed's job branch, whole, in the engine: GenerateFlowFile (50 empty FlowFiles)
→ InvokeHTTP POST .../jobs/4/start (Basic auth, JSON, empty body) against a jobs API on
127.0.0.1 → FlattenJson (``.``, dot notation) → UpdateAttribute ``schema.name`` →
JoltTransformJSON (the seed's chain) → ConvertRecord (JSON → Avro, schema ``jobstatus``
from an AvroSchemaRegistry) → PutFile, and → MergeRecord (50 records → Parquet) →
PutFile.

The Avro of the first run equals ``jobstatus_transformed.json`` read by fastavro with
``jobstatus.avsc``; the one Parquet file holds the 50 runs and reads the same in
pyarrow, DuckDB and Spark.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import fastavro
import pyarrow.parquet as pq
import pytest
from flowharness import Hub, RunFlow, poll, seed_path

pytestmark = pytest.mark.e2e

RUNS = 50
API_KEY = "uu1ltbtc5jmo7s2dgtkvlhbaxq7iw2v8"
START = "/api/v1/projects/tspann/future-of-data-meetup-princeton-12-feb-2019/jobs/4/start"


class _JobsApi(ThreadingHTTPServer):
    """Answers each start of job 4 with the seed's response, ``total_runs`` counting up
    from the seed's 108, so every run is a different record."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _JobsHandler)
        self.response = json.loads(seed_path("cdsw_job_start_response.json").read_text())
        self.starts = 0
        self.refused = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{START}"


class _JobsHandler(BaseHTTPRequestHandler):
    server: _JobsApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
        ok = (
            self.path == START
            and self.headers.get("Authorization") == expected
            and self.headers.get("Content-Type") == "application/json"
            and body == b""
        )
        with self.server.lock:
            if ok:
                run = {**self.server.response}
                run["total_runs"] = run["total_runs"] + self.server.starts
                self.server.starts += 1
            else:
                self.server.refused += 1
        reply = json.dumps(run).encode() if ok else b'{"message": "bad request"}'
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def jobs_api() -> Iterator[_JobsApi]:
    server = _JobsApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def job_flow(url: str, out: Path) -> dict[str, Any]:
    by_name = {"schema-access-strategy": "schema-name", "schema-registry": "registry"}
    dead_letter = ["failure", "Failure", "Retry", "No Retry"]
    return {
        "flow": "job-status",
        "services": {
            "registry": {
                "type": "AvroSchemaRegistry",
                "properties": {"jobstatus": seed_path("jobstatus.avsc").read_text()},
            },
            "json-reader": {"type": "JsonTreeReader", "properties": by_name},
            "avro-writer": {"type": "AvroRecordSetWriter", "properties": by_name},
            "parquet-writer": {"type": "ParquetRecordSetWriter", "properties": by_name},
        },
        "processors": {
            "every-300s": {
                "type": "GenerateFlowFile",
                "properties": {"File Size": "0 B", "Batch Size": str(RUNS)},
                "schedule": {"period": "1 hour"},
            },
            "start-job": {
                "type": "InvokeHTTP",
                "properties": {
                    "HTTP Method": "POST",
                    "Remote URL": url,
                    "Basic Authentication Username": API_KEY,
                    "Content-Type": "application/json",
                    "send-message-body": "true",
                    "Use Chunked Encoding": "false",
                },
                "auto-terminate": ["Original"],
            },
            "flatten": {
                "type": "FlattenJson",
                "properties": {"flatten-json-separator": ".", "flatten-mode": "dot notation"},
            },
            "schema-name": {"type": "UpdateAttribute", "properties": {"schema.name": "jobstatus"}},
            "cleanup": {
                "type": "JoltTransformJSON",
                "properties": {
                    "jolt-transform": "jolt-transform-chain",
                    "jolt-spec": seed_path("jolt_cleanup_jobstatus.json").read_text(),
                },
            },
            "to-avro": {
                "type": "ConvertRecord",
                "properties": {"record-reader": "json-reader", "record-writer": "avro-writer"},
            },
            "put-avro": {
                "type": "PutFile",
                "properties": {"Directory": str(out / "avro")},
                "auto-terminate": ["success"],
            },
            "merge": {
                "type": "MergeRecord",
                "properties": {
                    "record-reader": "json-reader",
                    "record-writer": "parquet-writer",
                    "min-records": str(RUNS),
                    "max-records": str(RUNS),
                    "max-bin-age": "5 min",
                },
                "auto-terminate": ["original"],
            },
            "name-parquet": {
                "type": "UpdateAttribute",
                "properties": {"filename": "jobstatus-${uuid}.parquet"},
            },
            "put-parquet": {
                "type": "PutFile",
                "properties": {"Directory": str(out / "parquet")},
                "auto-terminate": ["success"],
            },
            "dead-letter": {"type": "UpdateAttribute", "enabled": False},
        },
        "connections": [
            {"from": "every-300s", "relationships": ["success"], "to": "start-job"},
            {"from": "start-job", "relationships": ["Response"], "to": "flatten"},
            {"from": "flatten", "relationships": ["success"], "to": "schema-name"},
            {"from": "schema-name", "relationships": ["success"], "to": "cleanup"},
            {"from": "cleanup", "relationships": ["success"], "to": "to-avro"},
            {"from": "cleanup", "relationships": ["success"], "to": "merge"},
            {"from": "to-avro", "relationships": ["success"], "to": "put-avro"},
            {"from": "merge", "relationships": ["merged"], "to": "name-parquet"},
            {"from": "name-parquet", "relationships": ["success"], "to": "put-parquet"},
            *(
                {"id": f"{source}-failed", "from": source, "relationships": rels, "to": sink}
                for source, rels, sink in [
                    ("start-job", dead_letter[1:], "dead-letter"),
                    ("flatten", ["failure"], "dead-letter"),
                    ("cleanup", ["failure"], "dead-letter"),
                    ("to-avro", ["failure"], "dead-letter"),
                    ("put-avro", ["failure"], "dead-letter"),
                    ("merge", ["failure"], "dead-letter"),
                    ("put-parquet", ["failure"], "dead-letter"),
                ]
            ),
            {"from": "dead-letter", "relationships": ["success"], "to": "dead-letter"},
        ],
    }


def dead_letters(hub: Hub) -> int:
    return sum(hub.queued(c) for c in hub.controller.connections if c.endswith("-failed"))


def test_job_status_path_to_avro_and_one_parquet_file_of_fifty_runs(
    run_flow: RunFlow, jobs_api: _JobsApi, tmp_path: Path, spark: Any
) -> None:
    out = tmp_path / "lake"
    hub = run_flow(job_flow(jobs_api.url, out))

    def files(directory: str) -> list[Path]:
        """The files PutFile finished in ``out/directory`` (not its hidden temporaries)."""
        found = (out / directory).glob("*")
        return sorted(p for p in found if not p.name.startswith("."))

    def written() -> bool:
        return len(files("avro")) == RUNS and len(files("parquet")) == 1

    poll(written, timeout=60, what=f"{RUNS} Avro files and one Parquet file")
    assert dead_letters(hub) == 0, hub.status()["connections"]
    assert jobs_api.starts == RUNS and jobs_api.refused == 0

    # Each Avro file: one record, the seed's transformed record, fit to jobstatus.avsc.
    expected = json.loads(seed_path("jobstatus_transformed.json").read_text())
    schema = fastavro.parse_schema(json.loads(seed_path("jobstatus.avsc").read_text()))
    records = []
    for path in files("avro"):
        with path.open("rb") as stream:
            reader = fastavro.reader(stream, reader_schema=schema)
            assert reader.writer_schema["name"] == "jobstatus"
            records.extend(reader)
    assert len(records) == RUNS
    runs = sorted(r["total_runs"] for r in records)
    assert runs == list(range(expected["total_runs"], expected["total_runs"] + RUNS))
    first = next(r for r in records if r["total_runs"] == expected["total_runs"])
    assert first == expected
    assert all({**r, "total_runs": expected["total_runs"]} == expected for r in records)

    # The Parquet file: the 50 runs, every column of the schema, as pyarrow reads it.
    (parquet,) = files("parquet")
    table = pq.read_table(parquet)
    assert table.num_rows == RUNS
    assert table.column_names == list(expected)
    assert sorted(table.column("total_runs").to_pylist()) == runs
    assert str(table.schema.field("id").type) == "int32"
    assert str(table.schema.field("paused").type) == "bool"
    by_run = sorted(table.to_pylist(), key=lambda r: r["total_runs"])
    assert by_run == sorted(records, key=lambda r: r["total_runs"]), "the same as the Avro"

    # DuckDB reads the same.
    con = duckdb.connect()
    try:
        count, low, high, statuses = con.execute(
            "SELECT count(*), min(total_runs), max(total_runs), list(DISTINCT latest_status)"
            f" FROM read_parquet('{parquet}')"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    assert (count, low, high, statuses) == (RUNS, runs[0], runs[-1], ["scheduling"])

    # And Spark.
    frame = spark.read.parquet(str(parquet))
    assert frame.count() == RUNS
    assert frame.columns == list(expected)
    spark_runs = sorted(r["total_runs"] for r in frame.select("total_runs").collect())
    assert spark_runs == runs
    row = frame.where(f"total_runs = {expected['total_runs']}").collect()[0].asDict()
    assert row == expected

    # Provenance: the 50 runs joined into the merged FlowFile.
    (join,) = hub.events(type="JOIN", component="merge")
    assert len(join["parentUuids"]) == RUNS
