"""The seed's sensor branch, whole, from its flow file (YAML): 10,000 readings shaped
like ``sensor_reading.json`` (numbers sent as text, as the devices send them) POSTed
concurrently to ListenHTTP, 1,000 one per request as a device sends them and 9,000 in
requests of 100 as a batching agent would → MergeRecord (JsonTreeReader with the
``sensor`` schema from an AvroSchemaRegistry → ParquetRecordSetWriter) → PutParquet.

Every 200 comes after its request was committed; the Parquet files hold exactly the
10,000 readings (no loss, no duplicates: the uuids match), typed by the schema (double
and long, not text), and pyarrow, DuckDB and Spark read the same.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flowharness import SENSOR_SCHEMA, Hub, RunFlow, poll, seed_path

pytestmark = pytest.mark.e2e

READINGS = 10_000
SINGLE = 1_000  # readings sent one per request; the rest go 100 per request
BATCH = 100
CONCURRENCY = 8


def readings(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Readings like the seed's: the same fields and the same JSON types (text for most
    numbers, an int cputemp, a float memory), with varied hosts, values and uuids."""
    rng = random.Random(seed)
    template = json.loads(seed_path("sensor_reading.json").read_text())
    out = []
    for i in range(count):
        stamp = f"201902130{rng.randrange(10)}{rng.randrange(60):02d}{rng.randrange(60):02d}"
        ident = f"{stamp}_{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        tempc = rng.uniform(15, 30)
        out.append(
            {
                **template,
                "uuid": ident,
                "host": f"piups-{i % 7}",
                "te": f"{rng.uniform(100, 900):.13f}",
                "BH1745_clear": f"{rng.uniform(0, 50):.1f}",
                "imgname": f"/opt/demo/images/bog_image_{ident}.jpg",
                "imgnamep": f"/opt/demo/images/bog_image_p_{ident}.jpg",
                "cputemp": rng.randrange(35, 80),
                "memory": round(rng.uniform(20, 90), 1),
                "bme680_tempc": f"{tempc:.2f}",
                "bme680_tempf": f"{tempc * 9 / 5 + 32:.2f}",
                "bme680_pressure": f"{rng.uniform(990, 1030):.2f}",
                "bme680_humidity": f"{rng.uniform(10, 90):.3f}",
                "ltr559_prox": f"{rng.randrange(10000):04d}",
                "VL53L1X_distance_in_mm": rng.randrange(30, 2000),
                "end": f"{1550032479.39 + i:.7f}",
            }
        )
    return out


SENSOR_FLOW = """
flow: sensors-to-parquet
parameters:
  lake: /tmp/lake/sensors
  sensor_schema: "{}"
services:
  registry:
    type: AvroSchemaRegistry
    properties: {sensor: "#{sensor_schema}"}
  json-reader:
    type: JsonTreeReader
    properties: {schema-access-strategy: schema-name, schema-registry: registry,
                 schema-name: sensor}
  parquet-writer:
    type: ParquetRecordSetWriter
    properties: {schema-access-strategy: schema-name, schema-registry: registry,
                 schema-name: sensor}
  parquet-reader: {type: ParquetReader}
processors:
  listen:
    type: ListenHTTP
    properties: {Listening Port: 0, Base Path: contentListener}
  merge:
    type: MergeRecord
    properties: {record-reader: json-reader, record-writer: parquet-writer,
                 min-records: 4000, max-records: 4000, max-bin-age: 1 sec}
    auto-terminate: [original]
  name:
    type: UpdateAttribute
    properties: {filename: "sensors-${uuid}.parquet"}
  put-parquet:
    type: PutParquet
    properties: {Directory: "#{lake}", record-reader: parquet-reader}
    auto-terminate: [success]
  dead-letter: {type: UpdateAttribute, enabled: false}
connections:
  - {id: received, from: listen, relationships: [success], to: merge}
  - {from: merge, relationships: [merged], to: name}
  - {from: name, relationships: [success], to: put-parquet}
  - {id: merge-failed, from: merge, relationships: [failure], to: dead-letter}
  - {id: put-failed, from: put-parquet, relationships: [failure, retry], to: dead-letter}
  - {from: dead-letter, relationships: [success], to: dead-letter}
"""
"""The seed's sensor flow, as a flow file; the schema and the lake are parameters."""


async def post_all(url: str, bodies: list[bytes], committed: Any) -> list[int]:
    """POST each body, ``CONCURRENCY`` at a time; check after each answer that the
    listener had committed at least as many FlowFiles as answers came back."""
    answered = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: list[int] = []
    early: list[tuple[int, int]] = []

    async def device(client: httpx.AsyncClient) -> None:
        nonlocal answered
        while not queue.empty():
            body = queue.get_nowait()
            answer = await client.post(url, content=body)
            statuses.append(answer.status_code)
            answered += 1
            if committed() < answered:
                early.append((answered, committed()))

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:
        await asyncio.gather(*(device(client) for _ in range(CONCURRENCY)))
    assert not early, f"answered before commit (answers, committed): {early[:5]}"
    return statuses


