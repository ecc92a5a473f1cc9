"""The dashboards' queries over a lake of 10 million readings, against DuckDB reading
the same Parquet files directly, in the same run.

The lake (built once, then reused from ``--lake``): ``--readings`` readings of
``--devices`` devices, one reading a second each, in files of ``--rows-per-file`` rows
in ``sensors/<yyyy-MM-dd>/`` (as flows/edge-to-ai.yaml writes them, with sensor.avsc's
columns), ``--images`` image rows spread over the same span in ``images/<day>/``, and a
few job status rows. Written with vectorized pyarrow, it takes well under two minutes.

Each page's data is timed through ``headwater.dashboards.Lake`` (a fresh database in a
temporary folder): first the initial load of the whole lake into DuckDB, then each
query once cold (its first run) and ``--repeat`` times warm (the median). The raw
baseline is the same query as DuckDB SQL over ``read_parquet`` of the files (the
median of ``--raw-repeat`` runs); the ratio is raw / ours. Goal: every page's data in
under 300 ms.

    python bench/dashboards.py [--lake /tmp/headwater-dash-lake] [--readings 10000000]
        [--devices 6] [--images 3000] [--repeat 10] [--raw-repeat 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from headwater.dashboards import FIELDS, Lake
from headwater.dashboards.buckets import bucket_width

GOAL_MS = 300.0
START_MS = 1_788_000_000_000  # 2026-08-29T10:40:00Z
LABELS = np.array(["coffeepot", "spotlight", "lampshade", "fountain", "breastplate", "tabby"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", type=Path, default=Path("/tmp/headwater-dash-lake"))
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=6, choices=range(3, 11))
    parser.add_argument("--rows-per-file", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--raw-repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="build the lake again")
    args = parser.parse_args()
    build_lake(args)
    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        measure(args, Path(tmp) / "dashboards.duckdb")


# -- the lake ------------------------------------------------------------------------


def build_lake(args: argparse.Namespace) -> None:
    marker = args.lake / "bench.json"
    wanted = {
        "readings": args.readings,
        "devices": args.devices,
        "rows_per_file": args.rows_per_file,
        "images": args.images,
        "start": START_MS,
    }
    if not args.rebuild and marker.is_file() and json.loads(marker.read_text()) == wanted:
        print(f"lake: reusing {args.lake} ({args.readings:,} readings)")
        return
    if args.lake.exists():
        shutil.rmtree(args.lake)
    began = time.perf_counter()
    rng = np.random.default_rng(7)
    hosts = np.array([f"piups{n}" for n in range(args.devices)])
    step_ms = 1000 / args.devices  # each device reads once a second
    image_every = max(1, args.readings // max(1, args.images))
    images: list[pa.Table] = []
    for index, first in enumerate(range(0, args.readings, args.rows_per_file)):
        rows = np.arange(first, min(first + args.rows_per_file, args.readings))
        table = readings_table(rows, hosts, step_ms, rng)
        day = day_of(int(rows[0] * step_ms) + START_MS)
        write(args.lake / "sensors" / day / f"sensors-{index:06d}.parquet", table)
        taken = rows % image_every == 0
        if taken.any():
            images.append(images_table(table.filter(pa.array(taken)), rng))
    all_images = pa.concat_tables(images)
    days = pc.strftime(pc.cast(all_images["time"], pa.timestamp("ms", "UTC")), "%Y-%m-%d")
    for day in pc.unique(days).to_pylist():
        part = all_images.filter(pc.equal(days, day))
        write(args.lake / "images" / day / f"images-{day}.parquet", part)
    for run in range(3):
        status = pa.table({"id": [1, 2], "latest_status": ["succeeded", "succeeded"]})
        write(args.lake / "jobstatus" / f"jobstatus-{run}.parquet", status)
    marker.write_text(json.dumps(wanted))
    elapsed = time.perf_counter() - began
    print(
        f"lake: built {args.readings:,} readings of {args.devices} devices and"
        f" {all_images.num_rows:,} images in {args.lake} in {elapsed:.1f} s"
    )


def readings_table(
    rows: np.ndarray, hosts: np.ndarray, step_ms: float, rng: np.random.Generator
) -> pa.Table:
    """Readings ``rows`` (global row numbers), as sensor.avsc types them."""
    n = len(rows)
    millis = START_MS + (rows * step_ms).astype(np.int64) + rng.integers(0, 50, n)
    stamp = pa.array(millis, pa.timestamp("ms", "UTC"))
    ids = pc.binary_join_element_wise(
        pc.strftime(stamp, "%Y%m%d%H%M%S"), pa.array(rows).cast(pa.string()), "_"
    )
    hour = (millis // 3_600_000) % 24
    daylight = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    return pa.table(
        {
            "uuid": ids,
            "host": pa.array(hosts[rows % len(hosts)]),
            "imgname": pc.binary_join_element_wise("/opt/demo/images/bog_image_", ids, ".jpg", ""),
            "cputemp": pa.array(45 + rng.integers(-5, 15, n), pa.int64()),
            "systemtime": pc.strftime(stamp, "%m/%d/%Y %H:%M:%S"),
            "memory": 40 + rng.random(n) * 20,
            "bme680_tempc": 18 + 6 * daylight + rng.normal(0, 0.3, n),
            "bme680_tempf": 64 + 11 * daylight + rng.normal(0, 0.5, n),
            "bme680_pressure": 1000 + rng.normal(0, 2, n),
            "bme680_humidity": 40 - 10 * daylight + rng.normal(0, 1, n),
            "ltr559_lux": 500 * daylight + rng.random(n),
            "ltr559_prox": pa.array(rng.integers(0, 10, n), pa.int64()),
            "diskusage": 9000 + rng.random(n) * 100,
            "ipaddress": pa.array(np.full(n, "192.168.1.166")),
            "te": rng.random(n),
            "end": millis / 1000,
        }
    )


def images_table(readings: pa.Table, rng: np.random.Generator) -> pa.Table:
    """The images taken with ``readings``, as image.avsc types them."""
    n = readings.num_rows
    names = pc.utf8_slice_codeunits(readings["imgname"], len("/opt/demo/images/"))
    person = rng.random(n) < 0.2
    detections = np.where(
        person,
        '[{"label": "person", "confidence": 0.81, "box": [12, 30, 120, 200]}]',
        '[{"label": "chair", "confidence": 0.55, "box": [200, 40, 80, 90]}]',
    )
    columns: dict[str, Any] = {
        "filename": names,
        "host": readings["host"],
        "uuid": readings["uuid"],
        "time": pc.cast(pc.round(pc.multiply(readings["end"], 1000)), pa.int64()),
        "url": pc.binary_join_element_wise("ftp://127.0.0.1:2121/images/", names, ""),
    }
    for k in range(1, 6):
        columns[f"label_{k}"] = pa.array(LABELS[rng.integers(0, len(LABELS), n)])
    for k in range(1, 6):
        columns[f"probability_{k}"] = pa.array([f"{40 / k:.2f}%"] * n)
    columns["detections"] = pa.array(detections)
    columns["person"] = pa.array(person)
    return pa.table(columns)


def day_of(millis: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(millis / 1000))


def write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


# -- the measurements ----------------------------------------------------------------


def measure(args: argparse.Namespace, database: Path) -> None:
    lake = Lake(args.lake, database=database, refresh_seconds=3600)
    try:
        began = time.perf_counter()
        report = lake.refresh(force=True)
        load_s = time.perf_counter() - began
        assert report is not None
        size = database.stat().st_size / 2**20
        print(
            f"initial load into DuckDB: {report.files:,} files, {report.rows:,} rows in"
            f" {load_s:.1f} s ({report.rows / load_s:,.0f} rows/s; database {size:.0f} MB)"
        )
        ours, raw = pages(lake, args.lake)
        rows = []
        for name, query in ours.items():
            cold, warm = timed(query, args.repeat)
            _, raw_warm = timed(raw[name], args.raw_repeat)
            rows.append((name, cold, warm, raw_warm))
        check(lake, args)
    finally:
        lake.close()
    print_table(rows, args)


def pages(lake: Lake, root: Path) -> tuple[dict[str, Callable[[], Any]], dict[str, Any]]:
    """Each page's query through the Lake, and the same over read_parquet."""
    devices = lake.devices()
    host, last = devices[0]["host"], devices[0]["last"]
    first = devices[0]["first"]
    hour_ago = last - 3_600_000
    newest_images = lake.images(limit=1)
    ours: dict[str, Callable[[], Any]] = {
        "devices": lake.devices,
        "readings, all time": lambda: lake.readings(host, points=300),
        "readings, last hour": lambda: lake.readings(host, since=hour_ago, points=300),
        "images (24)": lambda: lake.images(limit=24),
        "joined (100)": lambda: lake.joined(limit=100),
        "summary": lake.summary,
        "whole page (5 calls)": lambda: (
            lake.summary(),
            lake.devices(),
            lake.readings(host, points=300),
            lake.images(host=host, limit=12),
            lake.joined(host=host, limit=50),
        ),
    }
    con = duckdb.connect(config={"threads": 2})
    sensors = f"read_parquet('{root}/sensors/*/*.parquet')"
    images = f"read_parquet('{root}/images/*/*.parquet')"
    jobs = f"read_parquet('{root}/jobstatus/*.parquet')"
    averages = ", ".join(f"avg({f})" for f in FIELDS)
    struct = "{" + ", ".join(f"'{f}': {f}" for f in FIELDS) + "}"

    def series(since: int, width: int) -> str:
        return (
            f'SELECT floor("end" * 1000 / {width}) * {width} AS b, {averages} FROM {sensors}'
            f" WHERE host = '{host}' AND \"end\" >= {since / 1000} GROUP BY b ORDER BY b"
        )

    sql = {
        "devices": f'SELECT host, count(*), min("end"), max("end"), arg_max({struct}, "end")'
        f" FROM {sensors} GROUP BY host ORDER BY host",
        "readings, all time": series(first, bucket_width(first, last, 300)),
        "readings, last hour": series(hour_ago, bucket_width(hour_ago, last, 300)),
        "images (24)": f"SELECT * FROM {images} ORDER BY time DESC LIMIT 24",
        "joined (100)": f"""
            WITH img AS (SELECT filename, host, time, label_1, probability_1, person,
                         detections FROM {images} ORDER BY time DESC LIMIT 100)
            SELECT img.*, r."end", {", ".join(f"r.{f}" for f in FIELDS)} FROM img
            LEFT JOIN {sensors} r ON regexp_extract(r.imgname, '[^/]*$') = img.filename
            ORDER BY img.time DESC""",
        "summary": f"""SELECT (SELECT count(*) FROM {sensors}), (SELECT count(*) FROM {images}),
            (SELECT count(DISTINCT host) FROM {sensors}), (SELECT count(*) FROM {jobs}),
            (SELECT max("end") FROM {sensors})""",
    }
    raw: dict[str, Callable[[], Any]] = {
        name: (lambda text=text: con.execute(text).fetchall()) for name, text in sql.items()
    }
    raw["whole page (5 calls)"] = lambda: (
        [raw[name]() for name in ("summary", "devices", "readings, all time", "images (24)")]
        + [raw["joined (100)"]()]
    )
    assert newest_images, "the lake has no images"
    return ours, raw


