"""Arithmetic with NiFi's types: whole numbers are 64-bit (``long``), decimals are doubles.

Two wholes give a whole, even for ``divide`` (truncating toward zero, as Java does);
a decimal on either side gives a decimal. ``math`` runs a ``java.lang.Math`` method by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from headwater.errors import ExpressionEvaluationError
from headwater.expression.functions.registry import Arg, Subject, fn, register
from headwater.expression.values import Evaluator, Lookup, to_numeric, to_whole, wrap_long

Number = int | float
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _java_div(left: int, right: int) -> int:
    if right == 0:
        raise ExpressionEvaluationError("divide: division of a whole number by zero")
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _java_mod(left: int, right: int) -> int:
    if right == 0:
        raise ExpressionEvaluationError("mod: modulo of a whole number by zero")
    return left - right * _java_div(left, right)


def _float_div(left: float, right: float) -> float:
    if right == 0:
        if left == 0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _float_mod(left: float, right: float) -> float:
    return math.nan if right == 0 else math.fmod(left, right)


def _arithmetic(
    name: str, whole: Callable[[int, int], int], decimal: Callable[[float, float], float]
) -> Callable[[object, Number], Number | None]:
    def run(subject: object, other: Number) -> Number | None:
        left = to_numeric(subject, name)
        if left is None:
            return None
        if isinstance(left, int) and isinstance(other, int):
            return wrap_long(whole(left, other))
        return decimal(float(left), float(other))

    return run


def to_radix(subject: object, base: int, width: int = 1) -> str | None:
    number = to_whole(subject, "toRadix")
    if number is None:
        return None
    if not 2 <= base <= 36:
        raise ExpressionEvaluationError(f"toRadix: base must be between 2 and 36, got {base}")
    digits, rest = [], abs(number)
    while True:
        rest, digit = divmod(rest, base)
        digits.append(_DIGITS[digit])
        if not rest:
            break
    text = "".join(reversed(digits)).rjust(width, "0")
    return "-" + text if number < 0 else text


def from_radix(text: str, base: int) -> int:
    if not 2 <= base <= 36:
        raise ExpressionEvaluationError(f"fromRadix: base must be between 2 and 36, got {base}")
    body = text[1:] if text[:1] in "+-" else text
    if not body or any(_DIGITS.find(c.lower()) not in range(base) for c in body):
        raise ExpressionEvaluationError(f"fromRadix: {text!r} is not a base-{base} number")
    value = int(text, base)
    if not -(2**63) <= value < 2**63:
        raise ExpressionEvaluationError(f"fromRadix: {text!r} does not fit in a 64-bit number")
    return value


def to_decimal(subject: object) -> float | None:
    number = to_numeric(subject, "toDecimal")
    return None if number is None else float(number)


def _round(value: float) -> int:
    return wrap_long(math.floor(value + 0.5)) if math.isfinite(value) else 0


_UNARY: dict[str, Callable[[float], Number]] = {
    "acos": math.acos, "asin": math.asin, "atan": math.atan, "cbrt": math.cbrt,
    "ceil": lambda x: float(math.ceil(x)), "cos": math.cos, "cosh": math.cosh, "exp": math.exp,
    "expm1": math.expm1, "floor": lambda x: float(math.floor(x)), "log": math.log,
    "log10": math.log10, "log1p": math.log1p, "rint": lambda x: float(round(x)),
    "signum": lambda x: math.copysign(1.0, x) if x else x, "sin": math.sin, "sinh": math.sinh,
    "sqrt": math.sqrt, "tan": math.tan, "tanh": math.tanh, "toDegrees": math.degrees,
    "toRadians": math.radians, "ulp": math.ulp, "round": _round,
    "nextUp": lambda x: math.nextafter(x, math.inf),
    "nextDown": lambda x: math.nextafter(x, -math.inf),
}  # fmt: skip
_BINARY: dict[str, Callable[[float, float], Number]] = {
    "atan2": math.atan2, "hypot": math.hypot, "pow": math.pow,
    "IEEEremainder": math.remainder, "copySign": math.copysign, "nextAfter": math.nextafter,
    "scalb": lambda x, y: math.ldexp(x, int(y)),
}  # fmt: skip
_WHOLE_BINARY: dict[str, Callable[[int, int], int]] = {
    "floorDiv": lambda x, y: x // y, "floorMod": lambda x, y: x % y,
    "addExact": lambda x, y: x + y, "subtractExact": lambda x, y: x - y,
    "multiplyExact": lambda x, y: x * y,
}  # fmt: skip


def _random_double() -> float:
    import random  # on first use rather than by every agent

    return random.random()


def _random_long() -> int:
    import random

    return random.randrange(2**63)


def java_math(method: str, *operands: Number) -> Number:
    """``java.lang.Math.<method>(operands)`` with Java's long/double result types."""
    try:
        if method == "random" and not operands:
            return _random_double()
        if len(operands) == 1:
            (x,) = operands
            if method == "abs":
                return abs(x)
            if method in ("negateExact", "incrementExact", "decrementExact") and isinstance(x, int):
                return {"negateExact": -x, "incrementExact": x + 1, "decrementExact": x - 1}[method]
            if method in _UNARY:
                return _UNARY[method](float(x))
        if len(operands) == 2:
            x, y = operands
            if method in ("max", "min"):
                both_whole = isinstance(x, int) and isinstance(y, int)
                chosen = max(x, y) if method == "max" else min(x, y)
                return chosen if both_whole else float(chosen)
            if method in _WHOLE_BINARY and isinstance(x, int) and isinstance(y, int):
                return _WHOLE_BINARY[method](x, y)
            if method in _BINARY:
                return _BINARY[method](float(x), float(y))
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        raise ExpressionEvaluationError(f"math: {method}{operands} failed: {exc}") from exc
    kinds = ", ".join("long" if isinstance(o, int) else "double" for o in operands)
    raise ExpressionEvaluationError(f"math: no java.lang.Math method {method}({kinds})")