def parquet_files(lake: Path) -> list[Path]:
    return sorted(p for p in lake.glob("*.parquet") if not p.name.startswith("."))


def rows_in(lake: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_files(lake))


def queues_empty(hub: Hub) -> bool:
    return hub.controller.queued() == 0 and hub.settled("listen", "merge", "name", "put-parquet")


def test_ten_thousand_readings_over_http_land_once_each_in_parquet(
    run_flow: RunFlow, tmp_path: Path, spark: Any
) -> None:
    lake = tmp_path / "lake" / "sensors"
    parameters = {"lake": str(lake), "sensor_schema": SENSOR_SCHEMA.read_text()}
    hub = run_flow(SENSOR_FLOW, parameters=parameters)
    listen = hub.controller.nodes["listen"]
    poll(lambda: listen.processor.server is not None, what="ListenHTTP to listen")  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{listen.processor.server.port}/contentListener"  # type: ignore[attr-defined]
    sent = readings(READINGS)
    bodies = [json.dumps(r).encode() for r in sent[:SINGLE]]
    bodies += [json.dumps(sent[i : i + BATCH]).encode() for i in range(SINGLE, READINGS, BATCH)]
    random.Random(3).shuffle(bodies)

    statuses = asyncio.run(post_all(url, bodies, lambda: listen.stats.flowfiles_out))
    assert statuses == [200] * len(bodies), {s: statuses.count(s) for s in set(statuses)}

    poll(lambda: rows_in(lake) >= READINGS and queues_empty(hub), timeout=60, what="Parquet")
    assert hub.queued("merge-failed") == 0 and hub.queued("put-failed") == 0
    files = parquet_files(lake)
    sizes = [pq.ParquetFile(p).metadata.num_rows for p in files]
    assert len(files) >= 3 and max(sizes) < 4000 + BATCH, sizes  # bins of max-records
    assert not [p for p in lake.iterdir() if p.name.startswith(".")], "no temporary file left"

    # pyarrow: exactly the readings sent, each once, typed by the schema.
    table = pa.concat_tables([pq.read_table(p) for p in files])
    assert table.num_rows == READINGS
    uuids = table.column("uuid").to_pylist()
    assert len(set(uuids)) == READINGS, "no duplicates"
    assert set(uuids) == {r["uuid"] for r in sent}, "no loss"
    schema = table.schema
    for name in ("bme680_tempc", "bme680_humidity", "te", "memory", "end", "ltr559_lux"):
        assert schema.field(name).type == pa.float64(), name
    for name in ("cputemp", "ltr559_prox", "VL53L1X_distance_in_mm"):
        assert schema.field(name).type == pa.int64(), name
    assert schema.field("host").type == pa.string()
    by_uuid = {row["uuid"]: row for row in table.to_pylist()}
    for reading in sent[:: READINGS // 50]:
        row = by_uuid[reading["uuid"]]
        assert row["bme680_tempc"] == float(reading["bme680_tempc"])
        assert row["ltr559_prox"] == int(reading["ltr559_prox"])
        assert row["cputemp"] == reading["cputemp"]
        assert row["lsm303d_accelerometer"] == reading["lsm303d_accelerometer"]
        assert row["host"] == reading["host"]

    # DuckDB over the same files.
    glob = str(lake / "sensors-*.parquet")
    con = duckdb.connect()
    try:
        count, distinct, hosts, hottest = con.execute(
            "SELECT count(*), count(DISTINCT uuid), count(DISTINCT host), max(bme680_tempc)"
            f" FROM read_parquet('{glob}')"
        ).fetchone()  # type: ignore[misc]
        kind = con.execute(
            f"SELECT typeof(bme680_tempc), typeof(cputemp) FROM read_parquet('{glob}') LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert (count, distinct, hosts) == (READINGS, READINGS, 7)
    assert hottest == max(float(r["bme680_tempc"]) for r in sent)
    assert kind == ("DOUBLE", "BIGINT")

    # Spark, as the seed's PySpark job reads /tmp/sensors/*.parquet.
    frame = spark.read.parquet(glob)
    assert frame.count() == READINGS
    assert frame.select("uuid").distinct().count() == READINGS
    types = dict(frame.dtypes)
    assert (types["bme680_tempc"], types["cputemp"], types["host"]) == (
        "double",
        "bigint",
        "string",
    )
    per_host = {r["host"]: r["count"] for r in frame.groupBy("host").count().collect()}
    assert per_host == {
        f"piups-{h}": sum(1 for i in range(READINGS) if i % 7 == h) for h in range(7)
    }

    # One FlowFile, and one RECEIVE with the listener's URL, per request.
    assert listen.stats.flowfiles_out == len(bodies)
    receives = hub.events(type="RECEIVE", component="listen")
    assert len(receives) == len(bodies)
    assert {e["transitUri"] for e in receives} == {url}
