"""Cron schedules: their English, and jobs started when they fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import Jobs
from headwater.jobs.scheduler import CronScheduler, english_schedule


@pytest.mark.parametrize(
    ("cron", "english"),
    [
        ("", ""),
        ("* * * * *", "Every minute"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("5 * * * *", "Every hour at minute 5"),
        ("0 */6 * * *", "Every 6 hours at minute 0"),
        ("0 3 * * *", "At 03:00 every day"),
        ("30 8 * * 1-5", "At 08:30 on Monday through Friday"),
        ("0 9 * * 0,6", "At 09:00 on Sunday and Saturday"),
        ("0 0 1 * *", "At 00:00 on day 1 of every month"),
        ("0 0 1 1,7 *", "At 00:00 on day 1 of January and July"),
        ("1-5/2 * * * *", "1-5/2 * * * *"),
    ],
)
def test_english_schedule(cron: str, english: str) -> None:
    assert english_schedule(cron) == english


def test_a_due_job_is_started_once_per_firing(jobs: Jobs) -> None:
    hourly = jobs.create(name="hourly", script="hello.py", schedule="0 * * * *")
    jobs.create(name="manual", script="hello.py")
    jobs.create(name="paused", script="hello.py", schedule="0 * * * *", paused=True)
    started: list[str] = []
    scheduler = CronScheduler(jobs.service.store, lambda job: started.append(job.spec.name))
    moment = datetime(2026, 11, 28, 6, 59, 30, tzinfo=UTC)
    assert scheduler.tick(moment) == []
    assert scheduler.seconds_to_next(moment) == 30
    assert [j.id for j in scheduler.tick(moment + timedelta(seconds=31))] == [hourly["id"]]
    assert scheduler.tick(moment + timedelta(seconds=40)) == []
    assert started == ["hourly"]
    scheduler.tick(moment + timedelta(hours=1, seconds=31))
    assert started == ["hourly", "hourly"]


def test_the_service_scheduler_starts_runs(jobs: Jobs) -> None:
    job = jobs.create(name="often", script="hello.py", schedule="* * * * *")
    scheduler = jobs.service.scheduler
    now = datetime.now(UTC)
    scheduler.tick(now)
    scheduler.tick(now + timedelta(minutes=1, seconds=1))
    (run,) = jobs.service.store.runs(job["id"])
    assert jobs.wait(job["id"], run.id)["status"] == "succeeded"
