"""The Lake follows the lake: new files appear in the next query, temporary and
corrupt files are skipped, the database persists what was loaded, exactly once."""

from __future__ import annotations

import doctest
import logging
import os
import threading
from pathlib import Path

import pytest
from dashboard_lakes import T0, LakeWriter, image, lake_over, reading, writer_in

import headwater.dashboards.buckets
import headwater.dashboards.queries
from headwater.dashboards import Lake
from headwater.dashboards.lake import DATABASE_NAME
from headwater.dashboards.scan import FolderScanner

writer = pytest.fixture(writer_in, name="writer")
lake = pytest.fixture(lake_over, name="lake")


def readings(host: str, first: int, count: int) -> list[dict[str, object]]:
    return [reading(host, T0 + 1000 * n, n) for n in range(first, first + count)]


def test_a_new_file_is_in_the_next_answer(writer: LakeWriter) -> None:
    writer.sensors(readings("alpha", 0, 10))
    lake = Lake(writer.root, database=":memory:", refresh_seconds=3600)  # no slow beat
    try:
        assert lake.summary()["readings"] == 10
        writer.sensors(readings("alpha", 10, 5), day="2026-09-22")  # a new day folder
        writer.sensors(readings("bravo", 0, 3))  # a folder already listed
        assert lake.summary()["readings"] == 18
        assert {d["host"]: d["readings"] for d in lake.devices()} == {"alpha": 15, "bravo": 3}
        writer.write("images", [image("alpha", T0, 0)])
        assert [i["filename"] for i in lake.images()] == ["bog_image_alpha_0.jpg"]
    finally:
        lake.close()


def test_a_file_renamed_in_within_the_folders_tick_is_found_on_the_slower_beat(
    writer: LakeWriter,
) -> None:
    first = writer.sensors(readings("alpha", 0, 10))
    lake = Lake(writer.root, database=":memory:", refresh_seconds=3600)
    try:
        assert lake.summary()["readings"] == 10
        day = first.parent
        tick = day.stat().st_mtime_ns
        writer.sensors(readings("alpha", 10, 5))
        os.utime(day, ns=(tick, tick))  # the folder's time did not move: same tick
        assert lake.summary()["readings"] == 10  # unchanged folders are not listed
        report = lake.refresh(force=True)  # what the slower beat does
        assert (report.files, report.rows) == (1, 5)
        assert lake.summary()["readings"] == 15
    finally:
        lake.close()


def test_temporary_files_are_skipped(writer: LakeWriter, lake: Lake) -> None:
    final = writer.sensors(readings("alpha", 0, 4))
    writing = final.with_name(".part-being-written.parquet")
    writing.write_bytes(final.read_bytes())
    (final.parent / "_SUCCESS").write_bytes(b"")
    assert lake.summary()["readings"] == 4
    writing.rename(final.with_name("part-renamed.parquet"))  # the hub's rename
    assert lake.summary()["readings"] == 8