def _math(subject: Evaluator | None, args: list[Evaluator]) -> Evaluator:
    def run(lookup: Lookup) -> object:
        values: list[Number] = []
        if subject is not None:
            value = to_numeric(subject(lookup), "math")
            if value is None:
                return None
            values.append(value)
        method = str(args[0](lookup))
        values.extend(a for a in (arg(lookup) for arg in args[1:]) if isinstance(a, int | float))
        return java_math(method, *values)

    return run


N, ANY = Arg.NUMBER, Subject.ANY
_add = _arithmetic("plus", lambda a, b: a + b, lambda a, b: a + b)
_subtract = _arithmetic("minus", lambda a, b: a - b, lambda a, b: a - b)
_multiply = _arithmetic("multiply", lambda a, b: a * b, lambda a, b: a * b)
register(
    fn("plus", _add, N, subject=ANY),
    fn("minus", _subtract, N, subject=ANY),
    fn("multiply", _multiply, N, subject=ANY),
    fn("divide", _arithmetic("divide", _java_div, _float_div), N, subject=ANY),
    fn("mod", _arithmetic("mod", _java_mod, _float_mod), N, subject=ANY),
    fn("toRadix", to_radix, Arg.WHOLE, Arg.WHOLE, optional=1, subject=ANY),
    fn("fromRadix", from_radix, Arg.WHOLE),
    fn("toNumber", lambda subject: to_whole(subject, "toNumber"), subject=ANY),
    fn("toDecimal", to_decimal, subject=ANY),
    fn("random", _random_long, subject=Subject.NONE, pure=False),
    fn("math", java_math, Arg.STRING, N, optional=1, subject=Subject.OPTIONAL, build=_math,
       pure=False),
)  # fmt: skip
