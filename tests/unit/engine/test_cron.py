from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from headwater.engine.cron import QuartzCron

# 2024-06-01 is a Saturday.
SATURDAY = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def firings(expression: str, start: datetime = SATURDAY, count: int = 3) -> list[datetime]:
    cron, out, at = QuartzCron(expression), [], start
    for _ in range(count):
        at = cron.next_after(at)
        out.append(at)
    return out


def test_every_day_at_one_pm() -> None:
    assert firings("0 0 13 * * ?") == [datetime(2024, 6, d, 13, tzinfo=UTC) for d in (1, 2, 3)]


def test_every_five_minutes() -> None:
    assert firings("0 0/5 * * * ?") == [datetime(2024, 6, 1, 8, m, tzinfo=UTC) for m in (5, 10, 15)]


def test_weekdays_at_half_past_ten() -> None:
    assert firings("0 30 10 ? * MON-FRI") == [
        datetime(2024, 6, d, 10, 30, tzinfo=UTC) for d in (3, 4, 5)
    ]


def test_day_one_is_sunday() -> None:
    assert firings("0 0 12 ? * 1") == [datetime(2024, 6, d, 12, tzinfo=UTC) for d in (2, 9, 16)]
    assert firings("0 0 12 ? * SUN") == firings("0 0 12 ? * 1")


def test_numeric_day_ranges_and_steps_count_from_sunday() -> None:
    assert firings("0 0 12 ? * 2-6") == firings("0 0 12 ? * MON-FRI")
    # 1/2 is SUN, TUE, THU, SAT
    assert [d.day for d in firings("0 0 12 ? * 1/2", count=4)] == [1, 2, 4, 6]


def test_last_and_nth_weekday_of_month() -> None:
    assert [d.day for d in firings("0 0 12 ? * 6L")] == [28, 26, 30]  # last Friday
    assert [d.day for d in firings("0 0 12 ? * FRI#3")] == [21, 19, 16]
    assert [d.day for d in firings("0 0 12 L * ?")] == [30, 31, 31]
    assert firings("0 0 12 15W * ?", count=1) == [datetime(2024, 6, 14, 12, tzinfo=UTC)]


def test_strictly_after_and_keeps_the_time_zone() -> None:
    at_one = datetime(2024, 6, 1, 13, 0, tzinfo=UTC)
    assert QuartzCron("0 0 13 * * ?").next_after(at_one) == datetime(2024, 6, 2, 13, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    nxt = QuartzCron("0 0 13 * * ?").next_after(datetime(2024, 6, 1, 9, tzinfo=berlin))
    assert nxt == datetime(2024, 6, 1, 13, tzinfo=berlin)
    assert nxt.utcoffset() == berlin.utcoffset(nxt)


def test_year_field() -> None:
    assert firings("0 0 0 1 1 ? 2030", count=1) == [datetime(2030, 1, 1, tzinfo=UTC)]


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        QuartzCron("0 0 13 * * ?").next_after(datetime(2024, 6, 1))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 13 * *", "6 or 7 fields"),
        ("0 0 12 * * *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("0 0 12 ? * ?", "exactly one"),
        ("0 75 * * * ?", "invalid minutes field '75'"),
        ("0 0 25 * * ?", "invalid hours field '25'"),
        ("0 0 12 ? * 8", "day-of-week '8'"),
        ("0 0 12 ? 13 MON", "invalid month field '13'"),
        ("0 0 0 30 2 ?", "never fires"),
        ("0 0 12 LW * ?", "not supported"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("?", r"\?").replace("(", r"\(")):
        QuartzCron(expression)
