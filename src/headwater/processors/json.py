"""AttributesToJSON, and what the JSON processors share: parsing, rendering, failure.

The JSON family is split by concept: ``json_path`` (EvaluateJsonPath, SplitJson),
``json_flatten`` (FlattenJson), ``json_jolt`` (JoltTransformJSON). All parse with
orjson and send a FlowFile whose content is not JSON to ``failure`` with the reason in
``error.message``; no parse error escapes ``on_trigger``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure

CORE_ATTRIBUTES = frozenset(
    {
        "path",
        "absolute.path",
        "filename",
        "uuid",
        "priority",
        "mime.type",
        "discard.reason",
        "alternate.identifier",
    }
)
"""NiFi's CoreAttributes."""

NULL_EMPTY = "empty string"
NULL_STRING = "the string 'null'"
NULL_REPRESENTATIONS = (NULL_EMPTY, NULL_STRING)


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"expected true or false, got {text!r}")
    return lowered == "true"


def pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


def render(value: Any, null: str = "") -> str:
    """NiFi's result representation: a scalar as its text, anything else as JSON."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def dumps(value: Any, pretty: bool = False) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0)


def fail(
    context: ProcessContext,
    session: ProcessSession,
    flowfile: FlowFile,
    relationship: Relationship,
    reason: str,
) -> None:
    """Route to failure with the reason in ``error.message``; the flow goes on."""
    route_to_failure(context, session, flowfile, relationship, reason)


class AttributesToJSON(Processor):
    """Generates a JSON object from the FlowFile's attributes, written to the
    ``JSONAttributes`` attribute or to the content. Values are strings."""

    tags = ("json", "attributes", "flowfile")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "The JSON was made and written.")
    FAILURE = Relationship("failure", "The JSON could not be made.")

    attributes_list = Property(
        "Attributes List",
        "Comma-separated attribute names to include; empty means all (or the regex)",
        expression=True,
    )
    attributes_regex = Property(
        "attributes-to-json-regex",
        "Attributes whose names match are included, with those in the list",
        display_name="Attributes Regular Expression",
        expression=True,
        parse=pattern,
    )
    destination = Property(
        "Destination",
        "Where to write the JSON: the JSONAttributes attribute, or the content",
        default="flowfile-attribute",
        required=True,
        allowed=("flowfile-attribute", "flowfile-content"),
    )
    include_core = Property(
        "Include Core Attributes",
        "Whether filename, path, uuid and the other core attributes are included",
        default="true",
        required=True,
        parse=boolean,
    )
    null_value = Property(
        "Null Value",
        "A listed attribute that is missing is null (true) or an empty string (false)",
        default="false",
        required=True,
        parse=boolean,
    )
    json_handling = Property(
        "JSON Handling Strategy",
        "Attribute values holding a JSON object or array: as strings (Escaped) or as JSON",
        default="Escaped",
        required=True,
        allowed=("Escaped", "Nested"),
    )
    pretty_print = Property(
        "Pretty Print",
        "Whether the JSON is indented (flowfile-content only)",
        default="false",
        required=True,
        parse=boolean,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        to_content = context[self.destination] == "flowfile-content"
        include_core = context[self.include_core]
        missing = None if context[self.null_value] else ""
        nested = context[self.json_handling] == "Nested"
        pretty = to_content and context[self.pretty_print]
        for ff in session.get_batch():
            try:
                listed = (
                    context.evaluate(self.attributes_list, ff)
                    if context.is_set(self.attributes_list)
                    else ""
                )
                regex = (
                    context.evaluate(self.attributes_regex, ff)
                    if context.is_set(self.attributes_regex)
                    else None
                )
            except (ValueError, ProcessException) as exc:
                fail(context, session, ff, self.FAILURE, f"{type(exc).__name__}: {exc}")
                continue
            names = [n.strip() for n in listed.split(",") if n.strip()]
            chosen: dict[str, str | None] = {}
            if not names and regex is None:
                chosen.update(ff.attributes)
            for name in names:
                chosen[name] = ff.attributes.get(name, missing)
            if regex is not None:
                chosen.update({k: v for k, v in ff.attributes.items() if regex.fullmatch(k)})
            if not include_core:
                chosen = {k: v for k, v in chosen.items() if k not in CORE_ATTRIBUTES}
            values: dict[str, Any] = (
                {k: _nested(v) for k, v in chosen.items()} if nested else chosen
            )
            data = dumps(values, pretty)
            if to_content:
                ff = session.write(ff, data)
                ff = session.put_attribute(ff, "mime.type", "application/json")
            else:
                ff = session.put_attribute(ff, "JSONAttributes", data.decode())
            session.transfer(ff, self.SUCCESS)


def _nested(value: str | None) -> Any:
    """The JSON an attribute value holds, when it holds an object or array."""
    if value and value.lstrip()[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value
