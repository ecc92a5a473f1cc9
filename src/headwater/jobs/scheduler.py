"""``CronScheduler``: starts cron-scheduled jobs when their time comes, and
``english_schedule``, the words CDSW shows for a cron expression.

One thread sleeps until the earliest next firing of any unpaused job (each in its own
time zone) and starts the jobs that are due. A firing missed while the service was
down is not made up: CDSW does not either, and a job that piles up runs helps no one.
"""

from __future__ import annotations

import calendar
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from headwater.jobs.store import JobRow, JobStore

log = logging.getLogger(__name__)
# cron counts weekdays from Sunday (0), Python's calendar from Monday. The names are
# English: Python keeps the C locale for them unless a program calls setlocale.
_DAYS = [calendar.day_name[(day - 1) % 7] for day in range(7)]
_MONTHS = list(calendar.month_name)  # "" then January..December, as cron counts months


def english_schedule(expression: str) -> str:
    """A cron expression in words; the expression itself when no plain reading fits.

    >>> english_schedule("*/5 * * * *")
    'Every 5 minutes'
    >>> english_schedule("30 6 * * 1")
    'At 06:30 on Monday'
    >>> english_schedule("")
    ''
    """
    fields = expression.split()
    if len(fields) != 5:
        return expression
    minute, hour, day, month, weekday = fields
    if (day, month, weekday) == ("*", "*", "*"):
        if (minute, hour) == ("*", "*"):
            return "Every minute"
        if minute.startswith("*/") and hour == "*":
            return f"Every {minute[2:]} minutes"
        if minute.isdigit() and hour == "*":
            return f"Every hour at minute {int(minute)}"
        if minute.isdigit() and hour.startswith("*/"):
            return f"Every {hour[2:]} hours at minute {int(minute)}"
    if not (minute.isdigit() and hour.isdigit()):
        return expression
    at = f"At {int(hour):02d}:{int(minute):02d}"
    if (day, month, weekday) == ("*", "*", "*"):
        return f"{at} every day"
    if (day, month) == ("*", "*"):
        days = _names(weekday, _DAYS, 0)
        return f"{at} on {days}" if days else expression
    if weekday == "*" and day.isdigit():
        months = "every month" if month == "*" else _names(month, _MONTHS, 1)
        return f"{at} on day {int(day)} of {months}" if months else expression
    return expression


def _names(text: str, names: list[str], low: int) -> str:
    """``1-5`` → ``Monday through Friday``, ``1,3`` → ``Monday and Wednesday``."""
    if "-" in text and all(part.isdigit() for part in text.split("-", 1)):
        first, last = (int(part) for part in text.split("-", 1))
        if low <= first < len(names) and low <= last < len(names):
            return f"{names[first % len(names)]} through {names[last % len(names)]}"
    parts = text.split(",")
    if all(part.isdigit() and low <= int(part) <= len(names) for part in parts):
        words = [names[int(part) % len(names)] for part in parts]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return ""


def next_fire(job: JobRow, after: datetime) -> datetime:
    """The next time ``job``'s schedule fires after ``after`` (aware, in its time zone)."""
    zone = ZoneInfo(job.spec.timezone)
    fire: datetime = croniter(job.spec.schedule, after.astimezone(zone)).get_next(datetime)
    return fire


class CronScheduler:
    """Starts each scheduled job (``start(job)``) at every firing of its cron schedule."""

    def __init__(self, store: JobStore, start: Callable[[JobRow], None]) -> None:
        self.store = store
        self.start_job = start
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._due: dict[int, tuple[str, datetime]] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="jobs-cron", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def changed(self) -> None:
        """A job was created, changed or deleted: look at the schedules again."""
        self._wake.set()

    def tick(self, moment: datetime) -> list[JobRow]:
        """Start the jobs due at ``moment``; return them. (The loop's step, testable.)"""
        fired = []
        scheduled = {j.id: j for j in self.store.jobs() if j.spec.schedule and not j.spec.paused}
        for job_id in list(self._due):
            if job_id not in scheduled or self._due[job_id][0] != scheduled[job_id].spec.schedule:
                del self._due[job_id]
        for job in scheduled.values():
            if job.id not in self._due:
                self._due[job.id] = (job.spec.schedule, next_fire(job, moment))
                continue
            if self._due[job.id][1] <= moment:
                self._due[job.id] = (job.spec.schedule, next_fire(job, moment))
                fired.append(job)
                self.start_job(job)
        return fired

    def seconds_to_next(self, moment: datetime) -> float:
        if not self._due:
            return 60.0
        soonest = min(due for _, due in self._due.values())
        return max(0.0, min(60.0, (soonest - moment).total_seconds()))

    def _loop(self) -> None:
        while not self._stopping.is_set():
            moment = datetime.now().astimezone()
            try:
                self.tick(moment)
            except Exception:  # a bad job must not stop the other schedules
                log.exception("the cron scheduler could not start a due job")
            self._wake.wait(self.seconds_to_next(datetime.now().astimezone()) + 0.01)
            self._wake.clear()
