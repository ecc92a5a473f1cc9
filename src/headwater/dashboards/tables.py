"""The dashboards' DuckDB tables, and how a batch of lake files is appended to them.

Every query runs over native tables, never over the Parquet files: DuckDB reads a
table of ten million rows in milliseconds, but opening tens of thousands of small
files costs seconds. Besides the rows themselves, loading keeps two small tables up to
date so the common pages never scan the readings at all:

- ``readings_minute``: per device and minute, the count, and for each field the sum
  and the count of values (so averages over whole minutes are exact);
- ``devices``: per device, its count of readings, first and last time, and the fields
  of its latest reading.

Times are epoch milliseconds (``t``). A reading's time is its ``end`` (epoch seconds);
when ``end`` is missing, ``systemtime`` (``MM/dd/yyyy HH:mm:ss``, read as UTC); a
reading with neither is not loaded. A reading's ``imgname`` is kept as ``image_key``,
the hash of its file name, which is all the join with images needs (eight bytes a
row instead of a path of seventy).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

SCHEMA_VERSION = 2

FIELDS: tuple[str, ...] = (
    "bme680_tempc",
    "bme680_humidity",
    "bme680_pressure",
    "ltr559_lux",
    "cputemp",
    "memory",
)
"""The readings the dashboards chart, in the order the API lists them."""

_FIELD_TYPES = {field: "DOUBLE" for field in FIELDS} | {"cputemp": "BIGINT"}
_LABELS = [f"label_{n}" for n in range(1, 6)] + [f"probability_{n}" for n in range(1, 6)]

TABLES = (
    "meta",
    "lake_files",
    "lake_folders",
    "lake_rows",
    "readings",
    "readings_minute",
    "devices",
    "images",
)

_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # no key on lake_files: millions of rows, appended folder by folder, so a folder's
    # rows are found through DuckDB's min/max of each row group, without an index
    "CREATE TABLE IF NOT EXISTS lake_files (folder VARCHAR, name VARCHAR)",
    "CREATE TABLE IF NOT EXISTS lake_folders (folder VARCHAR PRIMARY KEY, mtime_ns BIGINT,"
    " listed_at DOUBLE)",
    "CREATE TABLE IF NOT EXISTS lake_rows (kind VARCHAR PRIMARY KEY, rows BIGINT)",
    "CREATE TABLE IF NOT EXISTS readings (host VARCHAR, t BIGINT, "
    + ", ".join(f"{f} {_FIELD_TYPES[f]}" for f in FIELDS)
    + ", image_key UBIGINT)",
    "CREATE TABLE IF NOT EXISTS readings_minute (host VARCHAR, minute BIGINT, n BIGINT, "
    + ", ".join(f"s_{f} DOUBLE, c_{f} BIGINT" for f in FIELDS)
    + ")",
    "CREATE TABLE IF NOT EXISTS devices (host VARCHAR PRIMARY KEY, readings BIGINT,"
    " first BIGINT, last BIGINT, " + ", ".join(f"{f} {_FIELD_TYPES[f]}" for f in FIELDS) + ")",
    "CREATE TABLE IF NOT EXISTS images (filename VARCHAR, host VARCHAR, uuid VARCHAR,"
    " t BIGINT, url VARCHAR, "
    + ", ".join(f"{c} VARCHAR" for c in _LABELS)
    + ", detections VARCHAR, person BOOLEAN)",
]


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _DDL:
        con.execute(statement)


def drop_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _columns(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def _source(files: Sequence[Path]) -> str:
    paths = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
    return f"read_parquet([{paths}], union_by_name = true)"


def _or_null(name: str, present: set[str], sql_type: str) -> str:
    """``name`` cast to ``sql_type`` (NULL where it does not parse), or NULL when the
    files lack the column."""
    if name not in present:
        return f"NULL::{sql_type}"
    return f'TRY_CAST("{name}" AS {sql_type})'


def load_readings(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> int:
    """Append the readings of ``files`` and update ``readings_minute`` and ``devices``;
    the rows loaded. Runs inside the caller's transaction."""
    source = _source(files)
    present = _columns(con, source)
    if "host" not in present:
        return 0
    end = _or_null("end", present, "DOUBLE")
    systemtime = (
        "epoch_ms(try_strptime(CAST(systemtime AS VARCHAR), '%m/%d/%Y %H:%M:%S'))"
        if "systemtime" in present
        else "NULL::BIGINT"
    )
    image = _or_null("imgname", present, "VARCHAR")
    values = ", ".join(f"{_or_null(f, present, _FIELD_TYPES[f])} AS {f}" for f in FIELDS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE batch AS
        SELECT * FROM (
            SELECT CAST(host AS VARCHAR) AS host,
                   coalesce(TRY_CAST(round({end} * 1000) AS BIGINT), {systemtime}) AS t,
                   {values},
                   CASE WHEN {image} IS NULL THEN NULL
                        ELSE hash(regexp_extract({image}, '[^/]*$')) END AS image_key
            FROM {source}
        ) WHERE host IS NOT NULL AND t IS NOT NULL
        ORDER BY t
        """
    )
    (rows,) = con.execute("SELECT count(*) FROM batch").fetchone() or (0,)
    if not rows:
        return 0
    con.execute("INSERT INTO readings SELECT * FROM batch")
    _update_minutes(con)
    _update_devices(con)
    return int(rows)


def _update_minutes(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the per-minute sums of every (device, minute) the batch touched, from
    all the readings: a late file that adds to an old minute is counted exactly."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE touched AS"
        " SELECT DISTINCT host, CAST(floor(t / 60000) AS BIGINT) AS minute FROM batch"
    )
    con.execute(
        "DELETE FROM readings_minute m USING touched k"
        " WHERE m.host = k.host AND m.minute = k.minute"
    )
    sums = ", ".join(f"sum(r.{f}), count(r.{f})" for f in FIELDS)
    con.execute(
        f"""
        INSERT INTO readings_minute
        SELECT r.host, CAST(floor(r.t / 60000) AS BIGINT) AS minute, count(*), {sums}
        FROM readings r
        SEMI JOIN touched k ON r.host = k.host AND CAST(floor(r.t / 60000) AS BIGINT) = k.minute
        WHERE r.t >= (SELECT min(minute) * 60000 FROM touched)
          AND r.t < (SELECT (max(minute) + 1) * 60000 FROM touched)
        GROUP BY ALL
        """
    )


def _update_devices(con: duckdb.DuckDBPyConnection) -> None:
    """Add the batch's counts and times to ``devices``; its latest reading replaces the
    device's when it is at least as new."""
    struct = "{" + ", ".join(f"'{f}': {f}" for f in FIELDS) + "}"
    latest = ", ".join(f"latest['{f}'] AS {f}" for f in FIELDS)
    newer = ", ".join(
        f"{f} = CASE WHEN excluded.last >= devices.last THEN excluded.{f} ELSE devices.{f} END"
        for f in FIELDS
    )
    con.execute(
        f"""
        INSERT INTO devices
        SELECT host, readings, first, last, {latest} FROM (
            SELECT host, count(*) AS readings, min(t) AS first, max(t) AS last,
                   arg_max({struct}, t) AS latest
            FROM batch GROUP BY host
        )
        ON CONFLICT (host) DO UPDATE SET
            readings = devices.readings + excluded.readings,
            first = least(devices.first, excluded.first),
            last = greatest(devices.last, excluded.last),
            {newer}
        """
    )


def load_images(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> int:
    """Append the image rows of ``files``; the rows loaded. An image without a file
    name or a time cannot be shown or joined, and is not loaded."""
    source = _source(files)
    present = _columns(con, source)
    if "filename" not in present:
        return 0
    text = ["filename", "host", "uuid"]
    columns = [
        *(f"{_or_null(c, present, 'VARCHAR')} AS {c}" for c in text),
        f"{_or_null('time', present, 'BIGINT')} AS t",
        f"{_or_null('url', present, 'VARCHAR')} AS url",
        *(f"{_or_null(c, present, 'VARCHAR')} AS {c}" for c in _LABELS),
        f"{_or_null('detections', present, 'VARCHAR')} AS detections",
        f"coalesce({_or_null('person', present, 'BOOLEAN')}, false) AS person",
    ]
    (rows,) = con.execute(
        f"""
        INSERT INTO images
        SELECT * FROM (SELECT {", ".join(columns)} FROM {source})
        WHERE filename IS NOT NULL AND t IS NOT NULL
        ORDER BY t
        """
    ).fetchone() or (0,)
    return int(rows)


def count_rows(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> int:
    """The rows of ``files`` (job status rows are only counted), from their footers."""
    paths = [str(path) for path in files]
    (rows,) = con.execute(
        "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)", [paths]
    ).fetchone() or (0,)
    return int(rows)