def timed(query: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(first run, median of ``repeat`` more) in milliseconds."""
    began = time.perf_counter()
    query()
    cold = (time.perf_counter() - began) * 1000
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        query()
        runs.append((time.perf_counter() - began) * 1000)
    return cold, statistics.median(runs)


def check(lake: Lake, args: argparse.Namespace) -> None:
    """The answers are the lake's: every reading counted, every image joined."""
    summary = lake.summary()
    assert summary["readings"] == args.readings, summary
    assert summary["devices"] == args.devices, summary
    joined = lake.joined(limit=100)
    time_column = joined["columns"].index("reading_time")
    assert all(row[time_column] is not None for row in joined["rows"]), "an image without reading"
    series = lake.readings(lake.devices()[0]["host"], points=300)["series"]
    assert 0 < len(series["time"]) <= 300


def print_table(rows: list[tuple[str, float, float, float]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.readings:,} readings, {args.devices} devices; warm = median of {args.repeat},"
        f" raw = median of {args.raw_repeat} (read_parquet over the files); goal < {GOAL_MS:.0f} ms"
    )
    header = (
        f"{'page data':<22} {'cold ms':>9} {'warm ms':>9} {'goal':>8} {'raw ms':>10}"
        f" {'raw/ours':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, cold, warm, raw in rows:
        verdict = "met" if max(cold, warm) < GOAL_MS else "NOT met"
        print(f"{name:<22} {cold:>9.1f} {warm:>9.1f} {verdict:>8} {raw:>10.1f} {raw / warm:>8.0f}x")


if __name__ == "__main__":
    main()
