"""Dates: ``format`` and ``toDate`` with Java patterns and time zones, ``now``, instants.

A Date is an aware ``datetime``; as a number it is milliseconds since the epoch, as in NiFi.
"""

from __future__ import annotations

from datetime import UTC, datetime

from headwater.errors import ExpressionEvaluationError
from headwater.expression.functions.registry import Arg, Subject, fn, register
from headwater.expression.javadate import format_date, local, parse_date
from headwater.expression.values import EPOCH, to_date

_FORMATTED: dict[tuple[object, str, str | None], str | None] = {}


def format_(subject: object, pattern: str, zone: str | None = None) -> str | None:
    # FlowFiles of one batch mostly share their dates to the millisecond, so a small
    # memo of recent results saves the date arithmetic for nearly all of them.
    key = (subject, pattern, zone)
    try:
        return _FORMATTED[key]
    except (KeyError, TypeError):
        pass
    moment = to_date(subject, "format")
    text = None if moment is None else format_date(moment, pattern, zone or None)
    if isinstance(subject, (str, int)):
        if len(_FORMATTED) >= 4096:
            _FORMATTED.clear()
        _FORMATTED[key] = text
    return text


def to_date_(subject: object, pattern: str | None = None, zone: str | None = None) -> object:
    if subject is None or isinstance(subject, datetime):
        return subject
    if pattern is None:
        return to_date(subject, "toDate")
    if not isinstance(subject, str):
        return to_date(subject, "toDate")
    return parse_date(subject, pattern, zone or None)


def _instant(subject: object) -> datetime | None:
    """An Instant from a date, millis, or ISO-8601 / RFC 1123 text."""
    if subject is None or isinstance(subject, datetime):
        return subject
    if isinstance(subject, str) and not subject.strip().lstrip("-").isdigit():
        text = subject.strip()
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        from email.utils import parsedate_to_datetime  # RFC 2822 dates are rare: on use

        try:
            return parsedate_to_datetime(text)
        except (TypeError, ValueError) as exc:
            raise ExpressionEvaluationError(f"cannot read {subject!r} as an instant") from exc
    return to_date(subject, "formatInstant")


def format_instant(subject: object, pattern: str, zone: str) -> str | None:
    moment = _instant(subject)
    return None if moment is None else format_date(moment, pattern, zone)


def to_instant(subject: object, pattern: str, zone: str) -> datetime | None:
    if isinstance(subject, str):
        return parse_date(subject, pattern, zone).astimezone(UTC)
    return _instant(subject)


def _micros(subject: object) -> int | None:
    moment = _instant(subject)
    if moment is None:
        return None
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _nanos(subject: object) -> int | None:
    micros = _micros(subject)
    return None if micros is None else micros * 1000


S, A = Arg.STRING, Arg.ANY
register(
    fn("format", format_, S, S, optional=1, subject=Subject.ANY),
    fn("toDate", to_date_, S, S, optional=2, subject=Subject.ANY),
    fn("formatInstant", format_instant, S, S, subject=Subject.ANY),
    fn("toInstant", to_instant, S, S, subject=Subject.ANY),
    fn("toMicros", _micros, subject=Subject.ANY),
    fn("toNanos", _nanos, subject=Subject.ANY),
    fn("now", lambda: datetime.now(local()), subject=Subject.NONE, pure=False),
)
