"""NiFi's CRON-driven schedules: Quartz cron expressions, evaluated by croniter.

Quartz has a seconds field first, an optional year last, ``?`` for "no specific
value" in exactly one of the two day fields, and numbers days of the week 1-7 from
Sunday. croniter evaluates (with ``second_at_beginning``) but numbers days 0-6 from
Sunday and writes "last Friday" as ``L5``, so this module translates the day-of-week
field and leaves the evaluating to croniter, imported when a cron schedule is first
read (with dateutil, 2 MB a timer-driven agent does not carry).

>>> from datetime import datetime, timezone
>>> QuartzCron("0 30 10 ? * MON-FRI").next_after(datetime(2024, 6, 1, tzinfo=timezone.utc))
datetime.datetime(2024, 6, 3, 10, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType

FIELD_NAMES = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_NEUTRAL = ("0", "*", "*", "*", "*", "?", "*")  # stand-ins to find which field is wrong
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)


class QuartzCron:
    """A Quartz cron expression such as ``0 0/5 * * * ?``; raises ``ValueError`` when
    the text is not one, saying which field is wrong."""

    __slots__ = ("_translated", "expression")

    def __init__(self, expression: str) -> None:
        self.expression = expression
        fields = expression.split()
        if len(fields) not in (6, 7):
            raise ValueError(
                f"expected 6 or 7 fields (seconds minutes hours day-of-month month "
                f"day-of-week [year]), got {len(fields)} in {expression!r}"
            )
        day_of_month, day_of_week = fields[3], fields[5]
        if (day_of_month == "?") == (day_of_week == "?"):
            raise ValueError(
                f"exactly one of day-of-month and day-of-week must be '?' in {expression!r}, "
                "e.g. '0 0 12 * * ?' (every day) or '0 0 12 ? * MON' (Mondays)"
            )
        translated = list(fields)
        translated[3] = _day_of_month(day_of_month, expression)
        translated[5] = _day_of_week(day_of_week, expression)
        self._translated = " ".join(translated)
        if not _croniter().croniter.is_valid(self._translated, second_at_beginning=True):
            raise ValueError(_which_field(fields, expression))
        try:
            self._next(_REFERENCE)
        except _croniter().CroniterBadDateError:
            raise ValueError(f"{expression!r} never fires (no such date)") from None

    def next_after(self, dt: datetime) -> datetime:
        """The first firing time strictly after ``dt``, in ``dt``'s time zone."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError("next_after needs a timezone-aware datetime")
        try:
            return self._next(dt)
        except _croniter().CroniterBadDateError:
            raise ValueError(f"{self.expression!r} does not fire after {dt.isoformat()}") from None

    def _next(self, dt: datetime) -> datetime:
        cron = _croniter().croniter(self._translated, dt, second_at_beginning=True)
        return cron.get_next(datetime)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"QuartzCron({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuartzCron) and other.expression == self.expression

    def __hash__(self) -> int:
        return hash(self.expression)


def _croniter() -> ModuleType:
    import croniter

    return croniter


def _which_field(fields: list[str], expression: str) -> str:
    """Name the first field that croniter rejects when it stands alone."""
    for index, field in enumerate(fields):
        probe = list(_NEUTRAL[: len(fields)])
        probe[index] = field
        if index == 5 and field != "?":
            probe[3] = "?"
        try:
            probe[3] = _day_of_month(probe[3], expression)
            probe[5] = _day_of_week(probe[5], expression)
            candidate = _croniter().croniter.is_valid(" ".join(probe), second_at_beginning=True)
        except (ValueError, _croniter().CroniterError):
            candidate = False
        if not candidate:
            return f"invalid {FIELD_NAMES[index]} field {field!r} in {expression!r}"
    return f"invalid Quartz cron expression {expression!r}"


def _day_of_month(field: str, expression: str) -> str:
    upper = field.upper()
    if upper == "LW" or upper.startswith("L-"):
        raise ValueError(f"day-of-month {field!r} in {expression!r} is not supported; use L or nW")
    return field


def _day_of_week(field: str, expression: str) -> str:
    """Quartz's day-of-week (1-7 from Sunday, ``6L``, ``6#3``) in croniter's terms."""
    if field in ("?", "*"):
        return field
    out: list[str] = []
    for item in field.upper().split(","):
        if item == "L":
            out.append("6")  # alone, L is the last day of the week: Saturday
        elif item.endswith("L"):
            out.append(f"L{_day(item[:-1], expression) - 1}")
        elif "#" in item:
            day, _, nth = item.partition("#")
            out.append(f"{_day(day, expression) - 1}#{nth}")
        else:
            out.extend(str(day - 1) for day in _day_range(item, expression))
    return ",".join(dict.fromkeys(out))


def _day_range(item: str, expression: str) -> list[int]:
    base, slash, step_text = item.partition("/")
    if base == "*":
        first, last = 1, 7
    elif "-" in base:
        start, _, end = base.partition("-")
        first, last = _day(start, expression), _day(end, expression)
    else:
        first = _day(base, expression)
        last = 7 if slash else first
    if slash and not (step_text.isdigit() and int(step_text) >= 1):
        raise ValueError(f"day-of-week step {step_text!r} in {expression!r} is not a number")
    step = int(step_text) if slash else 1
    if first <= last:
        days = list(range(first, last + 1))
    else:  # FRI-MON wraps round the week
        days = [*range(first, 8), *range(1, last + 1)]
    return days[::step]


def _day(text: str, expression: str) -> int:
    if text in _DAYS:
        return _DAYS[text]
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text)
    raise ValueError(
        f"day-of-week {text!r} in {expression!r}: expected 1-7 (1 = SUN) or SUN, MON, ... SAT"
    )
