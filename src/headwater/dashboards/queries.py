"""The dashboards' queries, each over the native tables ``tables`` keeps, shaped as
the API answers them (times in epoch milliseconds).

Readings charts read ``readings_minute`` when the buckets are whole minutes (a span
over two and a half hours in 300 points), so a chart over all time costs the same
however many readings there are; shorter spans read the readings themselves, of which
DuckDB skips every row group outside the span (rows are loaded in time order).
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import orjson

from headwater.dashboards.buckets import MINUTE, bucket_width
from headwater.dashboards.tables import FIELDS

JOIN_WINDOW_MS = 10 * MINUTE
"""An image's reading is looked for this close to the image's time first."""

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PROBABILITY = re.compile(r"\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*%?\s*")


def is_plain_name(name: str) -> bool:
    """A file name without folders, not hidden: all the image route serves.

    >>> is_plain_name("bog_image_20190213043439_e58b.jpg"), is_plain_name("../secrets.yaml")
    (True, False)
    """
    return len(name) <= 255 and _PLAIN_NAME.fullmatch(name) is not None


def devices(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = cur.execute(
        f"SELECT host, readings, first, last, {', '.join(FIELDS)} FROM devices ORDER BY host"
    ).fetchall()
    return [
        {
            "host": row[0],
            "readings": row[1],
            "first": row[2],
            "last": row[3],
            "latest": dict(zip(FIELDS, row[4:], strict=True)),
        }
        for row in rows
    ]


def readings(
    cur: duckdb.DuckDBPyConnection,
    host: str,
    since: int | None,
    until: int | None,
    points: int,
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "host": host,
        "fields": list(FIELDS),
        "series": {"time": [], **{field: [] for field in FIELDS}},
    }
    span = cur.execute("SELECT first, last FROM devices WHERE host = ?", [host]).fetchone()
    if span is None:
        return answer
    since = span[0] if since is None else since
    until = span[1] if until is None else until
    if until < since:
        return answer
    width = bucket_width(since, until, points)
    params = {"width": width, "host": host, "since": since, "until": until}
    if width % MINUTE == 0:
        sql = _MINUTES_SQL
        params |= _minute_edges(since, until)
    else:
        sql = _READINGS_SQL
    columns = list(zip(*cur.execute(sql, params).fetchall(), strict=True))
    if columns:
        answer["series"] = {
            "time": list(columns[0]),
            **{field: list(values) for field, values in zip(FIELDS, columns[1:], strict=True)},
        }
    return answer


_READINGS_SQL = f"""
    SELECT CAST(floor(t / $width) AS BIGINT) * $width AS b, {", ".join(f"avg({f})" for f in FIELDS)}
    FROM readings
    WHERE host = $host AND t BETWEEN $since AND $until
    GROUP BY b ORDER BY b
"""

_SUMS = ", ".join(f"sum({f}) AS s_{f}, count({f}) AS c_{f}" for f in FIELDS)
_MINUTES_SQL = f"""
    SELECT CAST(floor(minute * 60000 / $width) AS BIGINT) * $width AS b,
           {", ".join(f"sum(s_{f}) / nullif(sum(c_{f}), 0)" for f in FIELDS)}
    FROM (
        SELECT minute, {", ".join(f"s_{f}, c_{f}" for f in FIELDS)} FROM readings_minute
        WHERE host = $host AND minute BETWEEN $full_first AND $full_last
        UNION ALL
        SELECT CAST(floor(t / 60000) AS BIGINT) AS minute, {_SUMS} FROM readings
        WHERE host = $host AND t BETWEEN $since AND $head_end
        GROUP BY minute
        UNION ALL
        SELECT CAST(floor(t / 60000) AS BIGINT) AS minute, {_SUMS} FROM readings
        WHERE host = $host AND t BETWEEN $tail_start AND $until
        GROUP BY minute
    )
    GROUP BY b ORDER BY b
