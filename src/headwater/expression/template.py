"""The compiled expression: what processors hold and evaluate per FlowFile."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from headwater.errors import ExpressionEvaluationError
from headwater.expression.compiler import Compiler
from headwater.expression.nodes import Literal
from headwater.expression.parser import parse
from headwater.expression.values import Evaluator, render


class Expression:
    """An Expression Language text compiled into closures.

    ``evaluate`` and ``evaluate_value`` are plain attributes holding the closures, so a
    call costs what the expression does and nothing more; a literal text returns its
    constant.
    """

    __slots__ = ("attribute_names", "evaluate", "evaluate_value", "is_literal", "text")

    text: str
    is_literal: bool
    attribute_names: frozenset[str]
    evaluate: Callable[[Mapping[str, str]], str]
    evaluate_value: Callable[[Mapping[str, str]], object]

    def __init__(self, text: str) -> None:
        tree = parse(text)
        compiler = Compiler(text)
        single = len(tree.parts) == 1 and not isinstance(tree.parts[0], Literal)
        whole = compiler.compile(tree.parts[0] if single else tree)
        self.text = text
        self.is_literal = all(isinstance(part, Literal) for part in tree.parts)
        self.attribute_names = frozenset(compiler.attributes)
        if whole.constant:
            result, rendered = whole.value, render(whole.value)
            self.evaluate = lambda lookup: rendered
            self.evaluate_value = (lambda lookup: result) if single else self.evaluate
            return
        run = whole.run
        if single:
            self.evaluate_value = _guarded(run, text)
            self.evaluate = _guarded(lambda lookup: render(run(lookup)), text)  # type: ignore[assignment]
        else:
            self.evaluate = _guarded(run, text)  # type: ignore[assignment]
            self.evaluate_value = self.evaluate

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _guarded(run: Evaluator, text: str) -> Evaluator:
    """``run``, with unexpected Python errors turned into ``ExpressionEvaluationError``."""

    def evaluate(lookup: Mapping[str, str]) -> object:
        try:
            return run(lookup)
        except ExpressionEvaluationError:
            raise
        except (ValueError, TypeError, ArithmeticError, LookupError, OSError) as exc:
            raise ExpressionEvaluationError(f"cannot evaluate {text!r}: {exc}") from exc

    return evaluate


def compile_expression(text: str) -> Expression:
    """Compile ``text``; raises :class:`~headwater.errors.ExpressionError` with a column."""
    return Expression(text)


@lru_cache(maxsize=1024)
def compile_cached(text: str) -> Expression:
    """A shared compiled expression, for texts that are only known at evaluation time."""
    return Expression(text)
