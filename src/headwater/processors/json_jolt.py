"""JoltTransformJSON: reshape JSON with a Jolt specification, through pyjolt.

A specification without Expression Language is compiled once and checked when the
flow is validated, so a spec that does not parse is a configuration error; one with
Expression Language is compiled per distinct evaluated text (a small cache).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pyjolt

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem, ProcessException
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.json import boolean, dumps, fail

CHAIN = "jolt-transform-chain"
SORT = "jolt-transform-sort"
_TRANSFORMS: dict[str, Any] = {
    "jolt-transform-default": pyjolt.Default,
    "jolt-transform-shift": pyjolt.Shift,
    "jolt-transform-remove": pyjolt.Remove,
    SORT: pyjolt.Sort,
    "jolt-transform-cardinality": pyjolt.Cardinality,
    "jolt-transform-modify-default": pyjolt.ModifyDefault,
    "jolt-transform-modify-define": pyjolt.ModifyDefine,
    "jolt-transform-modify-overwrite": pyjolt.ModifyOverwrite,
}
DSLS = (
    "jolt-transform-default",
    "jolt-transform-shift",
    CHAIN,
    "jolt-transform-remove",
    SORT,
    "jolt-transform-cardinality",
    "jolt-transform-modify-default",
    "jolt-transform-modify-define",
    "jolt-transform-modify-overwrite",
)


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise ValueError(f"expected a whole number of at least 1, got {text!r}")
    return number


class _Compiled:
    """Something with ``apply``: a Chainr or a single transform."""

    def __init__(self, transform: pyjolt.Chainr | pyjolt.Transform) -> None:
        self.apply = transform.apply


def compile_spec(dsl: str, text: str | None) -> _Compiled:
    """The transform for this DSL and spec text; ``ValueError`` says what is wrong."""
    if dsl == SORT and not (text or "").strip():
        return _Compiled(pyjolt.Sort())
    if not (text or "").strip():
        raise ValueError(f"{dsl} needs a Jolt Specification")
    text = _spec_text(text or "")
    try:
        spec: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the Jolt Specification is not JSON: {exc}") from None
    try:
        if dsl == CHAIN:
            if not isinstance(spec, list):
                raise ValueError("a chain specification must be a JSON array of operations")
            return _Compiled(pyjolt.Chainr.from_spec(spec))
        return _Compiled(_TRANSFORMS[dsl](spec))
    except (pyjolt.PyJoltError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"the Jolt Specification is not valid for {dsl}: {exc}") from None


def _spec_text(text: str) -> str:
    """The spec itself, or the contents of the file it names (NiFi takes either)."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{") or "\n" in stripped:
        return text
    path = Path(stripped).expanduser()
    if not path.is_file():
        raise ValueError(f"the Jolt Specification is neither JSON nor a file: {stripped!r}")
    try:
        return path.read_text()
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"the Jolt Specification file {path} cannot be read: {exc}") from exc


class JoltTransformJSON(Processor):
    """Applies a Jolt specification (a chain or a single operation) to the JSON
    content; the result replaces the content and ``mime.type`` is application/json."""

    tags = ("json", "jolt", "transform", "shiftr", "chainr", "defaultr", "removr", "cardinality")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "The JSON was transformed.")
    FAILURE = Relationship(
        "failure", "Content that is not JSON or could not be transformed (error.message)."
    )

    dsl = Property(
        "jolt-transform",
        "The Jolt operation: a chain of operations, or a single one",
        display_name="Jolt Transformation DSL",
        default=CHAIN,
        required=True,
        allowed=DSLS,
    )
    spec = Property(
        "jolt-spec",
        "The Jolt specification, or the path of a file holding it (not needed for sort)",
        display_name="Jolt Specification",
        expression=True,
    )
    cache_size = Property(
        "Transform Cache Size",
        "How many transforms compiled from Expression Language specs are kept",
        default="1",
        required=True,
        parse=_positive,
    )
    pretty_print = Property(
        "pretty_print",
        "Whether the JSON written is indented",
        display_name="Pretty Print",
        default="false",
        required=True,
        parse=boolean,
    )

    def __init__(self) -> None:
        self._cache: OrderedDict[str, _Compiled] = OrderedDict()
        self._cache_size = 1

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        text = values.get(cls.spec.name)
        if text is not None and "${" in text:
            return []
        try:
            compile_spec(values.get(cls.dsl.name, CHAIN), text)
        except ValueError as exc:
            return [Problem(f"properties.{cls.spec.name}", str(exc))]
        return []

    def on_scheduled(self, context: ProcessContext) -> None:
        self._cache.clear()
        self._cache_size = context[self.cache_size]

    def _transform(self, dsl: str, text: str) -> _Compiled:
        compiled = self._cache.get(text)
        if compiled is not None:
            self._cache.move_to_end(text)
        else:
            compiled = self._cache[text] = compile_spec(dsl, text)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return compiled

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        dsl, pretty = context[self.dsl], context[self.pretty_print]
        for ff in session.get_batch():
            try:
                text = context.evaluate(self.spec, ff) if context.is_set(self.spec) else ""
                transform = self._transform(dsl, text)
                document = orjson.loads(session.read(ff))
                data = dumps(transform.apply(document), pretty)
            except (ValueError, TypeError, ProcessException, pyjolt.PyJoltError) as exc:
                fail(context, session, ff, self.FAILURE, f"{type(exc).__name__}: {exc}")
                continue
            ff = session.put_attribute(session.write(ff, data), "mime.type", "application/json")
            session.transfer(ff, self.SUCCESS)
