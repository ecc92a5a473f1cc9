"""From syntax tree to a tree of Python closures, checked once, evaluated many times.

Every node becomes ``Callable[[lookup], value]``. Arguments are coerced to the kinds the
function declares (constants at compile time, so a literal regex is compiled once), and
a call whose inputs are all constants is folded into a constant. The hot shape
``${attr:fn('literal')}`` becomes a single closure that reads the attribute and calls the
implementation, with no intermediate calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from headwater.errors import ExpressionError, ExpressionEvaluationError
from headwater.expression import functions
from headwater.expression.functions.registry import FUNCTIONS, Arg, Function, Subject
from headwater.expression.javaregex import compile_regex
from headwater.expression.nodes import Attribute, Call, Literal, Node, Template
from headwater.expression.values import (
    Evaluator,
    render,
    to_bool,
    to_numeric,
    to_str,
    to_whole,
)

MULTI = frozenset(
    {
        "anyAttribute",
        "allAttributes",
        "anyMatchingAttribute",
        "allMatchingAttributes",
        "anyDelineatedValue",
        "allDelineatedValues",
    }
)
AGGREGATES = frozenset({"count", "join"})


@dataclass(frozen=True, slots=True)
class Compiled:
    run: Evaluator
    constant: bool = False
    value: object = None


def constant(value: object) -> Compiled:
    return Compiled(lambda lookup: value, True, value)


class Compiler:
    """Compiles the nodes of one expression text, collecting the attribute names it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.attributes: set[str] = set()

    def error(self, message: str, start: int) -> ExpressionError:
        return ExpressionError(message, self.text, start + 1)

    def compile(self, node: Node) -> Compiled:
        if isinstance(node, Literal):
            return constant(node.value)
        if isinstance(node, Attribute):
            self.attributes.add(node.name)
            name = node.name
            return Compiled(lambda lookup: lookup.get(name))
        if isinstance(node, Template):
            return self.template(node)
        return self.call(node)

    def template(self, node: Template) -> Compiled:
        parts = [self.compile(part) for part in node.parts]
        if all(part.constant for part in parts):
            return constant("".join(render(part.value) for part in parts))
        if len(parts) == 1:
            only = parts[0].run
            return Compiled(lambda lookup: render(only(lookup)))
        runs = [part.run for part in parts]
        return Compiled(lambda lookup: "".join([render(run(lookup)) for run in runs]))

    def lookup_function(self, name: str, start: int) -> Function:
        function = functions.lookup(name)
        if function is not None:
            return function
        known = sorted(set(FUNCTIONS) | MULTI | AGGREGATES)  # all registered by the miss
        import difflib  # only for a misspelt name

        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        lowered = [k for k in known if k.lower() == name.lower()]
        close = lowered + [c for c in close if c not in lowered]
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise self.error(f"unknown function {name!r}{hint}", start)

    def call(self, node: Call) -> Compiled:
        chain: list[Call] = [node]
        while isinstance(chain[-1].subject, Call):
            chain.append(chain[-1].subject)
        root = chain[-1]
        if root.subject is None and root.name in MULTI:
            from headwater.expression.multi import compile_multi

            return compile_multi(self, root, list(reversed(chain[:-1])))
        if node.name in AGGREGATES:
            raise self.error(
                f"{node.name}() aggregates the values of allAttributes, allMatchingAttributes "
                "or allDelineatedValues and cannot be used without one of them",
                node.start,
            )
        return self.apply(node, None if node.subject is None else self.compile(node.subject))

    def apply(self, node: Call, subject: Compiled | None) -> Compiled:
        """Compile ``node`` against an already compiled subject (None when subjectless)."""
        function = self.lookup_function(node.name, node.start)
        if subject is None and function.subject not in (Subject.NONE, Subject.OPTIONAL):
            raise self.error(
                f"{node.name}() needs a subject, as in ${{attribute:{node.name}(...)}}", node.start
            )
        if subject is not None and function.subject is Subject.NONE:
            raise self.error(
                f"{node.name}() takes no subject: call it first, as in ${{{node.name}()}}",
                node.start,
            )
        count = len(node.args)
        high = function.max_args
        if count < function.min_args or (high is not None and count > high):
            raise self.error(f"{node.name}() takes {function.arity()}, got {count}", node.start)
        args = [self.argument(function, index, arg) for index, arg in enumerate(node.args)]
        compiled = self.bind(function, node, subject, args)
        if (
            function.pure
            and (subject is None or subject.constant)
            and all(a.constant for a in args)
        ):
            try:
                return constant(compiled.run({}))
            except ExpressionEvaluationError:
                return compiled  # fails at evaluation, with the FlowFile's context
        return compiled

    def argument(self, function: Function, index: int, node: Node) -> Compiled:
        kind = function.kind(index)
        compiled = self.compile(node)
        convert = _CONVERT[kind]
        if compiled.constant:
            try:
                return constant(convert(compiled.value, function.name))
            except ExpressionEvaluationError as exc:
                raise self.error(
                    f"argument {index + 1} of {function.name}() must be a {kind.value}: {exc}",
                    getattr(node, "start", 0),
                ) from None
        if kind is Arg.ANY:
            return compiled
        run = compiled.run
        name = function.name
        return Compiled(lambda lookup: convert(run(lookup), name))

    def bind(
        self, function: Function, node: Call, subject: Compiled | None, args: list[Compiled]
    ) -> Compiled:
        runs = [a.run for a in args]
        if function.build is not None:
            return Compiled(function.build(None if subject is None else subject.run, runs))
        impl = function.impl
        if subject is None:
            return Compiled(_subjectless(impl, runs))
        on_null = function.on_null
        if function.subject is Subject.STRING:
            if isinstance(node.subject, Attribute):
                name = node.subject.name
                if not args:
                    return Compiled(lambda lk: on_null if (s := lk.get(name)) is None else impl(s))
                if len(args) == 1 and args[0].constant:
                    c = args[0].value
                    return Compiled(
                        lambda lk: on_null if (s := lk.get(name)) is None else impl(s, c)
                    )
                get: Evaluator = lambda lk: lk.get(name)  # noqa: E731
            else:
                inner = subject.run
                get = lambda lk: to_str(inner(lk))  # noqa: E731
        else:
            get = subject.run
            on_null = _PASS
        consts = [a.value for a in args] if all(a.constant for a in args) else None
        return Compiled(_with_subject(impl, get, runs, consts, on_null))


