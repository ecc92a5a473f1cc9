"""Java ``Pattern`` syntax and ``Matcher`` replacement strings, translated to Python's ``re``.

Most Java regular expressions are valid Python as they are; this covers the common
differences: named groups ``(?<name>...)``, ``\\Q...\\E`` quoting, POSIX classes such as
``\\p{Alpha}``, ``\\z``/``\\Z``, and ``$1``/``${name}`` in replacements.
"""

from __future__ import annotations

import re
from functools import lru_cache

from headwater.errors import ExpressionEvaluationError

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
    "L": "^\\W\\d_",
    "IsAlphabetic": "^\\W\\d_",
    "IsDigit": "\\d",
    "IsLetter": "^\\W\\d_",
}


def translate(pattern: str) -> str:
    """The Python spelling of a Java regular expression."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2 : end]))
                i = end + 2
                continue
            if nxt in "pP" and i + 2 < n and pattern[i + 2] == "{":
                close = pattern.find("}", i + 3)
                name = pattern[i + 3 : close] if close > 0 else ""
                name = name[2:] if name.startswith("Is") and name[2:] in _POSIX else name
                if name in _POSIX:
                    body = _POSIX[name]
                    negate = nxt == "P"
                    if body.startswith("^"):  # a class expressed as a negation
                        body, negate = body[1:], not negate
                    out.append(f"[{'^' if negate else ''}{body}]")
                    i = close + 1
                    continue
            if nxt == "z":
                out.append("\\Z")
                i += 2
                continue
            if nxt == "Z":
                out.append("(?=\\n?\\Z)")
                i += 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A compiled Java regular expression; a bad one raises ``ExpressionEvaluationError``."""
    try:
        return re.compile(translate(pattern))
    except re.error as exc:
        raise ExpressionEvaluationError(f"invalid regular expression {pattern!r}: {exc}") from exc


@lru_cache(maxsize=1024)
def translate_replacement(replacement: str, groups: int) -> str:
    """A Java replacement (``$1``, ``${name}``, ``\\$``) as a Python ``re.sub`` template."""
    out: list[str] = []
    i, n = 0, len(replacement)
    while i < n:
        char = replacement[i]
        if char == "\\" and i + 1 < n:
            out.append(replacement[i + 1].replace("\\", "\\\\"))
            i += 2
        elif char == "$" and i + 1 < n and replacement[i + 1].isdigit():
            number = int(replacement[i + 1])
            i += 2
            while (
                i < n and replacement[i].isdigit() and number * 10 + int(replacement[i]) <= groups
            ):
                number = number * 10 + int(replacement[i])
                i += 1
            if number > groups:
                raise ExpressionEvaluationError(f"no group {number} in replacement {replacement!r}")
            out.append(f"\\g<{number}>")
        elif char == "$" and replacement.startswith("{", i + 1):
            close = replacement.find("}", i)
            out.append(f"\\g<{replacement[i + 2 : close]}>")
            i = close + 1
        else:
            out.append("\\\\" if char == "\\" else char)
            i += 1
    return "".join(out)
