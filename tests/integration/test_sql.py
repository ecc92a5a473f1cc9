"""PutDatabaseRecord, ExecuteSQL and ExecuteSQLRecord through DBCPConnectionPool, on
SQLite and on a PostgreSQL server started for this module (Debian's binaries)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
import sqlalchemy as sa
from postgres import PostgresServer

from headwater.flow.model import Schedule
from headwater.processors.sql_execute import ExecuteSQL, ExecuteSQLRecord
from headwater.processors.sql_put import ERROR, PutDatabaseRecord
from headwater.services.dbcp import DBCPConnectionPool, sqlalchemy_url
from headwater.services.records.json import JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner

pytestmark = pytest.mark.integration

TABLE = """CREATE TABLE sensor_readings (
    uuid VARCHAR(64) PRIMARY KEY,
    host VARCHAR(8) NOT NULL,
    cputemp INTEGER,
    memory DOUBLE PRECISION,
    bme680_tempc VARCHAR(16),
    vl53l1x_distance_in_mm INTEGER,
    imgname VARCHAR(200)
)"""


def reading(i: int, **changes: Any) -> dict[str, Any]:
    """A record shaped as the seed's sensor_reading.json."""
    uid = f"20190213043439_{i:08d}"
    return {
        "uuid": uid,
        "host": "piups",
        "cputemp": 40 + i % 10,
        "memory": 45.7,
        "bme680_tempc": f"{20 + i % 7}.97",
        "bme680_humidity": "24.678",
        "VL53L1X_distance_in_mm": 553,
        "imgname": f"/opt/demo/images/bog_image_{uid}.jpg",
        **changes,
    }


