"""Configured property values, compiled once, and the contexts components see.

``ServiceContext`` is what a controller service gets when enabled; ``ProcessContext``
adds what a running processor needs (yield, state, component identity). Both compile
every property once: a plain value is parsed at load time, a value with Expression
Language is compiled and evaluated per FlowFile. Building a context validates every
property and raises one ``ConfigurationError`` listing all problems. A component logs
through ``context.logger``, whose warnings and errors also become bulletins in the
status API, as NiFi's component log does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic

from headwater.errors import ConfigurationError, ExpressionError, Problem, ProcessException
from headwater.expression import Expression, compile_expression
from headwater.flowfile import FlowFile
from headwater.processor import Component, ControllerService, Property

if TYPE_CHECKING:
    from headwater.engine.state import StateMap

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    T = TypeVar("T", default=str)
else:  # the default matters only to the type checker; typing_extensions is 0.6 MB
    from typing import TypeVar

    T = TypeVar("T")

_EMPTY: Mapping[str, str] = {}


class PropertyValue(Generic[T]):
    """One configured value: a parsed constant, or an expression parsed per evaluation."""

    __slots__ = ("_constant", "_expression", "_parse", "name", "raw")

    def __init__(
        self, name: str, raw: str, parse: Callable[[str], T], expression: Expression | None
    ) -> None:
        self.name = name
        self.raw = raw
        self._parse = parse
        self._expression = expression if expression and not expression.is_literal else None
        self._constant: T | None = None
        if self._expression is None:
            text = expression.evaluate(_EMPTY) if expression else raw
            self._constant = parse(text)

    @property
    def is_constant(self) -> bool:
        return self._expression is None

    def evaluate(self, lookup: Mapping[str, str]) -> T:
        if self._expression is None:
            return self._constant  # type: ignore[return-value]
        text = self._expression.evaluate(lookup)
        try:
            return self._parse(text)
        except (ValueError, TypeError, LookupError) as exc:
            raise ProcessException(f"property {self.name!r} evaluated to {text!r}: {exc}") from exc


def validate_properties(
    component: type[Component],
    values: Mapping[str, str],
    services: Mapping[str, type[ControllerService]],
) -> list[Problem]:
    """Every problem with these property values, each with the path ``properties.NAME``."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for key, text in values.items():
        prop = component.property_named(key)
        path = f"properties.{key}"
        if prop is None:
            if component.dynamic_property is None:
                problems.append(_unknown_property(component, key))
            elif component.dynamic_property.expression:
                problems.extend(_expression_problems(path, text))
            continue
        seen.add(prop.name)
        if prop.service is not None:
            problems.extend(_service_problems(path, prop, text, services))
        elif prop.expression and "${" in text:
            problems.extend(_expression_problems(path, text))
        else:
            problem = prop.check(text)
            if problem:
                problems.append(Problem(path, problem))
    for prop in component.properties:
        if prop.required and prop.default is None and prop.name not in seen:
            problems.append(
                Problem(f"properties.{prop.name}", "is required", f"{prop.description}".strip())
            )
    if not problems:
        problems.extend(component.custom_validate(canonical_values(component, values)))
    return problems


def canonical_values(component: type[Component], values: Mapping[str, str]) -> dict[str, str]:
    """Values keyed by property name (display names resolved), defaults filled in."""
    out = {p.name: p.default for p in component.properties if p.default is not None}
    for key, text in values.items():
        prop = component.property_named(key)
        out[prop.name if prop else key] = text
    return out


def _unknown_property(component: type[Component], key: str) -> Problem:
    import difflib

    names = [p.name for p in component.properties] + [p.display_name for p in component.properties]
    near = difflib.get_close_matches(key, names, n=1)
    hint = (
        f"did you mean {near[0]!r}?"
        if near
        else f"{component.type_name()} has: " + ", ".join(p.name for p in component.properties)
    )
    return Problem(f"properties.{key}", f"unknown property of {component.type_name()}", hint)


def _expression_problems(path: str, text: str) -> list[Problem]:
    try:
        compile_expression(text)
    except ExpressionError as exc:
        return [Problem(path, str(exc))]
    return []


def _service_problems(
    path: str, prop: Property[Any], text: str, services: Mapping[str, type[ControllerService]]
) -> list[Problem]:
    assert prop.service is not None
    kind = services.get(text)
    if kind is None:
        known = ", ".join(sorted(services)) or "none are declared"
        return [
            Problem(path, f"refers to a missing controller service {text!r}", f"services: {known}")
        ]
    if not issubclass(kind, prop.service):
        return [
            Problem(
                path, f"service {text!r} is a {kind.type_name()}, not a {prop.service.__name__}"
            )
        ]
    return []


