"""FlattenJson: nested JSON to one level of keys joined by a separator, and back.

The four modes follow json-flattener, which NiFi uses: ``normal`` writes array items
as ``a[0]``, ``dot notation`` as ``a.0``, ``keep arrays`` keeps arrays as values (the
objects inside them flattened), ``keep primitive arrays`` keeps only arrays whose items
are all scalars. An empty object or array stays as a value. A key that holds the
separator or a bracket is written ``["a.b"]`` unless reserved characters are ignored.
"""

from __future__ import annotations

import codecs
import itertools
import re
from typing import Any

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.json import boolean, dumps, fail

NORMAL = "normal"
KEEP_ARRAYS = "keep arrays"
DOT_NOTATION = "dot notation"
KEEP_PRIMITIVE_ARRAYS = "keep primitive arrays"
MODES = (NORMAL, KEEP_ARRAYS, DOT_NOTATION, KEEP_PRIMITIVE_ARRAYS)

_INDEX = re.compile(r"\[(\d+)\]")


def _charset(text: str) -> str:
    codecs.lookup(text)
    return text


def _separator(text: str) -> str:
    if not text:
        raise ValueError("the separator must not be empty")
    return text


def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


class Flattener:
    """One configuration of flattening and unflattening."""

    def __init__(self, separator: str = ".", mode: str = KEEP_ARRAYS, ignore: bool = False):
        self.separator = separator
        self.mode = mode
        self.ignore = ignore

    def _key(self, prefix: str, name: str) -> str:
        reserved = self.separator in name or "[" in name or "]" in name
        if reserved and not self.ignore:
            return f'{prefix}["{name}"]'
        return f"{prefix}{self.separator}{name}" if prefix else name

    def _index(self, prefix: str, index: int) -> str:
        if self.mode == DOT_NOTATION:
            return f"{prefix}{self.separator}{index}" if prefix else str(index)
        return f"{prefix}[{index}]"

    def flatten(self, value: Any) -> Any:
        """The flat form of ``value``; a scalar root is returned as it is."""
        if _scalar(value):
            return value
        out: dict[str, Any] = {}
        if isinstance(value, list) and self._keeps(value):
            return [self.flatten(item) if isinstance(item, dict) else item for item in value]
        self._walk("", value, out)
        return out

    def _keeps(self, items: list[Any]) -> bool:
        if self.mode == KEEP_ARRAYS:
            return True
        return self.mode == KEEP_PRIMITIVE_ARRAYS and all(_scalar(item) for item in items)

    def _walk(self, prefix: str, value: Any, out: dict[str, Any]) -> None:
        if isinstance(value, dict):
            if not value and prefix:
                out[prefix] = {}
            for name, item in value.items():
                self._walk(self._key(prefix, name), item, out)
        elif isinstance(value, list):
            if self._keeps(value) or (not value and prefix):
                out[prefix] = [self.flatten(i) if isinstance(i, dict) else i for i in value]
                return
            for index, item in enumerate(value):
                self._walk(self._index(prefix, index), item, out)
        else:
            out[prefix] = value

    def _segments(self, key: str) -> list[str | int]:
        segments: list[str | int] = []
        current: list[str] = []
        i, sep = 0, self.separator

        def close() -> None:
            if current:
                text = "".join(current)
                digits = self.mode == DOT_NOTATION and text.isdigit()
                segments.append(int(text) if digits else text)
                current.clear()

        while i < len(key):
            index = _INDEX.match(key, i)
            if key.startswith('["', i) and '"]' in key[i:]:
                close()
                end = key.index('"]', i)
                segments.append(key[i + 2 : end])
                i = end + 2
            elif index and self.mode != DOT_NOTATION:
                close()
                segments.append(int(index[1]))
                i = index.end()
            elif key.startswith(sep, i):
                close()
                i += len(sep)
            else:
                current.append(key[i])
                i += 1
        close()
        return segments

    def unflatten(self, value: Any) -> Any:
        """The nested form of a flat object; anything else is returned as it is."""
        if not isinstance(value, dict):
            return value
        root: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, list):
                item = [self.unflatten(i) for i in item]
            segments = self._segments(key) or [key]
            node: Any = root
            for segment, following in itertools.pairwise(segments):
                fresh: Any = [] if isinstance(following, int) else {}
                node = _child(node, segment, fresh)
            _assign(node, segments[-1], item)
        return root


def _child(node: Any, segment: str | int, fresh: Any) -> Any:
    if isinstance(node, list) and isinstance(segment, int):
        while len(node) <= segment:
            node.append(None)
        if node[segment] is None:
            node[segment] = fresh
        return node[segment]
    if isinstance(node, dict):
        return node.setdefault(str(segment), fresh)
    raise ValueError(f"key part {segment!r} conflicts with a value already unflattened")


def _assign(node: Any, segment: str | int, item: Any) -> None:
    if isinstance(node, list) and isinstance(segment, int):
        while len(node) <= segment:
            node.append(None)
        node[segment] = item
    elif isinstance(node, dict):
        node[str(segment)] = item
    else:
        raise ValueError(f"key part {segment!r} conflicts with a value already unflattened")


class FlattenJson(Processor):
    """Flattens a nested JSON document to one level of keys joined by the separator
    (or unflattens such a document), in one of json-flattener's four modes."""

    tags = ("json", "flatten", "unflatten")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Successfully flattened or unflattened FlowFiles.")
    FAILURE = Relationship("failure", "Content that is not JSON (reason in error.message).")

    separator = Property(
        "flatten-json-separator",
        "The separator between the names of nested keys",
        display_name="Separator",
        default=".",
        required=True,
        expression=True,
        parse=_separator,
    )
    mode = Property(
        "flatten-mode",
        "How arrays are written: normal a[0], dot notation a.0, or kept as arrays",
        display_name="Flatten Mode",
        default=KEEP_ARRAYS,
        required=True,
        allowed=MODES,
    )
    ignore_reserved = Property(
        "ignore-reserved-characters",
        'Write keys holding the separator or brackets as they are, not as ["a.b"]',
        display_name="Ignore Reserved Characters",
        default="false",
        required=True,
        parse=boolean,
    )
    return_type = Property(
        "flatten-json-return-type",
        "Whether to flatten the content or unflatten it",
        display_name="Return Type",
        default="flatten",
        required=True,
        allowed=("flatten", "unflatten"),
    )
    charset = Property(
        "flatten-json-character-set",
        "The encoding of the content",
        display_name="Character Set",
        default="UTF-8",
        required=True,
        parse=_charset,
    )
    pretty_print = Property(
        "flatten-json-pretty-print-json",
        "Whether the JSON written is indented",
        display_name="Pretty Print JSON",
        default="false",
        required=True,
        parse=boolean,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        mode, charset = context[self.mode], context[self.charset]
        ignore, pretty = context[self.ignore_reserved], context[self.pretty_print]
        unflatten = context[self.return_type] == "unflatten"
        for ff in session.get_batch():
            try:
                flattener = Flattener(context.evaluate(self.separator, ff), mode, ignore)
                document = orjson.loads(session.read(ff).decode(charset))
                result = (flattener.unflatten if unflatten else flattener.flatten)(document)
                data = dumps(result, pretty).decode().encode(charset)
            except (ValueError, TypeError, UnicodeError, ProcessException) as exc:
                fail(context, session, ff, self.FAILURE, f"{type(exc).__name__}: {exc}")
                continue
            session.transfer(session.write(ff, data), self.SUCCESS)
