"""UpdateAttribute: set attributes from Expression Language, delete by pattern."""

from __future__ import annotations

import re

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import DynamicProperty, Processor, Property, Relationship


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


class UpdateAttribute(Processor):
    """Sets each dynamic property as an attribute (values may use Expression Language)
    and removes attributes whose names match Delete Attributes Expression."""

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
        "Whether to keep state between runs",
        default="Do not store state",
        allowed=("Do not store state", "Store state locally"),
    )
    initial_state = Property(
        "Stateful Variables Initial Value", "Initial value of stateful variables"
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
        for ff in session.get_batch():
            lookup = context.lookup(ff)
            values = {name: value.evaluate(lookup) for name, value in updates}
            if values:
                ff = session.put_all_attributes(ff, values)
            if delete is not None:
                pattern = delete.evaluate(lookup)
                doomed = [k for k in ff.attributes if k not in protected and pattern.fullmatch(k)]
                if doomed:
                    ff = session.remove_all_attributes(ff, doomed)
            session.transfer(ff, self.SUCCESS)
