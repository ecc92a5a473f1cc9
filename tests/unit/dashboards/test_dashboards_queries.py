"""Each dashboard query against values computed here, in plain Python, from the rows
the fabricated lake was written with."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from dashboard_lakes import T0, LakeWriter, image, lake_over, reading, writer_in

from headwater.dashboards import FIELDS, Lake

HOSTS = ("alpha", "bravo", "charlie")

writer = pytest.fixture(writer_in, name="writer")
lake = pytest.fixture(lake_over, name="lake")


def fill(writer: LakeWriter, *, seed: int = 7, per_host: int = 1500) -> None:
    """Readings of three devices every 0.5-6 s over about two hours, some values
    missing, in files of 200 rows over two day folders, written out of time order."""
    rng = random.Random(seed)
    rows = []
    for index, host in enumerate(HOSTS):
        millis = T0 + index * 777
        for n in range(per_host):
            millis += rng.randint(500, 6000)
            row = reading(host, millis, n)
            if rng.random() < 0.1:
                row["ltr559_lux"] = None
            if rng.random() < 0.05:
                row["memory"] = None
            rows.append(row)
    rng.shuffle(rows)
    for start in range(0, len(rows), 200):
        day = "2026-09-21" if start % 400 == 0 else "2026-09-22"
        writer.sensors(rows[start : start + 200], day=day)


def expected_series(
    rows: list[dict[str, Any]], host: str, since: int, until: int, width: int
) -> dict[str, list[Any]]:
    buckets: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        millis = round(row["end"] * 1000)
        if row["host"] != host or not since <= millis <= until:
            continue
        bucket = buckets[millis // width * width]
        for field in FIELDS:
            if row[field] is not None:
                bucket[field].append(row[field])
    times = sorted(buckets)
    series: dict[str, list[Any]] = {"time": times}
    for field in FIELDS:
        values = [buckets[t][field] for t in times]
        series[field] = [sum(v) / len(v) if v else None for v in values]
    return series


def assert_series(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> None:
    assert actual["time"] == expected["time"]
    for field in FIELDS:
        assert actual[field] == pytest.approx(expected[field], rel=1e-9), field


def millis_of(row: dict[str, Any]) -> int:
    return round(row["end"] * 1000)


def test_devices_count_first_last_and_latest_values(writer: LakeWriter, lake: Lake) -> None:
    fill(writer)
    devices = lake.devices()
    assert [d["host"] for d in devices] == list(HOSTS)
    for device in devices:
        mine = [row for row in writer.readings if row["host"] == device["host"]]
        newest = max(mine, key=millis_of)
        assert device["readings"] == len(mine)
        assert device["first"] == min(map(millis_of, mine))
        assert device["last"] == millis_of(newest)
        assert device["latest"] == {field: newest[field] for field in FIELDS}


def test_readings_over_all_time_are_minute_buckets_from_the_minute_sums(
    writer: LakeWriter, lake: Lake
) -> None:
    fill(writer)
    answer = lake.readings("bravo", points=60)
    mine = [millis_of(row) for row in writer.readings if row["host"] == "bravo"]
    # about 80 minutes in 60 points: 1-minute buckets would be too many, so 2 minutes
    assert 60 < (max(mine) - min(mine)) / 60_000 < 118
    assert answer["host"] == "bravo"
    assert answer["fields"] == list(FIELDS)
    expected = expected_series(writer.readings, "bravo", min(mine), max(mine), 120_000)
    assert_series(answer["series"], expected)


@pytest.mark.parametrize(
    ("since_offset", "until_offset", "points", "width"),
    [
        (1_234_567, 1_234_567 + 3_600_000, 300, 15_000),  # an hour: 15 s, from the readings
        (1_234_567, 1_234_567 + 3_000_000, 10, 600_000),  # cut minutes at both ends
        (1_000_000, 1_000_000 + 3_600_000 - 1, 6, 600_000),  # whole minutes only
        (5_000, 65_000, 1, 300_000),  # two cut minutes and no whole one
    ],
)
def test_readings_in_a_window_average_each_round_bucket_exactly(
    writer: LakeWriter, lake: Lake, since_offset: int, until_offset: int, points: int, width: int
) -> None:
    fill(writer)
    since, until = T0 + since_offset, T0 + until_offset
    answer = lake.readings("alpha", since=since, until=until, points=points)
    expected = expected_series(writer.readings, "alpha", since, until, width)
    assert expected["time"], "the window should hold readings"
    assert_series(answer["series"], expected)


def test_readings_of_an_unknown_device_or_an_empty_window_are_empty(
    writer: LakeWriter, lake: Lake
) -> None:
    fill(writer, per_host=50)
    empty = {"time": [], **{field: [] for field in FIELDS}}
    assert lake.readings("nobody")["series"] == empty
    assert lake.readings("alpha", since=T0 + 10**10)["series"] == empty


def test_a_reading_without_end_takes_its_time_from_systemtime(
    writer: LakeWriter, lake: Lake
) -> None:
    writer.sensors(
        [
            reading("delta", T0, 1),
            reading("delta", 0, 2, end=None, systemtime="09/21/2026 14:20:05"),
            reading("delta", 0, 3, end=None, systemtime="not a time"),
            reading("delta", 0, 4, end=float("inf"), systemtime="09/21/2026 14:10:00"),
        ]
    )
    (device,) = lake.devices()
    expected = int(datetime(2026, 9, 21, 14, 20, 5, tzinfo=UTC).timestamp() * 1000)
    assert device["readings"] == 3  # the reading with no time at all is not loaded
    assert device["last"] == expected
    assert device["latest"]["cputemp"] == reading("delta", 0, 2)["cputemp"]


def write_images(writer: LakeWriter) -> None:
    """An image for every tenth reading of each device, in two files."""
    rows = [
        image(row["host"], millis_of(row), int(row["uuid"].rsplit("-", 1)[1]))
        for row in writer.readings
        if int(row["uuid"].rsplit("-", 1)[1]) % 10 == 0
    ]
    writer.write("images", rows[: len(rows) // 2])
    writer.write("images", rows[len(rows) // 2 :], day="2026-09-22")


def test_images_newest_first_with_labels_and_detections(writer: LakeWriter, lake: Lake) -> None:
    fill(writer, per_host=200)
    write_images(writer)
    newest = sorted(writer.images, key=lambda row: row["time"], reverse=True)
    answer = lake.images(limit=5)
    assert [item["filename"] for item in answer] == [row["filename"] for row in newest[:5]]
    charlie = [row for row in newest if row["host"] == "charlie"][:3]
    answer = lake.images(host="charlie", limit=3)
    assert [item["filename"] for item in answer] == [row["filename"] for row in charlie]
    first, row = answer[0], charlie[0]
    assert first["time"] == row["time"]
    assert first["url"] == row["url"]
    assert first["content"] == f"/api/v1/dashboards/images/{row['filename']}"
    assert first["labels"] == [
        {"label": row[f"label_{k}"], "probability": float(row[f"probability_{k}"][:-1])}
        for k in range(1, 6)
    ]
    n = int(row["uuid"].rsplit("-", 1)[1])
    assert first["detections"] == (
        [{"label": "person", "confidence": 0.75, "box": [n, 2, 30, 40]}] if n % 2 else []
    )
    assert first["person"] is bool(n % 2)


def test_joined_pairs_each_image_with_the_reading_naming_it(writer: LakeWriter, lake: Lake) -> None:
    fill(writer, per_host=200)
    write_images(writer)
    far = reading("alpha", T0 + 86_400_000, 9999)  # its image is stamped a day earlier
    writer.sensors([far])
    late = T0 + 10**8
    writer.write(
        "images",
        [image("alpha", T0 + 10**8, 9999, time=late), image("alpha", late - 1, 8888)],
    )
    answer = lake.joined(host="alpha", limit=50)
    columns = answer["columns"]
    assert columns[:8] == [
        "filename",
        "host",
        "time",
        "label_1",
        "probability_1",
        "person",
        "detections",
        "reading_time",
    ]
    assert columns[8:] == list(FIELDS)
    by_image = {row["imgname"].rsplit("/", 1)[1]: row for row in writer.readings}
    images = sorted(
        (row for row in writer.images if row["host"] == "alpha"),
        key=lambda row: row["time"],
        reverse=True,
    )[:50]
    assert [row[0] for row in answer["rows"]] == [row["filename"] for row in images]
    for got, wanted in zip(answer["rows"], images, strict=True):
        values = dict(zip(columns, got, strict=True))
        assert values["time"] == wanted["time"]
        assert values["person"] is wanted["person"]
        assert values["detections"] == (1 if wanted["person"] else 0)
        source = by_image.get(wanted["filename"])
        if source is None:  # bog_image_alpha_8888.jpg: no reading names it
            assert values["reading_time"] is None
            assert all(values[field] is None for field in FIELDS)
            continue
        assert values["reading_time"] == millis_of(source)
        assert {field: values[field] for field in FIELDS} == {f: source[f] for f in FIELDS}
    assert answer["rows"][0][0] == "bog_image_alpha_9999.jpg"  # found a day away


def test_summary_counts_everything(writer: LakeWriter, lake: Lake) -> None:
    assert lake.summary() == {
        "readings": 0,
        "images": 0,
        "devices": 0,
        "jobRuns": 0,
        "lastReading": None,
    }
    fill(writer, per_host=100)
    write_images(writer)
    writer.write("jobstatus", [{"id": 1, "latest_status": "succeeded"}] * 3, day=None)
    writer.write("jobstatus", [{"id": 2, "latest_status": "failed"}] * 2, day=None)
    assert lake.summary() == {
        "readings": len(writer.readings),
        "images": len(writer.images),
        "devices": 3,
        "jobRuns": 5,
        "lastReading": max(map(millis_of, writer.readings)),
    }
