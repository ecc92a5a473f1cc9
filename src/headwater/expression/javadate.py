"""Java date patterns (``SimpleDateFormat`` / ``DateTimeFormatter`` letters) in Python.

A pattern is split once into fields and literals (cached); formatting walks the fields,
parsing matches a regular expression built from them. Supported letters: ``G y u Y M L
d D E F a H k K h m s S w z Z X`` with ``'quoted'`` literals and ``''`` for a quote.
Time zones take Java ids: region ids (``America/Los_Angeles``), ``GMT``/``UTC``,
``GMT+05:30``, and the old three-letter ids such as ``PST``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from headwater.errors import ExpressionEvaluationError

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_NUMERIC = set("yuYMLdDFHkKhmswS")
_LETTERS = set("GyuYMLdDEFaHkKhmsSwWzZXx")
# Java's deprecated three-letter ids that the tz database does not carry.
_SHORT_IDS = {
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "MST": "America/Denver",
    "CST": "America/Chicago",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "CET": "Europe/Paris",
    "ECT": "Europe/Paris",
    "AET": "Australia/Sydney",
    "BST": "Asia/Dhaka",
    "Z": "UTC",
}
_OFFSET_ID = re.compile(r"(?:GMT|UTC|UT)?([+-])(\d{1,2}):?(\d{2})?")

Field = tuple[str, int]  # (letter, width); a literal has letter "'" and its text in LITERAL


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """The Java time zone id ``name`` as a ``tzinfo``; an unknown id is an error."""
    name = name.strip()
    if name in ("UTC", "UT", "Z"):
        return UTC
    if name == "GMT":
        return timezone(timedelta(0), "GMT")
    offset = _OFFSET_ID.fullmatch(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # on first use: 0.3 MB

    try:
        return ZoneInfo(_SHORT_IDS.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ExpressionEvaluationError(
            f"unknown time zone {name!r}: use an id such as 'GMT', 'UTC' or 'America/New_York'"
        ) from exc


def local() -> tzinfo:
    found = datetime.now().astimezone().tzinfo
    return found if found is not None else UTC


@lru_cache(maxsize=512)
def tokenize(pattern: str) -> tuple[tuple[str, int | str], ...]:
    """Fields ``(letter, width)`` and literals ``("'", text)`` of a Java date pattern."""
    tokens: list[tuple[str, int | str]] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "'":
            if i + 1 < n and pattern[i + 1] == "'":
                literal.append("'")
                i += 2
                continue
            end = i + 1
            while end < n:
                if pattern[end] == "'":
                    if end + 1 < n and pattern[end + 1] == "'":
                        literal.append("'")
                        end += 2
                        continue
                    break
                literal.append(pattern[end])
                end += 1
            if end >= n:
                raise ExpressionEvaluationError(f"unterminated quote in date pattern {pattern!r}")
            i = end + 1
        elif char in _LETTERS:
            width = 1
            while i + width < n and pattern[i + width] == char:
                width += 1
            if literal:
                tokens.append(("'", "".join(literal)))
                literal.clear()
            tokens.append((char, width))
            i += width
        elif char.isascii() and char.isalpha():
            raise ExpressionEvaluationError(
                f"illegal pattern letter {char!r} in date pattern {pattern!r}"
            )
        else:
            literal.append(char)
            i += 1
    if literal:
        tokens.append(("'", "".join(literal)))
    return tuple(tokens)


def _offset(moment: datetime, colon: bool, z_for_zero: bool) -> str:
    delta = moment.utcoffset() or timedelta(0)
    total = int(delta.total_seconds()) // 60
    if total == 0 and z_for_zero:
        return "Z"
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}" if colon else f"{sign}{hours:02d}{minutes:02d}"


def _field(moment: datetime, letter: str, width: int) -> str:
    if letter in "yuY":
        year = moment.year
        return f"{year % 100:02d}" if width == 2 else f"{year:0{width}d}"
    if letter in "ML":
        if width >= 4:
            return MONTHS[moment.month - 1]
        if width == 3:
            return MONTHS[moment.month - 1][:3]
        return f"{moment.month:0{width}d}"
    if letter == "E":
        day = DAYS[moment.weekday()]
        return day if width >= 4 else day[:3]
    if letter == "S":
        fraction = f"{moment.microsecond:06d}000"
        return fraction[:width] if width <= 9 else fraction.ljust(width, "0")
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "G":
        return "AD"
    if letter == "z":
        return moment.tzname() or _offset(moment, True, False)
    if letter == "Z":
        return _offset(moment, width >= 4, width == 5)
    if letter in "Xx":
        text = _offset(moment, width >= 3, letter == "X")
        return text[:3] if width == 1 and text != "Z" else text
    values = {
        "d": moment.day,
        "D": moment.timetuple().tm_yday,
        "F": (moment.day - 1) // 7 + 1,
        "H": moment.hour,
        "k": moment.hour or 24,
        "K": moment.hour % 12,
        "h": moment.hour % 12 or 12,
        "m": moment.minute,
        "s": moment.second,
        "w": moment.isocalendar()[1],
        "W": (moment.day - 1) // 7 + 1,
    }
    return f"{values[letter]:0{width}d}"


# Java pattern fields that strftime writes identically (C locale), by (letter, width).
_STRFTIME = {
    ("y", 4): "%Y",
    ("y", 2): "%y",
    ("u", 4): "%Y",
    ("M", 2): "%m",
    ("M", 3): "%b",
    ("M", 4): "%B",
    ("d", 2): "%d",
    ("H", 2): "%H",
    ("h", 2): "%I",
    ("m", 2): "%M",
    ("s", 2): "%S",
    ("E", 3): "%a",
    ("E", 4): "%A",
    ("a", 1): "%p",
    ("D", 3): "%j",
    ("Z", 1): "%z",
}


@lru_cache(maxsize=512)
def _strftime_pattern(pattern: str) -> str | None:
    """The equivalent strftime format, when every field has one (the common case)."""
    parts: list[str] = []
    for letter, width in tokenize(pattern):
        if letter == "'":
            parts.append(str(width).replace("%", "%%"))
        elif (code := _STRFTIME.get((letter, width))) is not None:  # type: ignore[arg-type]
            parts.append(code)
        else:
            return None
    return "".join(parts)


def format_date(moment: datetime, pattern: str, zone_name: str | None) -> str:
    """``moment`` written with the Java ``pattern`` in ``zone_name`` (local when None)."""
    moment = moment.astimezone(zone(zone_name) if zone_name else local())
    fast = _strftime_pattern(pattern)
    if fast is not None:
        return moment.strftime(fast)
    parts: list[str] = []
    for letter, width in tokenize(pattern):
        parts.append(width if letter == "'" else _field(moment, letter, width))  # type: ignore[arg-type]
    return "".join(parts)


@lru_cache(maxsize=256)
def _parser(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    tokens = tokenize(pattern)
    regex: list[str] = []
    names: list[str] = []
    for index, (letter, width) in enumerate(tokens):
        if letter == "'":
            regex.append(re.escape(str(width)))
            continue
        assert isinstance(width, int)
        following = tokens[index + 1][0] if index + 1 < len(tokens) else ""
        adjacent = following in _NUMERIC and following != "'"
        names.append(letter)
        if (letter in "ML" and width >= 3) or letter == "E":
            regex.append(r"([A-Za-z]+\.?)")
        elif letter == "a":
            regex.append(r"([AaPp][Mm])")
        elif letter == "G":
            regex.append(r"([AaBb][Dd]|[Bb][Cc])")
        elif letter == "z":
            regex.append(r"([A-Za-z][A-Za-z0-9/_+\-:]*)")
        elif letter in "ZXx":
            regex.append(r"(Z|[+-]\d{2}(?::?\d{2})?)")
        elif adjacent or letter == "S":
            regex.append(rf"(\d{{{width}}})" if adjacent else r"(\d+)")
        else:
            regex.append(r"([+-]?\d+)")
    return re.compile("".join(regex), re.IGNORECASE), tuple(names)


def parse_date(text: str, pattern: str, zone_name: str | None) -> datetime:
    """Parse ``text`` with the Java ``pattern``; fields that are absent default to 1970-01-01."""
    regex, names = _parser(pattern)
    found = regex.match(text.strip())
    if not found:
        raise ExpressionEvaluationError(f"cannot parse {text!r} as a date with pattern {pattern!r}")
    fields: dict[str, int] = {"y": 1970, "M": 1, "d": 1, "H": 0, "m": 0, "s": 0, "us": 0}
    pm: bool | None = None
    hour12: int | None = None
    tz: tzinfo | None = None
    day_of_year: int | None = None
    for letter, value in zip(names, found.groups(), strict=True):
        if letter in "yuY":
            year = int(value)
            fields["y"] = year + 2000 if len(value) <= 2 and year < 100 else year
        elif letter in "ML":
            fields["M"] = int(value) if value.isdigit() else _name_index(value, MONTHS, text) + 1
        elif letter == "d":
            fields["d"] = int(value)
        elif letter == "D":
            day_of_year = int(value)
        elif letter in "Hk":
            fields["H"] = int(value) % 24
        elif letter in "Kh":
            hour12 = int(value) % 12
        elif letter == "m":
            fields["m"] = int(value)
        elif letter == "s":
            fields["s"] = int(value)
        elif letter == "S":
            fields["us"] = int(value.ljust(6, "0")[:6]) if len(value) > 3 else int(value) * 1000
        elif letter == "a":
            pm = value.lower() == "pm"
        elif letter == "z":
            tz = zone(value)
        elif letter in "ZXx":
            tz = UTC if value.upper() == "Z" else zone(value)
    if hour12 is not None:
        fields["H"] = hour12 + (12 if pm else 0)
    elif pm and fields["H"] < 12:
        fields["H"] += 12
    try:
        moment = datetime(
            fields["y"], fields["M"], fields["d"], fields["H"], fields["m"], fields["s"],
            fields["us"], tzinfo=tz or (zone(zone_name) if zone_name else local()),
        )  # fmt: skip
    except ValueError as exc:
        raise ExpressionEvaluationError(f"cannot parse {text!r} as a date: {exc}") from exc
    if day_of_year is not None:
        moment = moment.replace(month=1, day=1) + timedelta(days=day_of_year - 1)
    return moment


def _name_index(value: str, names: list[str], text: str) -> int:
    prefix = value.rstrip(".").lower()
    for index, name in enumerate(names):
        if name.lower() == prefix or name[:3].lower() == prefix:
            return index
    raise ExpressionEvaluationError(f"cannot parse {text!r} as a date: unknown name {value!r}")