Bulletins = Callable[[str, str], None]
"""Where a component's warnings go to be seen: ``(level, message)``."""


class ComponentLog(logging.LoggerAdapter[logging.Logger]):
    """A component's logger: a warning or an error is also posted as a bulletin, so the
    status API shows why FlowFiles are going to failure without anyone reading logs."""

    def __init__(self, logger: logging.Logger, bulletins: Bulletins | None) -> None:
        super().__init__(logger, None)
        self._bulletins = bulletins

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        super().log(level, msg, *args, **kwargs)
        if self._bulletins is not None and level >= logging.WARNING:
            text = str(msg) % args if args else str(msg)
            self._bulletins(logging.getLevelName(level), text)


class ServiceContext:
    """Property values of one component, compiled; built once when it is scheduled."""

    def __init__(
        self,
        component_id: str,
        component: type[Component],
        values: Mapping[str, str],
        services: Mapping[str, ControllerService] | None = None,
        variables: Mapping[str, str] | None = None,
        bulletins: Bulletins | None = None,
    ) -> None:
        self.id = component_id
        self.component = component
        self.services = dict(services or {})
        self.variables: Mapping[str, str] = os.environ if variables is None else variables
        problems = validate_properties(
            component, values, {k: type(v) for k, v in self.services.items()}
        )
        if problems:
            raise ConfigurationError(problems).at(component_id)
        self.raw = canonical_values(component, values)
        self._values: dict[str, PropertyValue[Any]] = {}
        self.dynamic: dict[str, PropertyValue[str]] = {}
        for name, text in self.raw.items():
            prop = component.property_named(name)
            if prop is None:
                self.dynamic[name] = PropertyValue(name, text, str, self._compile(text, True))
            elif prop.service is not None:
                self._values[name] = PropertyValue(name, text, self.services.__getitem__, None)
            else:
                self._values[name] = PropertyValue(
                    name, text, prop.parse, self._compile(text, prop.expression)
                )
        self.logger = ComponentLog(
            logging.getLogger(f"headwater.{component.type_name()}.{component_id}"), bulletins
        )

    @staticmethod
    def _compile(text: str, expression: bool) -> Expression | None:
        return compile_expression(text) if expression and "$" in text else None

    def __getitem__(self, prop: Property[T]) -> T:
        value = self._values.get(prop.name)
        if value is None:
            raise ProcessException(f"property {prop.name!r} of {self.id} has no value")
        return value.evaluate(self.variables)  # type: ignore[no-any-return]

    def get(self, prop: Property[T]) -> T | None:
        value = self._values.get(prop.name)
        return None if value is None else value.evaluate(self.variables)

    def is_set(self, prop: Property[Any]) -> bool:
        return prop.name in self._values

    def value(self, prop: Property[T]) -> PropertyValue[T] | None:
        """The compiled value, for hot loops that evaluate it many times."""
        return self._values.get(prop.name)

    def lookup(self, flowfile: FlowFile) -> Mapping[str, str]:
        """What the Expression Language sees for this FlowFile."""
        return flowfile.lookup(self.variables)

    def evaluate(self, prop: Property[T], flowfile: FlowFile) -> T:
        value = self._values.get(prop.name)
        if value is None:
            raise ProcessException(f"property {prop.name!r} of {self.id} has no value")
        return value.evaluate(flowfile.lookup(self.variables))  # type: ignore[no-any-return]


class ProcessContext(ServiceContext):
    """What a processor sees while scheduled: its properties, state and yield."""

    def __init__(
        self,
        component_id: str,
        component: type[Component],
        values: Mapping[str, str],
        services: Mapping[str, ControllerService] | None = None,
        variables: Mapping[str, str] | None = None,
        state: StateMap | None = None,
        concurrent_tasks: int = 1,
        bulletins: Bulletins | None = None,
    ) -> None:
        super().__init__(component_id, component, values, services, variables, bulletins)
        self.concurrent_tasks = concurrent_tasks
        self._state = state
        self.yield_requested = False

    def yield_(self) -> None:
        """Ask not to be triggered again until the yield duration has passed."""
        self.yield_requested = True

    @property
    def state(self) -> StateMap:
        if self._state is None:
            raise ProcessException(f"{self.id} has no state manager in this context")
        return self._state
