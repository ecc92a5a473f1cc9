"""Searching: prefixes, containment, regular expressions, indexes, and JSONPath."""

from __future__ import annotations

import re

from headwater.expression.functions.registry import Arg, fn, register

_S, _R = Arg.STRING, Arg.REGEX


def is_in(text: str, *values: str) -> bool:
    return text in values


def find(text: str, regex: re.Pattern[str]) -> bool:
    return regex.search(text) is not None


def matches(text: str, regex: re.Pattern[str]) -> bool:
    return regex.fullmatch(text) is not None


register(
    fn("startsWith", str.startswith, _S, on_null=False),
    fn("endsWith", str.endswith, _S, on_null=False),
    fn("contains", lambda text, value: value in text, _S, on_null=False),
    fn("in", is_in, _S, varargs=True, on_null=False),
    fn("find", find, _R, on_null=False),
    fn("matches", matches, _R, on_null=False),
    fn("indexOf", str.find, _S, on_null=-1),
    fn("lastIndexOf", str.rfind, _S, on_null=-1),
)
