"""Boolean logic: null and empty tests, equality, numeric comparison, and/or/not, ifElse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import orjson

from headwater.expression.functions.registry import Arg, Subject, fn, register
from headwater.expression.values import (
    Evaluator,
    Lookup,
    millis,
    parse_number,
    render,
    to_bool,
    to_str,
)

_JAVA_WHITESPACE = "".join(chr(code) for code in range(33))


def is_empty(subject: object) -> bool:
    text = to_str(subject)
    return text is None or not text.strip(_JAVA_WHITESPACE)


def equals(subject: object, other: object) -> bool:
    if subject is None or other is None:
        return subject is other
    if subject.__class__ is other.__class__:
        return subject == other
    return render(subject) == render(other)


def equals_ignore_case(subject: object, other: object) -> bool:
    if subject is None or other is None:
        return subject is other
    return render(subject).casefold() == render(other).casefold()


def _number(value: object) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return millis(value)
    return parse_number(str(value))


def _comparison(test: Callable[[int | float, int | float], bool]) -> Callable[..., bool]:
    def compare(subject: object, other: object) -> bool:
        left, right = _number(subject), _number(other)
        return left is not None and right is not None and test(left, right)

    return compare


def _and(subject: Evaluator | None, args: list[Evaluator]) -> Evaluator:
    assert subject is not None
    right = args[0]
    return lambda lookup: to_bool(subject(lookup)) and to_bool(right(lookup))


def _or(subject: Evaluator | None, args: list[Evaluator]) -> Evaluator:
    assert subject is not None
    right = args[0]
    return lambda lookup: to_bool(subject(lookup)) or to_bool(right(lookup))


def _if_else(subject: Evaluator | None, args: list[Evaluator]) -> Evaluator:
    assert subject is not None
    when_true, when_false = args

    def choose(lookup: Lookup) -> object:
        return when_true(lookup) if to_bool(subject(lookup)) else when_false(lookup)

    return choose


def is_json(subject: object) -> bool:
    text = to_str(subject)
    if text is None:
        return False
    text = text.strip()
    if not text or text[0] not in "[{":
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


A = Arg.ANY
register(
    fn("isNull", lambda subject: subject is None, subject=Subject.ANY),
    fn("notNull", lambda subject: subject is not None, subject=Subject.ANY),
    fn("isEmpty", is_empty, subject=Subject.ANY),
    fn("equals", equals, A, subject=Subject.ANY),
    fn("equalsIgnoreCase", equals_ignore_case, A, subject=Subject.ANY),
    fn("gt", _comparison(lambda a, b: a > b), A, subject=Subject.ANY),
    fn("ge", _comparison(lambda a, b: a >= b), A, subject=Subject.ANY),
    fn("lt", _comparison(lambda a, b: a < b), A, subject=Subject.ANY),
    fn("le", _comparison(lambda a, b: a <= b), A, subject=Subject.ANY),
    fn("and", to_bool, Arg.BOOLEAN, subject=Subject.ANY, build=_and),
    fn("or", to_bool, Arg.BOOLEAN, subject=Subject.ANY, build=_or),
    fn("not", lambda subject: not to_bool(subject), subject=Subject.ANY),
    fn("ifElse", to_bool, A, A, subject=Subject.ANY, build=_if_else),
    fn("isJson", is_json, subject=Subject.ANY),
)