def lines(records: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with an empty sensor_readings table."""
    if request.param == "sqlite":
        url = f"jdbc:sqlite:{tmp_path / 'readings.db'}"
    else:
        url = request.getfixturevalue("postgres").url
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sensor_readings")
        conn.exec_driver_sql(TABLE)
    engine.dispose()
    yield url


def rows(url: str, sql: str = "SELECT * FROM sensor_readings ORDER BY uuid") -> list[Any]:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def put(url: str, statement: str = "INSERT", **extra: str) -> TestRunner:
    props = {
        "Record Reader": "json",
        "Statement Type": statement,
        "Database Connection Pooling Service": "db",
        "Table Name": "sensor_readings",
        **extra,
    }
    runner = TestRunner(PutDatabaseRecord, props, schedule=Schedule(penalty=0.1))
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("db", DBCPConnectionPool(), {"Database Connection URL": url})
    return runner


def test_ten_thousand_readings_in_and_selected_back(db: str) -> None:
    runner = put(db, **{"Maximum Batch Size": "500"})
    for chunk in range(10):
        runner.enqueue(lines([reading(chunk * 1000 + i) for i in range(1000)]))
    started = time.monotonic()
    runner.run(1)
    put_seconds = time.monotonic() - started
    runner.assert_all_transferred(PutDatabaseRecord.SUCCESS, count=10)
    assert rows(db, "SELECT count(*), count(DISTINCT uuid) FROM sensor_readings") == [
        (10_000, 10_000)
    ]
    assert rows(db)[3] == (
        "20190213043439_00000003", "piups", 43, 45.7, "23.97", 553,
        "/opt/demo/images/bog_image_20190213043439_00000003.jpg",
    )  # fmt: skip
    assert runner.provenance_types().count("SEND") == 10

    select = TestRunner(
        ExecuteSQLRecord,
        {
            "Database Connection Pooling Service": "db",
            "SQL select query": "SELECT * FROM sensor_readings WHERE host = '${host}'"
            " ORDER BY uuid",
            "Max Rows Per Flow File": "2500",
            "Record Writer": "out",
        },
    )
    select.add_service("db", DBCPConnectionPool(), {"Database Connection URL": db})
    select.add_service("out", JsonRecordSetWriter(), {"Output Grouping": "output-oneline"})
    select.enqueue(b"", host="piups")
    select.run()
    outs = select.transferred(ExecuteSQLRecord.SUCCESS)
    assert [o.attributes["executesql.row.count"] for o in outs] == ["2500"] * 4
    assert [o.attributes["fragment.index"] for o in outs] == ["0", "1", "2", "3"]
    back = [json.loads(line) for o in outs for line in o.content.splitlines()]
    assert len(back) == 10_000
    assert back[3]["uuid"] == "20190213043439_00000003" and back[3]["cputemp"] == 43
    assert select.queue_size() == 0
    assert put_seconds < 20


def test_upsert_update_and_delete_find_rows_by_key(db: str) -> None:
    put(db).enqueue(lines([reading(i) for i in range(3)]))
    first = put(db)
    first.enqueue(lines([reading(i) for i in range(3)]))
    first.run()
    upsert = put(db, "UPSERT")
    upsert.enqueue(lines([reading(2, cputemp=99), reading(3, cputemp=77)]))
    upsert.run()
    upsert.assert_all_transferred("success", count=1)
    assert [r[2] for r in rows(db)] == [40, 41, 99, 77]
    update = put(
        db,
        "UPDATE",
        **{"Update Keys": "UUID", "Unmatched Column Behavior": "Ignore Unmatched Columns"},
    )
    update.enqueue(lines([{"uuid": "20190213043439_00000000", "memory": 12.5}]))
    update.run()
    update.assert_all_transferred("success", count=1)
    assert rows(db)[0][3] == 12.5
    delete = put(db, "DELETE", **{"Unmatched Column Behavior": "Ignore Unmatched Columns"})
    delete.enqueue(lines([{"uuid": "20190213043439_00000001"}]))
    delete.enqueue(lines([{"uuid": "20190213043439_00000002"}]), {"statement.type": "DELETE"})
    delete.run()
    assert [r[0][-1] for r in rows(db)] == ["0", "3"]
    by_attribute = put(db, "Use statement.type Attribute")
    by_attribute.enqueue(lines([reading(5)]), {"statement.type": "insert"})
    by_attribute.run()
    assert len(rows(db)) == 3


def test_records_that_do_not_fit_go_to_failure_naming_the_record(db: str) -> None:
    runner = put(db)
    good = [reading(i) for i in range(5)]
    runner.enqueue(lines([*good[:3], {**reading(3), "host": None}, good[4]]))
    runner.enqueue(lines([reading(10), reading(10)]))  # the same key twice
    runner.enqueue(b"{not json")
    runner.run()
    runner.assert_all_transferred(PutDatabaseRecord.FAILURE, count=3)
    reasons = [f.attributes[ERROR] for f in runner.transferred("failure")]
    assert reasons[0].startswith("record 3: ") and "host" in reasons[0].lower()
    assert "unique" in reasons[1].lower() or "duplicate" in reasons[1].lower()
    assert reasons[2]
    assert rows(db) == [], "a FlowFile is one transaction: none of its records is kept"
    strict = put(db, **{"Unmatched Field Behavior": "Fail on Unmatched Fields"})
    strict.enqueue(lines([reading(1)]))
    missing = put(db, **{"Table Name": "no_such_table"})
    missing.enqueue(lines([reading(1)]))
    for runner, expected in ((strict, "for field(s) bme680_humidity"), (missing, "no table")):
        runner.run()
        runner.assert_all_transferred("failure", count=1)
        assert expected in runner.transferred("failure")[0].attributes[ERROR]


def test_a_value_too_long_for_its_column_is_refused_by_postgresql(postgres: Any) -> None:
    url = postgres.url
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sensor_readings")
        conn.exec_driver_sql(TABLE)
    engine.dispose()
    runner = put(url)
    runner.enqueue(lines([reading(0), reading(1, host="a-much-too-long-host-name")]))
    runner.run()
    runner.assert_all_transferred("failure", count=1)
    reason = runner.transferred("failure")[0].attributes[ERROR]
    assert reason == "record 1: value too long for type character varying(8)"


def test_postgresql_stopped_mid_run_keeps_flowfiles_queued_then_delivers(
    postgres: PostgresServer,
) -> None:
    url = postgres.url
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sensor_readings")
        conn.exec_driver_sql(TABLE)
    engine.dispose()
    runner = put(url)
    for chunk in range(4):
        runner.enqueue(lines([reading(chunk * 100 + i) for i in range(100)]))
    runner.run(1, stop=False)
    runner.assert_transferred("success", 4)
    for chunk in range(4, 8):
        runner.enqueue(lines([reading(chunk * 100 + i) for i in range(100)]))
    postgres.stop()
    try:
        runner.run(1, stop=False)
        assert runner.queue_size() == 4, "nothing lost: the FlowFiles wait in the queue"
        runner.assert_transferred("failure", 0)
        assert "database unavailable" in runner.node.bulletins[-1].message
    finally:
        postgres.start()
    time.sleep(0.15)  # the penalty
    runner.run(1)
    runner.assert_transferred("success", 8)
    assert rows(url, "SELECT count(*) FROM sensor_readings") == [(800,)]


def test_execute_sql_writes_avro_and_a_bad_query_goes_to_failure(db: str) -> None:
    loader = put(db)
    loader.enqueue(lines([reading(i) for i in range(5)]))
    loader.run()
    runner = TestRunner(ExecuteSQL, {"Database Connection Pooling Service": "db"})
    runner.add_service("db", DBCPConnectionPool(), {"Database Connection URL": db})
    runner.enqueue("SELECT uuid, cputemp FROM sensor_readings ORDER BY uuid")
    runner.enqueue("SELECT sensor FROM nowhere")
    runner.run(2)
    (out,) = runner.transferred("success")
    records = list(fastavro.reader(io.BytesIO(out.content)))
    assert [r["cputemp"] for r in records] == [40, 41, 42, 43, 44]
    assert out.attributes["executesql.row.count"] == "5"
    (failed,) = runner.transferred("failure")
    assert "nowhere" in failed.attributes["executesql.error.message"]


def test_execute_sql_as_a_source_runs_on_its_schedule(db: str) -> None:
    runner = TestRunner(
        ExecuteSQLRecord,
        {
            "Database Connection Pooling Service": "db",
            "SQL select query": "SELECT count(*) AS n FROM sensor_readings",
            "Record Writer": "out",
        },
    )
    runner.node.incoming.clear()
    runner.add_service("db", DBCPConnectionPool(), {"Database Connection URL": db})
    runner.add_service("out", JsonRecordSetWriter(), {})
    runner.run(2)
    outs = runner.transferred("success")
    assert [json.loads(o.content) for o in outs] == [[{"n": 0}], [{"n": 0}]]
    assert runner.provenance_types().count("RECEIVE") == 2


def test_a_flowfile_without_records_succeeds_and_writes_nothing(db: str) -> None:
    runner = put(db)
    runner.enqueue(b"")
    runner.run()
    runner.assert_all_transferred(PutDatabaseRecord.SUCCESS, count=1)
    assert rows(db) == []


def test_a_query_over_max_wait_time_is_cancelled_by_postgresql(postgres: PostgresServer) -> None:
    runner = TestRunner(
        ExecuteSQL, {"Database Connection Pooling Service": "db", "Max Wait Time": "0.3 sec"}
    )
    runner.add_service("db", DBCPConnectionPool(), {"Database Connection URL": postgres.url})
    runner.enqueue("SELECT pg_sleep(5)")
    started = time.monotonic()
    runner.run()
    assert time.monotonic() - started < 3
    (failed,) = runner.transferred("failure")
    assert "statement timeout" in failed.attributes["executesql.error.message"]
