"""Engine throughput: GenerateFlowFile → UpdateAttribute (2 EL) → RouteOnAttribute → drop.

Durable repositories and full provenance on. Prints FlowFiles/s and provenance
events/s, then the same SQLite work done by a plain Python loop (the raw baseline)
and the engine's overhead against it.

    python bench/engine.py [--seconds 5] [--rounds 3] [--batch 1000] [--threads N]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from headwater.engine.controller import FlowController
from headwater.engine.runtime import tune_for_throughput
from headwater.flow.loader import load_flow_dict
from headwater.flow.model import EngineSettings
from headwater.flowfile import FlowFile
from headwater.repository.sqlite import delete_in, insert_rows

FLOW = {
    "flow": "bench-engine",
    "processors": {
        "generate": {
            "type": "GenerateFlowFile",
            "properties": {
                "Batch Size": 1000,
                "File Size": "64 B",
                "Data Format": "Text",
                "sensor": "bme680",
            },
            "schedule": {"period": "0 sec"},
        },
        "update": {
            "type": "UpdateAttribute",
            "properties": {
                "device": "bog-${sensor:toUpper()}",
                "day": "${entryDate:format('yyyy-MM-dd', 'UTC')}",
            },
        },
        "route": {
            "type": "RouteOnAttribute",
            "properties": {"isBme": "${sensor:equals('bme680')}"},
            "auto-terminate": ["isBme", "unmatched"],
        },
    },
    "connections": [
        {"from": "generate", "relationships": ["success"], "to": "update"},
        {"from": "update", "relationships": ["success"], "to": "route"},
    ],
}


def run_engine(seconds: float, batch: int, threads: int) -> tuple[float, float, float]:
    """FlowFiles/s, provenance events/s and CPU microseconds per FlowFile."""
    flow_dict = dict(FLOW, settings={"threads": threads})
    flow_dict["processors"]["generate"]["properties"]["Batch Size"] = batch  # type: ignore[index]
    flow = load_flow_dict(flow_dict, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        controller = FlowController(flow, Path(tmp))
        route = controller.nodes["route"]
        tune_for_throughput()  # as `headwater run` does
        controller.start()
        time.sleep(1.0)  # warm up
        done0 = route.stats.flowfiles_in
        events0 = controller.repositories.provenance.count()
        started, cpu0 = time.perf_counter(), time.process_time()
        time.sleep(seconds)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
        done = route.stats.flowfiles_in - done0
        events = controller.repositories.provenance.count() - events0
        controller.stop()
    return done / elapsed, events / elapsed, cpu / max(done, 1) * 1e6


def run_baseline(seconds: float, batch: int) -> float:
    """The same durable writes per FlowFile with no engine, written the same way (one
    multi-row statement per table and step): rows in, rows moved, rows out, four
    provenance events each, one transaction per step of a batch, same indexes and
    sync settings as the repositories."""
    with tempfile.TemporaryDirectory() as tmp:
        ffdb = sqlite3.connect(Path(tmp) / "ff.db", isolation_level=None)
        pvdb = sqlite3.connect(Path(tmp) / "pv.db", isolation_level=None)
        for db, sync in ((ffdb, "FULL"), (pvdb, "NORMAL")):
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={sync}")
        ffdb.execute("CREATE TABLE ff (seq INTEGER PRIMARY KEY, queue TEXT, record BLOB)")
        ffdb.execute("CREATE INDEX ffq ON ff (queue, seq)")
        pvdb.execute(
            "CREATE TABLE ev (id INTEGER PRIMARY KEY, type INT, time INT, uuid TEXT,"
            " component TEXT, payload BLOB)"
        )
        for column in ("uuid", "component", "type"):
            pvdb.execute(f"CREATE INDEX ev_{column} ON ev ({column})")
        seq = event_id = done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            flowfiles = [FlowFile.create({"sensor": "bme680"}) for _ in range(batch)]
            now = int(time.time() * 1000)
            for step, queue in enumerate(("update", "route", None)):
                rows, deletes = [], []
                for ff in flowfiles:
                    if step:
                        deletes.append(ff.seq)
                    if queue:
                        seq += 1
                        ff.seq = seq
                        rows.append((seq, queue, orjson.dumps((ff.uuid, ff.attributes, 0))))
                ffdb.execute("BEGIN")
                delete_in(ffdb, "DELETE FROM ff WHERE seq", deletes)
                insert_rows(ffdb, "INSERT INTO ff", 3, rows)
                ffdb.execute("COMMIT")
                kinds = (step,) if step < 2 else (step, 9)
                events = []
                for kind in kinds:
                    for ff in flowfiles:
                        event_id += 1
                        payload = orjson.dumps((ff.attributes, ff.claim, ff.size))
                        events.append((event_id, kind, now, ff.uuid, "c", payload))
                pvdb.execute("BEGIN")
                insert_rows(pvdb, "INSERT INTO ev", 6, events)
                pvdb.execute("COMMIT")
            done += batch
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="medians of this many rounds")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--threads", type=int, default=EngineSettings().threads, help="worker threads"
    )
    args = parser.parse_args()
    engine, raw = [], []
    for _ in range(args.rounds):  # interleaved, so a slow spell of the machine hits both
        engine.append(run_engine(args.seconds, args.batch, args.threads))
        raw.append(run_baseline(args.seconds, args.batch))
    flowfiles = statistics.median(r[0] for r in engine)
    events = statistics.median(r[1] for r in engine)
    cpu = statistics.median(r[2] for r in engine)
    baseline = statistics.median(raw)
    spread = ", ".join(f"{r[0]:,.0f}" for r in engine)
    print(
        f"engine:   {flowfiles:10,.0f} FlowFiles/s  {events:10,.0f} provenance events/s"
        f"  {cpu:5.1f} us CPU per FlowFile  (rounds: {spread})"
    )
    print(f"baseline: {baseline:10,.0f} FlowFiles/s  (plain loop, same SQLite writes, one thread)")
    print(
        f"engine / baseline: {flowfiles / baseline:.2f}  (goal: 20,000 FlowFiles/s, 80,000"
        " events/s; NiFi ~30,000 events/s per core)"
    )


if __name__ == "__main__":
    main()
