"""The Expression Language's data types as Python values, and the coercions between them.

NiFi has five types; here they are plain Python objects so that evaluation allocates
nothing extra: String ``str``, Number ``int`` (kept to 64 bits), Decimal ``float``,
Boolean ``bool``, Date an aware ``datetime``; a missing attribute is ``None``.
Rendering follows Java: ``true``/``false``, ``Double.toString`` for decimals, and
``E MMM dd HH:mm:ss z yyyy`` in the local time zone for dates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from headwater.errors import ExpressionEvaluationError

Lookup: TypeAlias = Mapping[str, str]
Evaluator: TypeAlias = Callable[[Lookup], object]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_MIN = -(2**63)
_LONG_SPAN = 2**64
_WHOLE = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|NaN|Infinity)")
_HEX = re.compile(r"([+-]?)0[xX]([0-9a-fA-F]+)")


def wrap_long(value: int) -> int:
    """``value`` as Java's ``long`` arithmetic would leave it (two's complement wrap)."""
    if -(2**63) <= value < 2**63:
        return value
    return (value - _LONG_MIN) % _LONG_SPAN + _LONG_MIN


def java_double(value: float) -> str:
    """``Double.toString``: ``1.0``, ``0.001``, ``1.0E7``, ``1.5E-5``, ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    from decimal import Decimal  # on first use: 0.4 MB

    _, digits, exponent = Decimal(repr(magnitude)).normalize().as_tuple()
    assert isinstance(exponent, int)
    scientific = len(digits) - 1 + exponent
    fraction = "".join(map(str, digits[1:])) or "0"
    return f"{'-' if value < 0 else ''}{digits[0]}.{fraction}E{scientific}"


def local_zone() -> object:
    return datetime.now().astimezone().tzinfo


def render(value: object) -> str:
    """The text NiFi would produce for ``value`` at the end of an expression."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, datetime):
        from headwater.expression.javadate import format_date

        return format_date(value, "EEE MMM dd HH:mm:ss zzz yyyy", None)
    return str(value)


def to_str(value: object) -> str | None:
    """A String argument or subject: ``None`` stays ``None``; other types render."""
    if value is None or value.__class__ is str:
        return value
    return render(value)


def to_bool(value: object) -> bool:
    """Java ``Boolean.parseBoolean``: only a case-insensitive ``true`` is true."""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    return False


def parse_number(text: str) -> int | float | None:
    """A whole number if the text is one, else a decimal, else ``None``."""
    stripped = text.strip()
    if _WHOLE.fullmatch(stripped):
        return wrap_long(int(stripped))
    hexed = _HEX.fullmatch(stripped)
    if hexed:
        return wrap_long(int(hexed.group(1) + hexed.group(2), 16))
    if _DECIMAL.fullmatch(stripped):
        return float(stripped)
    return None


def millis(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_millis(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)


def to_numeric(value: object, function: str) -> int | float | None:
    """A Number or Decimal operand; ``None`` stays ``None``; text that is no number fails."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ExpressionEvaluationError(
            f"{function}: cannot use boolean {render(value)} as a number"
        )
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return millis(value)
    number = parse_number(str(value))
    if number is None:
        raise ExpressionEvaluationError(f"{function}: cannot convert {value!r} to a number")
    return number


def to_whole(value: object, function: str) -> int | None:
    """A Number (64-bit whole) operand; decimals are truncated as Java's ``longValue``."""
    number = to_numeric(value, function)
    if number is None or isinstance(number, int):
        return number
    if math.isnan(number):
        return 0
    if math.isinf(number):
        return 2**63 - 1 if number > 0 else -(2**63)
    return wrap_long(int(number))


def to_date(value: object, function: str) -> datetime | None:
    """A Date operand: dates as is, numbers (and numeric text) as millis since the epoch."""
    if value is None or isinstance(value, datetime):
        return value
    whole = to_whole(value, function)
    return None if whole is None else from_millis(whole)
