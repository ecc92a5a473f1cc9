"""UpdateAttribute: set attributes from Expression Language, delete by pattern, and
optionally remember the values between FlowFiles (NiFi's stateful UpdateAttribute)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.expression.functions.subjectless import STATE_PREFIX
from headwater.processor import DynamicProperty, Processor, Property, Relationship

STATEFUL = "Store state locally"


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


class _WithState(Mapping[str, str]):
    """A FlowFile's lookup that also answers ``getStateValue(name)`` from ``state``."""

    def __init__(self, state: Mapping[str, str], base: Mapping[str, str]) -> None:
        self._state = state
        self._base = base

    def __getitem__(self, key: str) -> str:
        if key.startswith(STATE_PREFIX):
            return self._state[key[len(STATE_PREFIX) :]]
        return self._base[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)


class UpdateAttribute(Processor):
    """Sets each dynamic property as an attribute (values may use Expression Language)
    and removes attributes whose names match Delete Attributes Expression.

    With Store State ``Store state locally``, every dynamic property is also a stateful
    variable: ``${getStateValue('name')}`` reads its value as the FlowFile before set
    it (at first the Stateful Variables Initial Value), so a flow can tell a value that
    crosses a line from one that stays over it. FlowFiles are taken in queue order and
    the state is saved once per batch, after the session commits; run it with one
    concurrent task.
    """

    tags = ("attributes", "modification", "update", "delete", "Attribute Expression Language")
    dynamic_property = DynamicProperty("An attribute to set, to the evaluated value")

    SUCCESS = Relationship("success", "All FlowFiles, updated.")

    delete = Property(
        "Delete Attributes Expression",
        "Regular expression for attribute names to delete (core ones are kept)",
        expression=True,
        parse=_pattern,
    )
    store_state = Property(
        "Store State",
        "Keep each dynamic property's last value as state, read by getStateValue()",
        default="Do not store state",
        allowed=("Do not store state", STATEFUL),
    )
    initial_state = Property(
        "Stateful Variables Initial Value",
        "The value of a stateful variable before any FlowFile set it",
        default="",
    )
    cache_size = Property(
        "canonical-value-lookup-cache-size",
        "Cache size for values",
        display_name="Cache Value Lookup Cache Size",
        default="100",
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        updates = list(context.dynamic.items())
        delete = context.value(self.delete)
        protected = {"uuid", "filename", "path"}
        state = self._state(context, [name for name, _ in updates])
        batch = session.get_batch()
        for ff in batch:
            lookup = context.lookup(ff) if state is None else _WithState(state, context.lookup(ff))
            values = {name: value.evaluate(lookup) for name, value in updates}
            if state is not None:
                state.update((name, value or "") for name, value in values.items())
            if values:
                ff = session.put_all_attributes(ff, values)
            if delete is not None:
                pattern = delete.evaluate(lookup)
                doomed = [k for k in ff.attributes if k not in protected and pattern.fullmatch(k)]
                if doomed:
                    ff = session.remove_all_attributes(ff, doomed)
            session.transfer(ff, self.SUCCESS)
        if state is not None and batch:
            # committed first: a failed commit leaves the state as it was, so the batch
            # is evaluated again from it (a crash in between may repeat, never skip)
            session.commit()
            context.state.set(state)

    def _state(self, context: ProcessContext, names: list[str]) -> dict[str, str] | None:
        """The stateful variables as stored, the initial value for those never set."""
        if context[self.store_state] != STATEFUL:
            return None
        stored = context.state.get()
        initial = context[self.initial_state] or ""
        return {name: stored.get(name, initial) for name in names}
