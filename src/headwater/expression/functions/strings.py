"""String manipulation: case, trimming, substrings, replacing, padding, delimited fields."""

from __future__ import annotations

from headwater.errors import ExpressionEvaluationError
from headwater.expression.functions.registry import Arg, Subject, fn, register
from headwater.expression.javaregex import compile_regex, translate_replacement
from headwater.expression.values import Evaluator, Lookup, to_str

_JAVA_WHITESPACE = "".join(chr(code) for code in range(33))


def substring(text: str, start: int, end: int | None = None) -> str:
    length = len(text)
    stop = length if end is None else end
    if start < 0 or start > length or stop < 0 or stop > length:
        return ""
    if start > stop:
        raise ExpressionEvaluationError(
            f"substring: start index {start} is greater than end index {stop}"
        )
    return text[start:stop]


def before(text: str, value: str) -> str:
    index = text.find(value)
    return text if index < 0 else text[:index]


def before_last(text: str, value: str) -> str:
    index = text.rfind(value)
    return text if index < 0 else text[:index]


def after(text: str, value: str) -> str:
    index = text.find(value)
    return text if index < 0 else text[index + len(value) :]


def after_last(text: str, value: str) -> str:
    index = text.rfind(value)
    return text if index < 0 else text[index + len(value) :]


def delimited_field(
    text: str,
    index: int,
    delimiter: str = ",",
    quote: str = '"',
    escape: str = "\\",
    strip: bool = False,
) -> str:
    """Field ``index`` (1-based) of a delimited line, honouring quotes and escapes."""
    if index < 1:
        raise ExpressionEvaluationError(f"getDelimitedField: index must be 1 or more, got {index}")
    for name, value in (("delimiter", delimiter), ("quote", quote), ("escape", escape)):
        if len(value) != 1:
            raise ExpressionEvaluationError(
                f"getDelimitedField: the {name} must be exactly one character, got {value!r}"
            )
    field, current, quoted, escaped = 1, [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == escape:
            escaped = True
            if not strip:
                current.append(char)
        elif char == quote:
            quoted = not quoted
            if not strip:
                current.append(char)
        elif char == delimiter and not quoted:
            if field == index:
                return "".join(current)
            field += 1
            current = []
        else:
            current.append(char)
    return "".join(current) if field == index else ""


def append(subject: object, value: str) -> str:
    return (to_str(subject) or "") + value


def prepend(subject: object, value: str) -> str:
    return value + (to_str(subject) or "")


def replace_first(text: str, pattern: str, replacement: str) -> str:
    regex = compile_regex(pattern)
    return regex.sub(translate_replacement(replacement, regex.groups), text, count=1)


def replace_all(text: str, pattern: str, replacement: str) -> str:
    regex = compile_regex(pattern)
    return regex.sub(translate_replacement(replacement, regex.groups), text)


def _padding(text: str, length: int, pad: str) -> str:
    if length <= len(text) or not pad or length > 2**31 - 1:
        return ""
    missing = length - len(text)
    return (pad * (missing // len(pad) + 1))[:missing]


def pad_left(text: str, length: int, pad: str = "_") -> str:
    return _padding(text, length, pad) + text


def pad_right(text: str, length: int, pad: str = "_") -> str:
    return text + _padding(text, length, pad)


def replace_null(subject: object, replacement: object) -> object:
    return replacement if subject is None else subject


def replace_empty(subject: object, replacement: object) -> object:
    text = to_str(subject)
    return replacement if text is None or not text.strip(_JAVA_WHITESPACE) else subject


def repeat(text: str, low: int, high: int | None = None) -> str:
    if low < 0 or (high is not None and high < low):
        raise ExpressionEvaluationError(
            f"repeat: need 0 <= min <= max repeats, got min {low} and max {high}"
        )
    import random  # on first use

    return text * (low if high is None else random.randint(low, high))


def _evaluate_el(subject: Evaluator | None, args: list[Evaluator]) -> Evaluator:
    from headwater.expression.template import compile_cached

    assert subject is not None

    def evaluate(lookup: Lookup) -> object:
        text = to_str(subject(lookup))
        return None if text is None else compile_cached(text).evaluate(lookup)

    return evaluate


S, W = Arg.STRING, Arg.WHOLE
register(
    fn("toUpper", str.upper),
    fn("toLower", str.lower),
    fn("trim", lambda text: text.strip(_JAVA_WHITESPACE)),
    fn("substring", substring, W, W, optional=1),
    fn("substringBefore", before, S),
    fn("substringBeforeLast", before_last, S),
    fn("substringAfter", after, S),
    fn("substringAfterLast", after_last, S),
    fn("getDelimitedField", delimited_field, W, S, S, S, Arg.BOOLEAN, optional=4),
    fn("append", append, S, subject=Subject.ANY),
    fn("prepend", prepend, S, subject=Subject.ANY),
    fn("replace", lambda text, old, new: text.replace(old, new), S, S),
    fn("replaceFirst", replace_first, S, S),
    fn("replaceAll", replace_all, S, S),
    fn("padLeft", pad_left, W, S, optional=1),
    fn("padRight", pad_right, W, S, optional=1),
    fn("replaceNull", replace_null, Arg.ANY, subject=Subject.ANY),
    fn("replaceEmpty", replace_empty, Arg.ANY, subject=Subject.ANY),
    fn("length", len, on_null=0),
    fn("repeat", repeat, W, W, optional=1, pure=False),
    fn("toString", lambda text: text),
    fn("evaluateELString", None, build=_evaluate_el, pure=False),  # type: ignore[arg-type]
)
