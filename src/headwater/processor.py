"""Processors and controller services: declared properties and relationships.

A component declares its properties and relationships as class attributes; that one
declaration drives validation at load time, the generated docs and the UI. Property
keys are the names NiFi stores in flow definitions; display names are accepted as
aliases. Every concrete subclass registers itself by its class name, which is the
``type`` a flow file uses.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from headwater.errors import ConfigurationError, Problem

if TYPE_CHECKING:
    from headwater.context import ProcessContext, ServiceContext
    from headwater.engine.session import ProcessSession

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    T = TypeVar("T", default=str)
else:  # the default matters only to the type checker; typing_extensions is 0.6 MB
    from typing import TypeVar

    T = TypeVar("T")
C = TypeVar("C", bound="Component")


def _text(value: str) -> Any:
    return value


class Property(Generic[T]):
    """A declared property. ``parse`` turns the text into the value and raises
    ``ValueError`` with a readable message when the text is wrong; it runs at load time
    for plain values and at evaluation time for values with Expression Language.
    ``service`` names the controller-service class a value must refer to."""

    def __init__(
        self,
        name: str,
        description: str = "",
        *,
        default: str | None = None,
        required: bool = False,
        expression: bool = False,
        parse: Callable[[str], T] = _text,
        allowed: Sequence[str] | None = None,
        display_name: str | None = None,
        sensitive: bool = False,
        service: type[ControllerService] | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.default = default
        self.required = required
        self.expression = expression
        self.parse = parse
        self.allowed = tuple(allowed) if allowed else None
        self.display_name = display_name or name
        self.sensitive = sensitive
        self.service = service

    def check(self, text: str) -> str | None:
        """The problem with a plain (non-expression) value, or None."""
        if self.allowed is not None and text not in self.allowed:
            near = get_close_matches(text, self.allowed, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            return f"expected one of {', '.join(self.allowed)}, got {text!r}{hint}"
        try:
            self.parse(text)
        except (ValueError, TypeError, LookupError) as exc:
            return str(exc) or f"invalid value {text!r}"
        return None

    def __repr__(self) -> str:
        return f"Property({self.name!r})"


def flag(
    name: str,
    description: str,
    *,
    default: str,
    required: bool = False,
    display_name: str | None = None,
) -> Property[bool]:
    """A true/false property, as NiFi declares its boolean ones."""
    from headwater.units import parse_bool

    return Property(
        name,
        description,
        default=default,
        required=required,
        allowed=("true", "false"),
        parse=parse_bool,
        display_name=display_name,
    )


@dataclass(frozen=True)
class DynamicProperty:
    """Declares that a component takes user-named properties (UpdateAttribute's)."""

    description: str
    expression: bool = True


@dataclass(frozen=True)
class Relationship:
    name: str
    description: str = ""

    def __str__(self) -> str:
        return self.name


class InputRequirement(StrEnum):
    """NiFi's @InputRequirement: whether the processor may or must have incoming queues."""

    REQUIRED = "INPUT_REQUIRED"
    ALLOWED = "INPUT_ALLOWED"
    FORBIDDEN = "INPUT_FORBIDDEN"


class Component:
    """What processors and controller services share: declared properties."""

    properties: ClassVar[tuple[Property[Any], ...]] = ()
    dynamic_property: ClassVar[DynamicProperty | None] = None
    tags: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Property[Any]] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Property):
                    found[value.name] = value
        cls.properties = tuple(found.values())

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def describe(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")

    @classmethod
    def property_named(cls, key: str) -> Property[Any] | None:
        """The property with this name or display name."""
        for prop in cls.properties:
            if key in (prop.name, prop.display_name):
                return prop
        return None

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        """Problems between properties that no single property can see."""
        return []


class Processor(Component, ABC):
    """A processor: implement ``on_trigger``; declare properties and relationships."""

    relationships: ClassVar[tuple[Relationship, ...]] = ()
    input_requirement: ClassVar[InputRequirement] = InputRequirement.ALLOWED
    default_schedule: ClassVar[str] = "0 sec"
    """The run schedule when the flow gives none (timer-driven period)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Relationship] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Relationship):
                    found[value.name] = value
        cls.relationships = tuple(found.values())
        if _concrete(cls):
            PROCESSOR_TYPES[cls.type_name()] = cls

    @classmethod
    def relationships_for(cls, values: Mapping[str, str]) -> tuple[Relationship, ...]:
        """The relationships given these property values (RouteOnAttribute adds its own)."""
        return cls.relationships

    def on_scheduled(self, context: ProcessContext) -> None:
        """Called once before the first trigger: compile, open, connect."""

    @abstractmethod
    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Do the work: take FlowFiles from ``session``, transfer what comes out."""

    def has_pending_work(self) -> bool:
        """Whether a trigger would find work now; asked of a scheduled source only. A
        source fed from outside (ListenHTTP's server thread) answers from its own queue
        and calls the wake-up it got in ``attach_wake`` when work arrives, so it is
        triggered at once and never polled. The default, True, triggers a source on its
        run schedule."""
        return True

    def attach_wake(self, wake: Callable[[], None]) -> None:
        """Receive the engine's wake-up call (thread-safe: it makes the scheduler look
        for work now), before ``on_scheduled``; see ``has_pending_work``."""

    def on_stopped(self, context: ProcessContext) -> None:
        """Called once after the last trigger has returned."""


class ControllerService(Component):
    """A shared service (record reader, schema registry, SSL context) enabled once."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if _concrete(cls):
            SERVICE_TYPES[cls.type_name()] = cls

    def on_enabled(self, context: ServiceContext) -> None:
        """Called once when the service is enabled, before any processor uses it."""

    def on_disabled(self) -> None:
        """Called once when the flow stops."""


PROCESSOR_TYPES: dict[str, type[Processor]] = {}
"""Every concrete processor class by type name; ``_Private`` and ``Abstract*`` are not."""
SERVICE_TYPES: dict[str, type[ControllerService]] = {}


def _concrete(cls: type) -> bool:
    """A type a flow can name: not a base that leaves on_trigger to its subclasses."""
    return not cls.__name__.startswith(("_", "Abstract")) and not inspect.isabstract(cls)


def processor_type(name: str) -> type[Processor]:
    """The processor class registered under ``name``, with a suggestion when unknown.
    A built-in type's module is imported when first asked for (``headwater.catalog``)."""
    from headwater.catalog import PROCESSORS

    return _registered(name, PROCESSOR_TYPES, PROCESSORS, "processor type")


def service_type(name: str) -> type[ControllerService]:
    from headwater.catalog import SERVICES

    return _registered(name, SERVICE_TYPES, SERVICES, "controller service type")


def _registered(
    name: str, registry: Mapping[str, type[C]], builtin: Mapping[str, str], kind: str
) -> type[C]:
    if name not in registry and name in builtin:
        import importlib

        importlib.import_module(builtin[name])
    if name not in registry:
        load_extensions()  # an installed extension's type, or every name for the hint
    try:
        return registry[name]
    except KeyError:
        raise ConfigurationError([_unknown(kind, name, registry)]) from None


def _unknown(kind: str, name: str, known: Mapping[str, object]) -> Problem:
    near = get_close_matches(name, list(known), n=3)
    hint = f"did you mean {' or '.join(near)}?" if near else "see `headwater` docs for the types"
    return Problem("", f"unknown {kind} {name!r}", hint)


_loaded = False


def load_extensions() -> None:
    """Import every built-in processor and service, and any installed under the
    ``headwater.extensions`` entry point group, so they register themselves (for the
    docs and for suggestions; a flow imports only what it names)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    from importlib.metadata import entry_points

    from headwater.catalog import PROCESSORS, SERVICES

    for module in sorted({*PROCESSORS.values(), *SERVICES.values()}):
        importlib.import_module(module)
    for entry in entry_points(group="headwater.extensions"):
        entry.load()


def get_close_matches(word: str, possibilities: Sequence[str], n: int) -> list[str]:
    """``difflib``'s, imported when a name is wrong rather than by every process."""
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n)
