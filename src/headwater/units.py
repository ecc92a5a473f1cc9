"""NiFi's time periods (``30 sec``, ``5 mins``) and data sizes (``1 GB``), parsed.

>>> parse_duration("5 mins")
300.0
>>> parse_data_size("1 GB")
1073741824
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_TIME_UNITS: dict[str, float] = {}
for _names, _seconds in (
    (("ns", "nano", "nanos", "nanosecond", "nanoseconds"), 1e-9),
    (("us", "micro", "micros", "microsecond", "microseconds"), 1e-6),
    (("ms", "milli", "millis", "millisecond", "milliseconds"), 1e-3),
    (("s", "sec", "secs", "second", "seconds"), 1.0),
    (("m", "min", "mins", "minute", "minutes"), 60.0),
    (("h", "hr", "hrs", "hour", "hours"), 3600.0),
    (("d", "day", "days"), 86400.0),
    (("w", "wk", "wks", "week", "weeks"), 604800.0),
):
    for _name in _names:
        _TIME_UNITS[_name] = _seconds

_SIZE_UNITS = {
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kb": 1024,
    "mb": 1024**2,
    "gb": 1024**3,
    "tb": 1024**4,
    "pb": 1024**5,
}

_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in a NiFi time period such as ``30 sec``; a bare number means seconds."""
    match = _QUANTITY.match(str(text))
    unit = match.group(2).lower() if match else ""
    if not match or (unit and unit not in _TIME_UNITS):
        raise ValueError(f"expected a time period such as '30 sec' or '5 mins', got {text!r}")
    return float(match.group(1)) * (_TIME_UNITS[unit] if unit else 1.0)


def parse_data_size(text: str) -> int:
    """Bytes in a NiFi data size such as ``1 GB`` (binary multiples); a bare number is bytes."""
    match = _QUANTITY.match(str(text))
    unit = match.group(2).lower() if match else ""
    if not match or (unit and unit not in _SIZE_UNITS):
        raise ValueError(f"expected a data size such as '1 GB' or '512 KB', got {text!r}")
    return int(float(match.group(1)) * (_SIZE_UNITS[unit] if unit else 1))


def parse_bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def parse_non_negative_int(text: str) -> int:
    value = parse_int(text)
    if value < 0:
        raise ValueError(f"expected a whole number of 0 or more, got {text!r}")
    return value


def parse_positive_int(text: str) -> int:
    value = parse_int(text)
    if value < 1:
        raise ValueError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def parse_http_url(text: str) -> str:
    """An http:// or https:// URL with a host, stripped."""
    text = text.strip()
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"not a valid URL {text!r}: {exc}") from None
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"not a valid URL {text!r}: it holds spaces or control characters")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"expected an http:// or https:// URL with a host, got {text!r}")
    return text
