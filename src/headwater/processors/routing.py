"""RouteOnAttribute and RouteOnContent: choose relationships by expression or regex."""

from __future__ import annotations

import re
from collections.abc import Mapping

from headwater.context import ProcessContext, canonical_values
from headwater.engine.session import ProcessSession
from headwater.errors import Problem
from headwater.flowfile import FlowFile
from headwater.processor import DynamicProperty, Processor, Property, Relationship
from headwater.units import parse_data_size

ROUTE_TO_PROPERTY = "Route to Property name"
ALL_MATCH = "Route to 'matched' if all match"
ANY_MATCH = "Route to 'matched' if any matches"


def _route_each(
    session: ProcessSession,
    ff: FlowFile,
    routes: list[str],
    unmatched: Relationship,
    attribute: str,
) -> None:
    """Send ``ff`` to every route (clones past the first), or to unmatched."""
    if not routes:
        ff = session.put_attribute(ff, attribute, unmatched.name)
        session.provenance.route(ff, unmatched)
        session.transfer(ff, unmatched)
        return
    copies = [ff] + [session.clone(ff) for _ in routes[1:]]
    for copy, route in zip(copies, routes, strict=True):
        copy = session.put_attribute(copy, attribute, route)
        session.provenance.route(copy, route)
        session.transfer(copy, route)


class RouteOnAttribute(Processor):
    """Routes FlowFiles by Expression Language conditions over their attributes.

    With ``Route to Property name`` each dynamic property is a relationship and a
    FlowFile goes to every one whose condition is true (cloned as needed).
    """

    tags = ("attributes", "routing", "Attribute Expression Language", "regexp", "filter")
    dynamic_property = DynamicProperty("A condition; true routes to the relationship of its name")

    UNMATCHED = Relationship("unmatched", "FlowFiles no condition matched.")
    MATCHED = Relationship("matched", "FlowFiles that matched (all/any strategies).")

    strategy = Property(
        "Routing Strategy",
        "How conditions choose relationships",
        default=ROUTE_TO_PROPERTY,
        required=True,
        allowed=(ROUTE_TO_PROPERTY, ALL_MATCH, ANY_MATCH),
    )

    @classmethod
    def relationships_for(cls, values: Mapping[str, str]) -> tuple[Relationship, ...]:
        values = canonical_values(cls, values)
        if values.get(cls.strategy.name) != ROUTE_TO_PROPERTY:
            return (cls.MATCHED, cls.UNMATCHED)
        dynamic = [k for k in values if cls.property_named(k) is None]
        return (*(Relationship(k, f"Condition {k!r} is true") for k in dynamic), cls.UNMATCHED)

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        if not any(cls.property_named(k) is None for k in values):
            return [
                Problem(
                    "properties",
                    "needs at least one condition (a dynamic property)",
                    "add e.g. isImage: ${filename:endsWith('.jpg')}",
                )
            ]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        conditions = list(context.dynamic.items())
        strategy = context[self.strategy]
        for ff in session.get_batch():
            lookup = context.lookup(ff)
            hits = [name for name, cond in conditions if cond.evaluate(lookup) == "true"]
            if strategy == ROUTE_TO_PROPERTY:
                _route_each(session, ff, hits, self.UNMATCHED, "RouteOnAttribute.Route")
                continue
            matched = len(hits) == len(conditions) if strategy == ALL_MATCH else bool(hits)
            route = self.MATCHED if matched else self.UNMATCHED
            ff = session.put_attribute(ff, "RouteOnAttribute.Route", route.name)
            session.provenance.route(ff, route)
            session.transfer(ff, route)


MUST_MATCH = "content must match exactly"
MUST_CONTAIN = "content must contain match"


class RouteOnContent(Processor):
    """Routes FlowFiles by regular expressions over their content; each dynamic property
    is a relationship, and a FlowFile goes to every one that matches."""

    tags = ("route", "content", "regex", "regular expression", "find", "text")
    dynamic_property = DynamicProperty("A regular expression; a match routes to its name")

    UNMATCHED = Relationship("unmatched", "FlowFiles no expression matched.")

    requirement = Property(
        "Match Requirement",
        "Whether the whole content must match",
        default=MUST_MATCH,
        required=True,
        allowed=(MUST_MATCH, MUST_CONTAIN),
    )
    charset = Property("Character Set", "Encoding of the content", default="UTF-8", required=True)
    buffer_size = Property(
        "Content Buffer Size",
        "At most this much content is examined",
        default="1 MB",
        required=True,
        parse=parse_data_size,
    )

    @classmethod
    def relationships_for(cls, values: Mapping[str, str]) -> tuple[Relationship, ...]:
        dynamic = [k for k in values if cls.property_named(k) is None]
        return (*(Relationship(k, f"Content matches {k!r}") for k in dynamic), cls.UNMATCHED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        patterns = list(context.dynamic.items())
        exact = context[self.requirement] == MUST_MATCH
        limit = context[self.buffer_size]
        charset = context[self.charset]
        for ff in session.get_batch():
            with session.open_read(ff) as stream:
                text = stream.read(limit).decode(charset, errors="replace")
            lookup = context.lookup(ff)
            hits = []
            for name, value in patterns:
                pattern = re.compile(value.evaluate(lookup))
                found = pattern.fullmatch(text) if exact else pattern.search(text)
                if found:
                    hits.append(name)
            _route_each(session, ff, hits, self.UNMATCHED, "RouteOnContent.Route")
