"""The demo's counts and its progress line; the resource monitor sees child processes."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from headwater.stack.progress import Counts, LakeCounter, ProgressLine
from headwater.stack.resources import ResourceMonitor


def test_lake_rows_are_counted_from_footers_and_unreadable_files_wait(tmp_path: Path) -> None:
    day = tmp_path / "sensors" / "2026-11-28"
    day.mkdir(parents=True)
    pq.write_table(pa.table({"host": ["a", "b", "c"]}), day / "one.parquet")
    pq.write_table(pa.table({"host": ["d"]}), day / "two.parquet")
    (day / "half-written.parquet").write_bytes(b"PAR1")
    counter = LakeCounter()
    assert counter.rows(tmp_path / "sensors") == (4, 2)
    assert counter.rows(tmp_path / "nothing-yet") == (0, 0)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_rewritten_in_place() -> None:
    stream = Terminal()
    progress = ProgressLine(lambda: Counts(readings=12, images=3, queued=1), stream, period=0)
    progress.tick()
    progress.show("short")
    progress.end()
    text = stream.getvalue()
    assert text.startswith("\r00:00 readings 12 | images 3")
    assert "\rshort " in text  # padded over the longer line before it
    assert text.endswith("\n")


def test_a_log_line_on_the_terminal_ends_the_progress_line_first() -> None:
    stream = Terminal()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger()
    logger.addHandler(handler)
    try:
        with ProgressLine(lambda: Counts(readings=5), stream, period=0) as progress:
            progress.tick()
            logging.getLogger("headwater.test").error("something to see")
        assert stream.getvalue().startswith("\r00:00 readings 5 ")
        assert "queued 0\nsomething to see\n" in stream.getvalue()
        assert progress not in handler.filters  # detached at the end
    finally:
        logger.removeHandler(handler)


def test_elsewhere_plain_lines_every_ten_seconds() -> None:
    stream = io.StringIO()
    progress = ProgressLine(lambda: Counts(job_runs=2, jobs_succeeded=1), stream, period=0)
    assert progress.period == 10.0
    progress.tick()  # not yet: the first line comes after a period
    assert stream.getvalue() == ""
    progress._next = 0
    progress.tick()
    assert (
        stream.getvalue() == "progress: 00:00 readings 0 | images 0 (0 in FTP) | jobs 1/2"
        " succeeded | alerts 0 | queued 0\n"
    )


def test_the_monitor_counts_a_child_process_memory_and_cpu() -> None:
    monitor = ResourceMonitor(period=0.1)
    monitor.start()
    code = (
        "import time\nx = bytearray(80 * 2**20)\nend = time.time() + 0.8\n"
        "while time.time() < end: pass\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    use = monitor.stop()
    assert use.peak_rss > 80 * 2**20
    assert use.processes >= 2
    assert use.cpu_percent > 0
    assert "goal < 1.5" in use.line()
