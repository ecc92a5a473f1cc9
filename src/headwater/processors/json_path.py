"""EvaluateJsonPath and SplitJson: JsonPath over the content, through jsonpath-ng.

Jayway's rule on results is kept: a definite path (only names and single indexes)
yields one value and fails when nothing is there; an indefinite one (wildcards,
slices, filters, ``..``, unions) yields a list, possibly empty. Scalars are written as
their text, anything else as JSON, null as the Null Value Representation.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from jsonpath_ng import jsonpath  # type: ignore[import-untyped]
from jsonpath_ng.ext import parse as parse_jsonpath  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem
from headwater.processor import (
    DynamicProperty,
    InputRequirement,
    Processor,
    Property,
    Relationship,
)
from headwater.processors.json import NULL_EMPTY, NULL_REPRESENTATIONS, NULL_STRING, fail, render

NOT_FOUND = object()
"""What a definite path yields when nothing is there (Jayway's PathNotFoundException)."""


class JsonPath:
    """A compiled JsonPath with Jayway's definite/indefinite result rule."""

    def __init__(self, text: str) -> None:
        try:
            self.expression = _parse(text)
        except Exception as exc:  # the parser raises several unrelated types
            raise ValueError(f"not a JsonPath expression {text!r}: {exc}") from None
        self.text = text
        self.definite = _definite(self.expression)

    def read(self, document: Any) -> Any:
        values = [match.value for match in self.expression.find(document)]
        if not self.definite:
            return values
        return values[0] if values else NOT_FOUND


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> Any:
    """jsonpath-ng's parser is slow (a PLY grammar); a flow reuses few paths."""
    return parse_jsonpath(text)


def _definite(node: Any) -> bool:
    if isinstance(node, (jsonpath.Root, jsonpath.This)):
        return True
    if isinstance(node, jsonpath.Child):
        return _definite(node.left) and _definite(node.right)
    if isinstance(node, jsonpath.Fields):
        return len(node.fields) == 1 and node.fields[0] != "*"
    if isinstance(node, jsonpath.Index):
        return len(getattr(node, "indices", (0,))) == 1
    return False


def _null(text: str) -> str:
    return "null" if text == NULL_STRING else ""


class EvaluateJsonPath(Processor):
    """Evaluates JsonPath expressions (the dynamic properties) against the JSON content
    and writes the results to attributes named after the properties, or the one
    result to the content."""

    tags = ("JSON", "evaluate", "JsonPath")
    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty(
        "An attribute to set (or, for flowfile-content, the result) to this JsonPath's value",
        expression=False,
    )

    MATCHED = Relationship("matched", "Every path matched (or the destination is attributes).")
    UNMATCHED = Relationship("unmatched", "The path found nothing (destination flowfile-content).")
    FAILURE = Relationship("failure", "Content that is not JSON, or a non-scalar for scalar.")

    destination = Property(
        "Destination",
        "Where the results go: attributes named after the properties, or the content",
        default="flowfile-content",
        required=True,
        allowed=("flowfile-content", "flowfile-attribute"),
    )
    return_type = Property(
        "Return Type",
        "auto-detect means json for content and scalar for attributes",
        default="auto-detect",
        required=True,
        allowed=("auto-detect", "json", "scalar"),
    )
    not_found = Property(
        "Path Not Found Behavior",
        "For flowfile-attribute: set an empty value (ignore), also log (warn), or skip",
        default="ignore",
        required=True,
        allowed=("ignore", "warn", "skip"),
    )
    null_value = Property(
        "Null Value Representation",
        "What a null result is written as",
        default=NULL_EMPTY,
        required=True,
        allowed=NULL_REPRESENTATIONS,
    )

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        problems: list[Problem] = []
        paths = {k: v for k, v in values.items() if cls.property_named(k) is None}
        for key, text in paths.items():
            try:
                JsonPath(text)
            except ValueError as exc:
                problems.append(Problem(f"properties.{key}", str(exc)))
        if values.get(cls.destination.name) == "flowfile-content" and len(paths) != 1:
            problems.append(
                Problem(
                    f"properties.{cls.destination.name}",
                    f"flowfile-content takes exactly one JsonPath property, got {len(paths)}",
                    "add one dynamic property, or set Destination to flowfile-attribute",
                )
            )
        return problems

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        to_content = context[self.destination] == "flowfile-content"
        scalar = context[self.return_type] == "scalar" or (
            context[self.return_type] == "auto-detect" and not to_content
        )
        behavior, null = context[self.not_found], _null(context[self.null_value])
        paths = {name: JsonPath(value.raw) for name, value in context.dynamic.items()}
        for ff in session.get_batch():
            try:
                document = orjson.loads(session.read(ff))
            except (ValueError, UnicodeError) as exc:
                fail(context, session, ff, self.FAILURE, f"content is not JSON: {exc}")
                continue
            results: dict[str, str] = {}
            missing: list[str] = []
            wrong: list[str] = []
            for name, path in paths.items():
                value = path.read(document)
                if value is NOT_FOUND:
                    missing.append(name)
                    if behavior == "warn":
                        context.logger.warning("%s: %s found nothing", ff.uuid, path.text)
                    if behavior != "skip":
                        results[name] = ""
                elif scalar and isinstance(value, (dict, list)):
                    wrong.append(name)
                else:
                    results[name] = render(value, null)
            if wrong:
                reason = f"{', '.join(wrong)}: the result is not a scalar (Return Type scalar)"
                fail(context, session, ff, self.FAILURE, reason)
            elif not to_content:
                session.transfer(session.put_all_attributes(ff, results), self.MATCHED)
            elif missing:
                session.transfer(ff, self.UNMATCHED)
            else:
                (text,) = results.values()
                session.transfer(session.write(ff, text.encode()), self.MATCHED)


class SplitJson(Processor):
    """Splits the array a JsonPath selects into one FlowFile per item, with the
    fragment attributes MergeContent needs to put them back together."""

    tags = ("json", "split", "jsonpath")
    input_requirement = InputRequirement.REQUIRED

    ORIGINAL = Relationship("original", "The FlowFile that was split.")
    SPLIT = Relationship("split", "One FlowFile per item of the array.")
    FAILURE = Relationship("failure", "Content that is not JSON, or the path is not an array.")

    path = Property(
        "JsonPath Expression",
        "A JsonPath that selects an array",
        required=True,
        parse=JsonPath,
    )
    null_value = Property(
        "Null Value Representation",
        "What a null item is written as",
        default=NULL_EMPTY,
        required=True,
        allowed=NULL_REPRESENTATIONS,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        path: JsonPath = context[self.path]
        null = _null(context[self.null_value])
        for ff in session.get_batch():
            try:
                items = path.read(orjson.loads(session.read(ff)))
            except (ValueError, UnicodeError) as exc:
                fail(context, session, ff, self.FAILURE, f"content is not JSON: {exc}")
                continue
            if not isinstance(items, list):
                found = "nothing" if items is NOT_FOUND else type(items).__name__
                reason = f"JsonPath {path.text} selected {found}, not an array"
                fail(context, session, ff, self.FAILURE, reason)
                continue
            fragment = {
                "fragment.identifier": str(uuid.uuid4()),
                "fragment.count": str(len(items)),
                "segment.original.filename": ff.attributes.get("filename", ""),
            }
            for index, item in enumerate(items):
                child = session.create(ff)
                child = session.write(child, render(item, null).encode())
                child = session.put_all_attributes(
                    child, {**fragment, "fragment.index": str(index)}
                )
                session.transfer(child, self.SPLIT)
            ff = session.put_all_attributes(
                ff, {k: fragment[k] for k in ("fragment.identifier", "fragment.count")}
            )
            session.transfer(ff, self.ORIGINAL)
