"""Functions over several values: ``anyAttribute``, ``allMatchingAttributes``,
``anyDelineatedValue`` and friends, with the aggregates ``count`` and ``join``.

``${allAttributes('a', 'b'):contains('x'):count()}`` is compiled as: a source of values
(here the two attributes), the per-value chain (``contains``) compiled once against a
value slot, then either the aggregate (``count``), after which the chain goes on as usual,
or, with no aggregate, an any/all reduction of the per-value results as booleans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from headwater.expression.javaregex import compile_regex
from headwater.expression.nodes import Call
from headwater.expression.values import Evaluator, Lookup, render, to_bool, to_str

if TYPE_CHECKING:
    from headwater.expression.compiler import Compiled, Compiler

Source = Callable[[Lookup], Iterator[object]]


def _source(compiler: Compiler, root: Call) -> Source:
    if not root.args:
        raise compiler.error(f"{root.name}() takes at least 1 argument, got 0", root.start)
    args = [compiler.compile(arg).run for arg in root.args]
    if root.name in ("anyAttribute", "allAttributes"):

        def named(lookup: Lookup) -> Iterator[object]:
            for arg in args:
                yield lookup.get(render(arg(lookup)))

        return named
    if root.name in ("anyMatchingAttribute", "allMatchingAttributes"):

        def matching(lookup: Lookup) -> Iterator[object]:
            patterns = [compile_regex(render(arg(lookup))) for arg in args]
            for name in list(lookup):
                if any(pattern.fullmatch(name) for pattern in patterns):
                    yield lookup.get(name)

        return matching
    if len(args) != 2:
        raise compiler.error(
            f"{root.name}() takes 2 arguments (value, delimiter), got {len(args)}", root.start
        )
    value, delimiter = args

    def delineated(lookup: Lookup) -> Iterator[object]:
        text = to_str(value(lookup))
        if text:
            yield from text.split(render(delimiter(lookup)))

    return delineated


def compile_multi(compiler: Compiler, root: Call, calls: list[Call]) -> Compiled:
    from headwater.expression.compiler import Compiled

    source = _source(compiler, root)
    aggregate_at = next((i for i, c in enumerate(calls) if c.name in ("count", "join")), None)
    per_value_calls = calls if aggregate_at is None else calls[:aggregate_at]
    # The per-value chain reads its subject from the lookup it is given, a thin wrapper
    # that carries the current value: no shared state, so evaluation stays thread-safe.
    current = Compiled(_current_value)
    for call in per_value_calls:
        current = compiler.apply(_rebased(call), current)
    per_value = current.run

    def values(lookup: Lookup) -> Iterator[object]:
        for value in source(lookup):
            yield per_value(_WithValue(lookup, value))

    if aggregate_at is None:
        reduce = any if root.name.startswith("any") else all
        return Compiled(lambda lookup: reduce(to_bool(v) for v in values(lookup)))
    aggregate = calls[aggregate_at]
    if root.name.startswith("any"):
        raise compiler.error(
            f"{aggregate.name}() needs allAttributes, allMatchingAttributes or "
            f"allDelineatedValues, not {root.name}()",
            aggregate.start,
        )
    result = _aggregate(compiler, aggregate, values)
    for call in calls[aggregate_at + 1 :]:
        if call.name in ("count", "join"):
            raise compiler.error(f"only one {call.name}() per expression", call.start)
        result = compiler.apply(_rebased(call), result)
    return result


def _aggregate(
    compiler: Compiler, call: Call, values: Callable[[Lookup], Iterator[object]]
) -> Compiled:
    from headwater.expression.compiler import Compiled

    if call.name == "count":
        if call.args:
            raise compiler.error(f"count() takes 0 arguments, got {len(call.args)}", call.start)

        def count(lookup: Lookup) -> int:
            return sum(1 for v in values(lookup) if v is not None and v is not False)

        return Compiled(count)
    if len(call.args) != 1:
        raise compiler.error(f"join() takes 1 argument, got {len(call.args)}", call.start)
    delimiter: Evaluator = compiler.compile(call.args[0]).run

    def join(lookup: Lookup) -> str:
        parts = ["" if v is None else render(v) for v in values(lookup)]
        return render(delimiter(lookup)).join(parts)

    return Compiled(join)


def _rebased(call: Call) -> Call:
    """The call with a placeholder subject: :meth:`Compiler.apply` gets the real one."""
    return Call(call.name, _SLOT, call.args, call.start)


_SLOT = Call("<value>", None, (), 0)


class _WithValue(Mapping[str, str]):
    """The FlowFile's lookup, plus the value the per-value chain is working on."""

    __slots__ = ("base", "value")

    def __init__(self, base: Lookup, value: object) -> None:
        self.base = base
        self.value = value

    def __getitem__(self, key: str) -> str:
        return self.base[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        return self.base.get(key, default)


def _current_value(lookup: Lookup) -> object:
    return lookup.value if isinstance(lookup, _WithValue) else None
