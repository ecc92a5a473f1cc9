"""QueryRecord: SQL over a FlowFile's records with DuckDB, one relationship per query."""

import json

from headwater.processors.records_query import QueryRecord
from headwater.services.records import JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner


def reading(class1: str, pct1: float, host: str) -> dict[str, object]:
    """Shaped like the seed's model output (image_analytics.json)."""
    return {"class1": class1, "pct1": pct1, "host": host, "class2": "lampshade", "pct2": 2.0}


READINGS = json.dumps(
    [
        reading("cat", 91.5, "edge1"),
        reading("coffeepot", 40.0, "edge1"),
        reading("person", 77.2, "edge2"),
        reading("dog", 66.0, "edge2"),
    ]
).encode()


def query(**queries: str) -> TestRunner:
    runner = TestRunner(QueryRecord, {"record-reader": "json", "record-writer": "out", **queries})
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("out", JsonRecordSetWriter(), {})
    return runner


def test_query_record_routes_cats_and_people_as_the_issue_asks() -> None:
    sql = "SELECT * FROM FLOWFILE WHERE class1='cat' OR class1='person'"
    with query(animals=sql) as runner:
        runner.enqueue(READINGS, filename="m.json")
        runner.run()
        runner.assert_transferred(QueryRecord.ORIGINAL, 1)
        runner.assert_transferred(QueryRecord.FAILURE, 0)
        (out,) = runner.transferred("animals")
        assert [(r["class1"], r["host"]) for r in json.loads(out.content)] == [
            ("cat", "edge1"),
            ("person", "edge2"),
        ]
        assert out.attributes["record.count"] == "2"
        assert out.attributes["QueryRecord.Route"] == "animals"
        assert out.attributes["filename"] == "m.json"
        assert runner.transferred(QueryRecord.ORIGINAL)[0].content == READINGS
        assert runner.provenance_types().count("FORK") == 1


def test_query_record_evaluates_expression_language_per_flowfile() -> None:
    with query(top="SELECT host FROM FLOWFILE WHERE pct1 > ${min} ORDER BY pct1") as runner:
        runner.enqueue(READINGS, min="70")
        runner.enqueue(READINGS, min="90")
        runner.run()
        results = [[r["host"] for r in json.loads(f.content)] for f in runner.transferred("top")]
        assert sorted(results) == [["edge1"], ["edge2", "edge1"]]


def test_query_record_runs_every_query_and_can_skip_empty_results() -> None:
    queries = {"cats": "SELECT * FROM FLOWFILE WHERE class1 = 'cat'"}
    queries["birds"] = "SELECT * FROM FLOWFILE WHERE class1 = 'bird'"
    with query(**queries, **{"include-zero-record-flowfiles": "false"}) as runner:
        runner.enqueue(READINGS)
        runner.run()
        runner.assert_transferred("cats", 1)
        runner.assert_transferred("birds", 0)
        runner.assert_transferred(QueryRecord.ORIGINAL, 1)


def test_query_record_sends_bad_sql_or_bad_input_to_failure() -> None:
    with query(broken="SELECT nope FROM FLOWFILE") as runner:
        runner.enqueue(READINGS)
        runner.enqueue(b"[{")
        runner.run()
        runner.assert_all_transferred(QueryRecord.FAILURE, 2)
        reasons = [f.attributes["record.error.message"] for f in runner.transferred("failure")]
        assert any("nope" in reason for reason in reasons)


def test_query_record_needs_a_query() -> None:
    with query() as runner:
        assert any("needs at least one query" in p for p in runner.problems())
