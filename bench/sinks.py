"""Sinks against bare clients, in the same run, on loopback.

(a) PutDatabaseRecord into PostgreSQL (a server started for the run, as the tests do):
    sensor readings as JSON lines, read by JsonTreeReader and inserted in executemany
    batches, one transaction per FlowFile; against psycopg's bare ``executemany`` and
    ``COPY`` of the same rows. The issue asks for rows/s beside the bare figure.
(b) PublishKafka of the same readings, one message per line, transactions and
    idempotence on (the processor's defaults), against a bare confluent-kafka producer
    sending the same bytes with the same settings. Goal: at least 80% of the bare rate.

Each figure is the best of ``--repeat`` runs; the machine is shared, so read sizes.

    python bench/sinks.py [--rows 50000] [--repeat 5] [--only sql|kafka]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from postgres import PostgresServer

from headwater.processors.kafka_publish import PublishKafka
from headwater.processors.sql_put import PutDatabaseRecord
from headwater.services.dbcp import DBCPConnectionPool
from headwater.services.records.json import JsonTreeReader
from headwater.testing import TestRunner

PER_FLOWFILE = 5000
TABLE = """CREATE TABLE sensor_readings (uuid VARCHAR(64) PRIMARY KEY, host VARCHAR(16),
    cputemp INTEGER, memory DOUBLE PRECISION, bme680_tempc VARCHAR(16),
    bme680_humidity VARCHAR(16), imgname VARCHAR(200))"""


def readings(count: int) -> list[dict[str, Any]]:
    return [
        {
            "uuid": f"20190213043439_{i:010d}",
            "host": "piups",
            "cputemp": 40 + i % 10,
            "memory": 45.7,
            "bme680_tempc": f"{20 + i % 7}.97",
            "bme680_humidity": "24.678",
            "imgname": f"/opt/demo/images/bog_image_20190213043439_{i:010d}.jpg",
        }
        for i in range(count)
    ]


def chunks(rows: list[dict[str, Any]]) -> list[bytes]:
    return [
        "\n".join(json.dumps(r) for r in rows[i : i + PER_FLOWFILE]).encode()
        for i in range(0, len(rows), PER_FLOWFILE)
    ]


def best(repeat: int, *runs: Callable[[], float]) -> list[float]:
    """The best time of each, run in turns so that both see the same noisy machine."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for index, run in enumerate(runs):
            times[index].append(run())
    return [min(t) for t in times]


def bench_sql(rows: list[dict[str, Any]], repeat: int) -> None:
    import psycopg

    server = PostgresServer()
    dsn = f"host=127.0.0.1 port={server.port} user=headwater dbname=postgres"
    contents = chunks(rows)

    def fresh() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS sensor_readings")
            conn.execute(TABLE)

    def processor() -> float:
        fresh()
        runner = TestRunner(
            PutDatabaseRecord,
            {
                "Record Reader": "json",
                "Statement Type": "INSERT",
                "Database Connection Pooling Service": "db",
                "Table Name": "sensor_readings",
            },
        )
        runner.add_service("json", JsonTreeReader(), {})
        runner.add_service("db", DBCPConnectionPool(), {"Database Connection URL": server.url})
        runner.enqueue(json.dumps({**rows[0], "uuid": "warm-up"}))
        runner.run(1, stop=False)  # connected, table read: what a running flow has
        for content in contents:
            runner.enqueue(content)
        started = time.perf_counter()
        runner.run(-(-len(contents) // 10))
        elapsed = time.perf_counter() - started
        runner.assert_all_transferred("success", count=len(contents) + 1)
        runner.close()
        return elapsed

    columns = list(rows[0])
    insert = (
        f"INSERT INTO sensor_readings ({', '.join(columns)})"
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )

    def bare_executemany() -> float:
        fresh()
        started = time.perf_counter()
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            for start in range(0, len(rows), PER_FLOWFILE):
                batch = [tuple(r.values()) for r in rows[start : start + PER_FLOWFILE]]
                cursor.executemany(insert, batch)
                conn.commit()
        return time.perf_counter() - started

    def bare_copy() -> float:
        fresh()
        started = time.perf_counter()
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY sensor_readings ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row.values()))
            conn.commit()
        return time.perf_counter() - started

    try:
        ours, many, copied = best(repeat, processor, bare_executemany, bare_copy)
    finally:
        server.close()
    n = len(rows)
    print(f"PutDatabaseRecord (JSON -> PostgreSQL)  {n / ours:>10,.0f} rows/s")
    print(f"bare psycopg executemany               {n / many:>10,.0f} rows/s")
    print(f"bare psycopg COPY                      {n / copied:>10,.0f} rows/s")
    print(f"PutDatabaseRecord at {many / ours:.0%} of executemany, {copied / ours:.0%} of COPY")


def bench_kafka(rows: list[dict[str, Any]], repeat: int) -> None:
    from confluent_kafka import Producer
    from test_kafka import Tansu

    broker = Tansu()
    contents = chunks(rows)
    messages = [line for content in contents for line in content.split(b"\n")]
    topic_count = [0]

    def topic() -> str:
        topic_count[0] += 1
        name = f"bench{topic_count[0]}"
        broker.create_topic(name)
        return name

    def processor() -> float:
        name = topic()
        runner = TestRunner(
            PublishKafka,
            {"Kafka Brokers": broker.servers, "Topic Name": name, "Message Demarcator": "\\n"},
        )
        runner.enqueue(b"warm-up")
        runner.run(1, stop=False)  # the producer connected, as in a running flow
        for content in contents:
            runner.enqueue(content)
        started = time.perf_counter()
        runner.run(1, stop=False)
        elapsed = time.perf_counter() - started
        runner.assert_all_transferred("success", count=len(contents) + 1)
        runner.close()
        return elapsed

    def bare() -> float:
        name = topic()
        producer = Producer(
            {
                "bootstrap.servers": broker.servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "transactional.id": f"bare-{name}",
            }
        )
        producer.init_transactions(10)
        producer.begin_transaction()  # warm up as PublishKafka is: the topic's leader known
        producer.produce(name, b"warm-up")
        producer.commit_transaction(10)
        started = time.perf_counter()
        producer.begin_transaction()
        for index, message in enumerate(messages):
            while True:
                try:
                    producer.produce(name, message)
                    break
                except BufferError:
                    producer.poll(0.1)
            if index % 5000 == 0:  # as PublishKafka serves the event queue, per FlowFile
                producer.poll(0)
        producer.flush(30)
        producer.commit_transaction(30)
        return time.perf_counter() - started

    try:
        ours, theirs = best(repeat, processor, bare)
    finally:
        broker.stop()
    n = len(messages)
    print(f"PublishKafka (lines → messages)        {n / ours:>10,.0f} records/s")
    print(
        f"bare confluent-kafka producer          {n / theirs:>10,.0f} records/s"
        f"   PublishKafka at {theirs / ours:.0%} of it (goal 80%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("sql", "kafka"))
    args = parser.parse_args()
    rows = readings(args.rows)
    if args.only in (None, "sql"):
        bench_sql(rows, args.repeat)
    if args.only in (None, "kafka"):
        bench_kafka(rows, args.repeat)


if __name__ == "__main__":
    main()