_PASS = object()  # marker: the implementation handles a null subject itself


def _subjectless(impl: Callable[..., object], runs: list[Evaluator]) -> Evaluator:
    if not runs:
        return lambda lookup: impl()
    return lambda lookup: impl(*[run(lookup) for run in runs])


def _with_subject(
    impl: Callable[..., object],
    get: Evaluator,
    runs: list[Evaluator],
    consts: list[object] | None,
    on_null: object,
) -> Evaluator:
    if on_null is _PASS:
        if consts is not None:
            return lambda lk: impl(get(lk), *consts)
        return lambda lk: impl(get(lk), *[run(lk) for run in runs])
    if consts is not None:
        if not consts:
            return lambda lk: on_null if (s := get(lk)) is None else impl(s)
        return lambda lk: on_null if (s := get(lk)) is None else impl(s, *consts)
    if len(runs) == 1:
        only = runs[0]
        return lambda lk: on_null if (s := get(lk)) is None else impl(s, only(lk))
    return lambda lk: on_null if (s := get(lk)) is None else impl(s, *[r(lk) for r in runs])


def _as_string(value: object, function: str) -> str:
    text = to_str(value)
    return "" if text is None else text


def _as_whole(value: object, function: str) -> int:
    number = to_whole(value, function)
    if number is None:
        raise ExpressionEvaluationError(f"{function}: expected a whole number, got null")
    return number


def _as_number(value: object, function: str) -> int | float:
    number = to_numeric(value, function)
    if number is None:
        raise ExpressionEvaluationError(f"{function}: expected a number, got null")
    return number


def _as_regex(value: object, function: str) -> re.Pattern[str]:
    return compile_regex(_as_string(value, function))


def _as_any(value: object, function: str) -> object:
    return value


_CONVERT: dict[Arg, Callable[[object, str], object]] = {
    Arg.STRING: _as_string,
    Arg.WHOLE: _as_whole,
    Arg.NUMBER: _as_number,
    Arg.BOOLEAN: lambda value, function: to_bool(value),
    Arg.REGEX: _as_regex,
    Arg.ANY: _as_any,
}
