"""One exception tree for all of headwater.

::

    HeadwaterError
    ├── ConfigurationError (also ValueError)   bad flow, property or expression, at load time;
    │   │                                      lists every problem with its path
    │   └── ExpressionError                    an Expression Language text that does not compile
    ├── ProcessException                       a processor's expected failure on one FlowFile:
    │   │                                      route it to `failure` with the reason
    │   └── ExpressionEvaluationError          an expression that compiled but failed on a FlowFile
    ├── FlowFileHandlingError                  a processor misused its session (transfer of an
    │                                          unknown FlowFile, an unaccounted FlowFile at commit):
    │                                          a bug in the processor, the session rolls back
    ├── RepositoryError                        a repository could not read or write (sqlite, disk);
    │                                          the engine stops cleanly with queues intact
    └── ApiError                               a bad request to an HTTP API (4xx with a reason)

Anything else raised by a processor's ``on_trigger`` rolls the session back, penalizes
nothing, yields the processor (administrative yield) and shows as a bulletin.
Lower-level errors (sqlite3, OSError, HTTP) are translated at the boundary with
``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class HeadwaterError(Exception):
    """Root of every error headwater raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One configuration problem: where it is, what is wrong, and what to do."""

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} ({self.hint})" if self.hint else text


class ConfigurationError(HeadwaterError, ValueError):
    """Configuration that cannot run: raised at load time, never while data flows."""

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        self.problems = [Problem("", problems)] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def at(self, prefix: str) -> ConfigurationError:
        """The same problems, with ``prefix`` put in front of every path."""
        return ConfigurationError(
            Problem(f"{prefix}.{p.path}" if p.path else prefix, p.message, p.hint)
            for p in self.problems
        )


class ExpressionError(ConfigurationError):
    """An Expression Language text that does not compile; ``column`` is 1-based."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        self.expression = expression
        self.column = column
        self.reason = message
        super().__init__(f"{message} at column {column} of {expression!r}")

    def pointer(self) -> str:
        """The expression with a caret under the offending column, for terminals."""
        return f"{self.expression}\n{' ' * (self.column - 1)}^ {self.reason}"


class ProcessException(HeadwaterError):
    """An expected failure on one FlowFile: route it to failure with this message."""


class ExpressionEvaluationError(ProcessException):
    """An expression compiled but could not be evaluated against this FlowFile."""


class FlowFileHandlingError(HeadwaterError):
    """A processor used its session wrongly; the session is rolled back."""


class RepositoryError(HeadwaterError):
    """A repository failed to read or write; the engine stops with queues intact."""


class ApiError(HeadwaterError):
    """A bad API request: ``status`` is the 4xx code to answer with."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)