def test_a_corrupt_file_is_logged_and_skipped_until_it_changes(
    writer: LakeWriter, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    good = writer.sensors(readings("alpha", 0, 6))
    truncated = good.with_name("part-truncated.parquet")
    truncated.write_bytes(good.read_bytes()[:-40])
    garbage = good.with_name("part-garbage.parquet")
    garbage.write_bytes(b"PAR1 not parquet at all PAR1")
    with caplog.at_level(logging.WARNING, logger="headwater.dashboards"):
        assert lake.summary()["readings"] == 6
        assert lake.devices()[0]["readings"] == 6
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 2  # once each, not on every query
    assert any("part-truncated.parquet" in message for message in skipped)
    truncated.write_bytes(good.read_bytes())  # rewritten whole: tried again
    assert lake.summary()["readings"] == 12


def test_a_missing_lake_answers_empty(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "no" / "lake", database=":memory:", refresh_seconds=0)
    try:
        assert lake.devices() == []
        assert lake.images() == []
        assert lake.joined() == {"columns": list(lake.joined()["columns"]), "rows": []}
        assert lake.summary()["readings"] == 0
        assert lake.readings("alpha")["series"]["time"] == []
        assert lake.image_path("bog_image_1.jpg") is None
    finally:
        lake.close()


def test_the_database_keeps_what_was_loaded_across_restarts(writer: LakeWriter) -> None:
    writer.sensors(readings("alpha", 0, 10))
    first = Lake(writer.root, refresh_seconds=0)
    assert first.summary()["readings"] == 10
    first.close()
    database = writer.root.parent / DATABASE_NAME
    assert database.is_file()
    writer.sensors(readings("alpha", 10, 7))
    second = Lake(writer.root, refresh_seconds=0)
    try:
        report = second.refresh(force=True)
        assert report.files == 1  # only the new file is read
        assert second.summary()["readings"] == 17
        minutes = second.readings("alpha", points=1)["series"]
        assert minutes["cputemp"] == [pytest.approx(sum(40 + n % 7 for n in range(17)) / 17)]
    finally:
        second.close()


def test_a_database_made_for_another_lake_is_rebuilt(writer: LakeWriter, tmp_path: Path) -> None:
    database = tmp_path / "shared.duckdb"
    other = LakeWriter(tmp_path / "other" / "lake")
    other.sensors(readings("zulu", 0, 5))
    lake = Lake(other.root, database=database, refresh_seconds=0)
    assert [d["host"] for d in lake.devices()] == ["zulu"]
    lake.close()
    writer.sensors(readings("alpha", 0, 3))
    lake = Lake(writer.root, database=database, refresh_seconds=0)
    try:
        assert [d["host"] for d in lake.devices()] == ["alpha"]
    finally:
        lake.close()


def test_an_unwritable_database_falls_back_to_memory(writer: LakeWriter, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    writer.sensors(readings("alpha", 0, 3))
    lake = Lake(writer.root, database=blocker / "db.duckdb", refresh_seconds=0)
    try:
        assert lake.summary()["readings"] == 3
    finally:
        lake.close()


def test_late_files_update_old_minutes_exactly(writer: LakeWriter, lake: Lake) -> None:
    writer.sensors([reading("alpha", T0 + 1000 * n, n) for n in range(0, 120, 2)])
    lake.summary()
    writer.sensors([reading("alpha", T0 + 1000 * n, n) for n in range(1, 120, 2)])
    series = lake.readings("alpha", since=T0 - T0 % 60_000, points=3)["series"]
    by_minute: dict[int, list[float]] = {}
    for n in range(120):
        millis = T0 + 1000 * n
        by_minute.setdefault(millis - millis % 60_000, []).append(20.0 + (n % 13) / 4)
    assert series["time"] == sorted(by_minute)
    expected = [sum(v) / len(v) for _, v in sorted(by_minute.items())]
    assert series["bme680_tempc"] == pytest.approx(expected)


@pytest.mark.parametrize("module", [headwater.dashboards.buckets, headwater.dashboards.queries])
def test_docstring_examples(module: object) -> None:
    failures, tried = doctest.testmod(module)  # type: ignore[arg-type]
    assert tried > 0 and failures == 0


def test_a_damaged_database_is_made_again(writer: LakeWriter) -> None:
    database = writer.root.parent / DATABASE_NAME
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a duckdb database" * 100)
    writer.sensors(readings("alpha", 0, 4))
    lake = Lake(writer.root, refresh_seconds=0)
    try:
        assert lake.summary()["readings"] == 4
    finally:
        lake.close()
    assert database.read_bytes()[:21] != b"not a duckdb database"


def test_a_settled_folder_is_not_listed_again_until_it_changes(tmp_path: Path) -> None:
    day = tmp_path / "sensors" / "2026-09-21"
    day.mkdir(parents=True)
    (day / "a.parquet").write_bytes(b"")
    old = 1_700_000_000
    os.utime(day, (old, old))
    os.utime(day.parent, (old, old))
    recalled: list[Path] = []

    def recall(folder: Path) -> set[str]:
        recalled.append(folder)
        return {"a.parquet"} if folder == day else set()

    scanner = FolderScanner(tmp_path / "sensors", recall)
    (listed,) = [f for f in scanner.to_list(settle=True) if f.path == day]
    assert scanner.new_files(listed) == []  # a.parquet was loaded before (the database)
    (day / "b.parquet").write_bytes(b"")
    os.utime(day, (old, old))  # as if b arrived in the tick of the listing
    assert scanner.to_list(settle=True) == []  # settled and unchanged: not listed
    scanner.forget_settled()
    assert listed.loaded is None  # a settled folder's names leave memory
    os.utime(day, (old + 1, old + 1))
    (changed,) = scanner.to_list(settle=False)
    assert [p.name for p in scanner.new_files(changed)] == ["b.parquet"]
    assert recalled.count(day) == 2  # recalled again from the database


def test_a_restart_lists_only_the_folders_that_changed(writer: LakeWriter) -> None:
    old = 1_700_000_000
    for day in ("2026-09-20", "2026-09-21"):
        folder = writer.sensors(readings("alpha", 0, 2), day=day).parent
        os.utime(folder, (old, old))
    os.utime(writer.root / "sensors", (old, old))
    first = Lake(writer.root, refresh_seconds=0)
    assert first.refresh(force=True).files == 2
    first.close()
    settled = writer.root / "sensors" / "2026-09-20"
    (settled / "unseen.parquet").write_bytes(b"not read: its folder's time is unchanged")
    os.utime(settled, (old, old))
    writer.sensors(readings("bravo", 0, 3), day="2026-09-21")
    second = Lake(writer.root, refresh_seconds=0)
    try:
        report = second.refresh(force=True)
        assert (report.files, report.rows, report.skipped) == (1, 3, 0)
        assert second.summary()["readings"] == 7
    finally:
        second.close()


def test_queries_from_many_threads_while_files_arrive(writer: LakeWriter, lake: Lake) -> None:
    writer.sensors(readings("alpha", 0, 100))
    errors: list[BaseException] = []
    seen: list[int] = []

    def ask() -> None:
        try:
            for _ in range(15):
                seen.append(lake.summary()["readings"])
                lake.readings("alpha", points=50)
                lake.devices()
                lake.joined(limit=10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for start in range(100, 600, 100):
        writer.sensors(readings("alpha", start, 100))
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert all(count % 100 == 0 and 100 <= count <= 600 for count in seen), seen  # whole files
    lake.refresh(force=True)
    assert lake.summary()["readings"] == 600
    assert lake.devices()[0]["readings"] == 600
