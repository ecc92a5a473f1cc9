"""What the demo has produced so far, counted from the outputs themselves, and the live
progress line that shows it.

The counts come from where the data lands, not from the flow's own counters: rows in
the lake's Parquet files (read from each file's footer, once per file: the files never
change after PutFile wrote them), JPEGs in the FTP store, job runs in the jobs
service's store, lines in the alerts file, and the hub's queues.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from headwater.stack.up import Stack

PLAIN_PERIOD = 10.0  # seconds between lines when the output is not a terminal


class LakeCounter:
    """Rows under a lake folder; each file's footer read once."""

    def __init__(self) -> None:
        self._rows: dict[Path, int] = {}

    def rows(self, folder: Path) -> tuple[int, int]:
        """(rows, files) of the Parquet files under ``folder``."""
        total = files = 0
        if not folder.is_dir():
            return 0, 0
        for path in folder.rglob("*.parquet"):
            count = self._rows.get(path)
            if count is None:
                try:
                    count = pq.read_metadata(path).num_rows
                except (OSError, ValueError):  # being written: counted next time
                    continue
                self._rows[path] = count
            total += count
            files += 1
        return total, files


@dataclass(frozen=True)
class Counts:
    readings: int = 0
    reading_files: int = 0
    images: int = 0  # rows in lake/images
    stored_jpegs: int = 0  # JPEGs in the FTP store
    job_runs: int = 0
    jobs_succeeded: int = 0
    jobstatus_rows: int = 0
    alerts: int = 0
    queued: int = 0

    def line(self, elapsed: float) -> str:
        minutes, seconds = divmod(int(elapsed), 60)
        return (
            f"{minutes:02d}:{seconds:02d} readings {self.readings} | images {self.images}"
            f" ({self.stored_jpegs} in FTP) | jobs {self.jobs_succeeded}/{self.job_runs}"
            f" succeeded | alerts {self.alerts} | queued {self.queued}"
        )


class DemoCounter:
    """Counts what ``stack`` has produced (call from one thread)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.lake = LakeCounter()

    def count(self) -> Counts:
        layout = self.stack.layout
        readings, reading_files = self.lake.rows(layout.lake / "sensors")
        images, _ = self.lake.rows(layout.lake / "images")
        jobstatus, _ = self.lake.rows(layout.lake / "jobstatus")
        runs = succeeded = 0
        if self.stack.jobs is not None:
            store = self.stack.jobs.service.store
            for job in store.jobs():
                for run in store.runs(job.id, 10_000):
                    runs += 1
                    succeeded += run.status == "succeeded"
        controller = self.stack.controller
        alerts = self.stack.webhook.alerts.count() if self.stack.webhook else 0
        return Counts(
            readings,
            reading_files,
            images,
            _count_files(layout.images, "*.jpg"),
            runs,
            succeeded,
            jobstatus,
            alerts,
            controller.queued() if controller is not None else 0,
        )


def _count_files(folder: Path, pattern: str) -> int:
    return sum(1 for _ in folder.glob(pattern)) if folder.is_dir() else 0


class ProgressLine:
    """On a terminal, one line rewritten in place every ``period``; elsewhere (a log, a
    pipe) a plain line every ``PLAIN_PERIOD`` seconds."""

    def __init__(
        self,
        count: Callable[[], Counts],
        stream: TextIO = sys.stdout,
        period: float = 1.0,
    ) -> None:
        self.count = count
        self.stream = stream
        self.tty = stream.isatty()
        self.period = period if self.tty else PLAIN_PERIOD
        self.started = time.monotonic()
        self._next = self.started + self.period
        self._width = 0

    def tick(self) -> None:
        """Show the counts when it is time; cheap to call often."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.period
        self.show(self.count().line(now - self.started))

    def show(self, text: str) -> None:
        if self.tty:
            padding = " " * max(0, self._width - len(text))
            self.stream.write(f"\r{text}{padding}")
            self._width = len(text)
        else:
            self.stream.write(f"progress: {text}\n")
        self.stream.flush()

    def end(self) -> None:
        """Leave the terminal's line, so what follows starts on a line of its own."""
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """As a filter on the log handlers: a log line ends the progress line first, so
        the two never share a line on the terminal (the next tick draws it again)."""
        self.end()
        return True

    def __enter__(self) -> ProgressLine:
        if self.tty:
            for handler in logging.getLogger().handlers:
                handler.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)
        self.end()