"""
"""Whole minutes inside the span from their sums; the minutes the span cuts at its
head and tail from the readings themselves (a few hundred rows at most)."""


def _minute_edges(since: int, until: int) -> dict[str, int]:
    """The minutes wholly inside ``[since, until]`` (``full_first..full_last``), and the
    head ``[since, head_end]`` and tail ``[tail_start, until]`` outside them (empty
    ranges have their end before their start).

    >>> _minute_edges(30_000, 185_000)
    {'full_first': 1, 'full_last': 2, 'head_end': 59999, 'tail_start': 180000}
    >>> _minute_edges(0, 59_999)
    {'full_first': 0, 'full_last': 0, 'head_end': -1, 'tail_start': 60000}
    """
    full_first = -(-since // MINUTE)
    full_last = (until + 1) // MINUTE - 1
    head_end = min(until, full_first * MINUTE - 1)
    tail_start = max(head_end + 1, (full_last + 1) * MINUTE)
    return {
        "full_first": full_first,
        "full_last": full_last,
        "head_end": head_end,
        "tail_start": tail_start,
    }


_IMAGE_COLUMNS = (
    "filename, host, t, url, "
    + ", ".join(f"label_{n}, probability_{n}" for n in range(1, 6))
    + ", detections, person"
)


def images(cur: duckdb.DuckDBPyConnection, host: str | None, limit: int) -> list[dict[str, Any]]:
    rows = cur.execute(
        f"SELECT {_IMAGE_COLUMNS} FROM images WHERE $host IS NULL OR host = $host"
        " ORDER BY t DESC, filename DESC LIMIT $limit",
        {"host": host, "limit": limit},
    ).fetchall()
    return [_image(row) for row in rows]


def _image(row: tuple[Any, ...]) -> dict[str, Any]:
    filename, host, time, url = row[:4]
    pairs = row[4:14]
    labels = [
        {"label": label, "probability": _probability(probability)}
        for label, probability in zip(pairs[0::2], pairs[1::2], strict=True)
        if label is not None
    ]
    return {
        "filename": filename,
        "host": host,
        "time": time,
        "url": url,
        "content": f"/api/v1/dashboards/images/{filename}",
        "labels": labels,
        "detections": parse_detections(row[14]),
        "person": bool(row[15]),
    }


def _probability(text: str | None) -> float | None:
    """``"95.91%"`` (as the device writes it) → 95.91, in percent; None if unreadable."""
    match = _PROBABILITY.fullmatch(text) if text is not None else None
    return float(match.group(1)) if match else None


def parse_detections(text: str | None) -> list[dict[str, Any]]:
    """The detector's objects from the stored JSON; none when it is missing or unreadable
    (a bad row must not break the page), each with ``label``, ``confidence``, ``box``.

    >>> parse_detections('[{"label": "person", "confidence": 0.9, "box": [1, 2, 3, 4]}]')
    [{'label': 'person', 'confidence': 0.9, 'box': [1, 2, 3, 4]}]
    >>> parse_detections("not json"), parse_detections(None)
    ([], [])
    """
    if not text:
        return []
    try:
        found = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(found, list):
        return []
    return [
        {"label": item.get("label"), "confidence": item.get("confidence"), "box": item.get("box")}
        for item in found
        if isinstance(item, dict)
    ]


JOINED_COLUMNS = (
    "filename",
    "host",
    "time",
    "label_1",
    "probability_1",
    "person",
    "detections",
    "reading_time",
    *FIELDS,
)


def joined(cur: duckdb.DuckDBPyConnection, host: str | None, limit: int) -> dict[str, Any]:
    """Newest images first; an image whose reading is not (yet) in the lake has nulls."""
    found = cur.execute(
        "SELECT filename, host, t, label_1, probability_1, person, detections,"
        " hash(filename) AS key FROM images WHERE $host IS NULL OR host = $host"
        " ORDER BY t DESC, filename DESC LIMIT $limit",
        {"host": host, "limit": limit},
    ).fetchall()
    if not found:
        return {"columns": list(JOINED_COLUMNS), "rows": []}
    keys = [row[7] for row in found]
    times = [row[2] for row in found]
    near = (min(times) - JOIN_WINDOW_MS, max(times) + JOIN_WINDOW_MS)
    matched = _readings_of(cur, keys, near)
    missing = [key for key in keys if key not in matched]
    if missing:  # an image whose reading's clock differs: look through all the readings
        matched.update(_readings_of(cur, missing, None))
    rows = []
    for filename, image_host, time, label, probability, person, detections, key in found:
        reading = matched.get(key, (None,) * (1 + len(FIELDS)))
        count = len(parse_detections(detections))
        image = [filename, image_host, time, label, _probability(probability), bool(person), count]
        rows.append([*image, *reading])
    return {"columns": list(JOINED_COLUMNS), "rows": rows}


def _readings_of(
    cur: duckdb.DuckDBPyConnection, keys: list[int], window: tuple[int, int] | None
) -> dict[int, tuple[Any, ...]]:
    """The latest reading naming each image of ``keys`` (within ``window`` when given)."""
    near = "AND t BETWEEN $low AND $high" if window else ""
    params: dict[str, Any] = {"keys": keys}
    if window:
        params |= {"low": window[0], "high": window[1]}
    struct = "{" + ", ".join(f"'{f}': {f}" for f in ("t", *FIELDS)) + "}"
    rows = cur.execute(
        f"SELECT image_key, arg_max({struct}, t) FROM readings"
        f" WHERE image_key IN (SELECT unnest($keys::UBIGINT[])) {near} GROUP BY image_key",
        params,
    ).fetchall()
    return {key: tuple(reading.values()) for key, reading in rows}


def summary(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    row = cur.execute(
        """
        SELECT (SELECT coalesce(sum(readings), 0) FROM devices),
               (SELECT count(*) FROM images),
               (SELECT count(*) FROM devices),
               (SELECT coalesce(sum(rows), 0) FROM lake_rows WHERE kind = 'jobstatus'),
               (SELECT max(last) FROM devices)
        """
    ).fetchone()
    assert row is not None
    readings_, images_, devices_, runs, last = row
    return {
        "readings": int(readings_),
        "images": int(images_),
        "devices": int(devices_),
        "jobRuns": int(runs),
        "lastReading": last,
    }
