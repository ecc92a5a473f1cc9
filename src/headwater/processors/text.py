"""ReplaceText: rewrite text content by regex, literal, prepend, append and friends.

Every strategy runs on the whole text or on each line (keeping the line endings as
they were). ``Regex Replace`` follows Java's ``Matcher``: ``$1`` and ``${name}`` in the
Replacement Value are back-references, a back-reference to a group the expression does
not have stays literal, and the groups are also visible to Expression Language as
``${'$1'}``. Content that cannot be decoded, or a value that evaluates to a bad regular
expression, sends the FlowFile to failure with the reason in ``error.message``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from headwater.context import ProcessContext, PropertyValue
from headwater.engine.session import ProcessSession
from headwater.errors import Problem, ProcessException
from headwater.expression.javaregex import compile_regex
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_data_size

PREPEND = "Prepend"
APPEND = "Append"
SURROUND = "Surround"
REGEX_REPLACE = "Regex Replace"
LITERAL_REPLACE = "Literal Replace"
ALWAYS_REPLACE = "Always Replace"
SUBSTITUTE_VARIABLES = "Substitute Variables"
STRATEGIES = (
    PREPEND,
    APPEND,
    SURROUND,
    REGEX_REPLACE,
    LITERAL_REPLACE,
    ALWAYS_REPLACE,
    SUBSTITUTE_VARIABLES,
)
UNBUFFERED = frozenset({PREPEND, APPEND, ALWAYS_REPLACE})
"""Strategies that ignore Maximum Buffer Size, as in NiFi."""

LINE_BY_LINE = "Line-by-Line"
ENTIRE_TEXT = "Entire text"
LINE_MODES = ("All", "First-Line", "Last-Line", "Except-First-Line", "Except-Last-Line")

_LINES = re.compile(r"[^\n]*\n|[^\n]+")
_VARIABLE = re.compile(r"\$\{([^${}]+)\}")


def _charset(text: str) -> str:
    codecs.lookup(text)
    return text


def expand(template: str, match: re.Match[str]) -> str:
    """Java's ``Matcher.appendReplacement``: ``$n``, ``${name}`` and ``\\x`` escapes,
    except that a reference to a missing group stays as written (NiFi's rule)."""
    out: list[str] = []
    groups = match.re.groups
    i, n = 0, len(template)
    while i < n:
        char = template[i]
        if char == "\\" and i + 1 < n:
            out.append(template[i + 1])
            i += 2
        elif char == "$" and i + 1 < n and template[i + 1].isdigit():
            number, j = int(template[i + 1]), i + 2
            while j < n and template[j].isdigit() and number * 10 + int(template[j]) <= groups:
                number, j = number * 10 + int(template[j]), j + 1
            out.append(match.group(number) or "" if number <= groups else template[i:j])
            i = j
        elif char == "$" and template.startswith("{", i + 1) and "}" in template[i:]:
            close = template.index("}", i)
            name = template[i + 2 : close]
            known = name in match.re.groupindex
            out.append(match.group(name) or "" if known else template[i : close + 1])
            i = close + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


class _Escaped(Mapping[str, str]):
    """A lookup whose values read as literal text in a replacement (NiFi escapes
    attribute values so a ``$1`` inside one is not taken for a back-reference)."""

    def __init__(self, groups: Mapping[str, str], base: Mapping[str, str]) -> None:
        self._groups = groups
        self._base = base

    def __getitem__(self, key: str) -> str:
        value = self._groups[key] if key in self._groups else self._base[key]
        return value.replace("\\", "\\\\").replace("$", "\\$")

    def __iter__(self) -> Iterator[str]:
        yield from self._groups
        yield from self._base

    def __len__(self) -> int:
        return len(self._groups) + len(self._base)


class ReplaceText(Processor):
    """Updates the content of a FlowFile by replacing what a regular expression or
    literal matches, or by prepending, appending or substituting attribute values."""

    tags = ("Text", "Regular Expression", "Update", "Change", "Replace", "Modify", "Regex")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose content was updated.")
    FAILURE = Relationship(
        "failure", "FlowFiles that could not be updated (reason in error.message)."
    )

    strategy = Property(
        "Replacement Strategy",
        "How and what to replace in the text",
        default=REGEX_REPLACE,
        required=True,
        allowed=STRATEGIES,
    )
    search = Property(
        "Regular Expression",
        "What to search for (Regex Replace and Literal Replace)",
        display_name="Search Value",
        default="(?s)(^.*$)",
        required=True,
        expression=True,
    )
    replacement = Property(
        "Replacement Value",
        "What to insert; $1 and ${'$1'} refer to the groups matched by Regex Replace",
        default="$1",
        required=True,
        expression=True,
    )
    prepend_text = Property(
        "Text to Prepend", "Put before the text or each line (Surround)", expression=True
    )
    append_text = Property(
        "Text to Append", "Put after the text or each line (Surround)", expression=True
    )
    charset = Property(
        "Character Set", "Encoding of the content", default="UTF-8", required=True, parse=_charset
    )
    buffer_size = Property(
        "Maximum Buffer Size",
        "Largest text (or line, Line-by-Line) to work on; larger goes to failure",
        default="1 MB",
        required=True,
        parse=parse_data_size,
    )
    mode = Property(
        "Evaluation Mode",
        "Each line on its own, or the entire text at once",
        default=LINE_BY_LINE,
        required=True,
        allowed=(LINE_BY_LINE, ENTIRE_TEXT),
    )
    line_mode = Property(
        "Line-by-Line Evaluation Mode",
        "Which lines to work on in Line-by-Line mode",
        default="All",
        allowed=LINE_MODES,
    )

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        search = values.get(cls.search.name, "")
        if values.get(cls.strategy.name) == REGEX_REPLACE and "${" not in search:
            try:
                compile_regex(search)
            except ProcessException as exc:
                return [Problem(f"properties.{cls.search.name}", str(exc))]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch():
            try:
                text = self._rewrite(context, session, ff)
            except (ProcessException, UnicodeError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                context.logger.warning("routing %s to failure: %s", ff.uuid, reason)
                ff = session.put_attribute(ff, "error.message", reason)
                session.transfer(ff, self.FAILURE)
                continue
            ff = session.write_text(ff, text, context[self.charset])
            session.transfer(ff, self.SUCCESS)

    def _rewrite(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> str:
        strategy = context[self.strategy]
        limit = context[self.buffer_size]
        entire = context[self.mode] == ENTIRE_TEXT
        if entire and strategy not in UNBUFFERED and ff.size > limit:
            raise ProcessException(
                f"content of {ff.size} bytes exceeds Maximum Buffer Size {limit}"
            )
        if entire and strategy == ALWAYS_REPLACE:  # as in NiFi, the content is not read
            return context.evaluate(self.replacement, ff)
        text = session.read(ff).decode(context[self.charset])
        apply = self._strategy(context, ff, strategy)
        if entire:
            return apply(text)
        lines = _LINES.findall(text)
        chosen = _chosen(context[self.line_mode], len(lines))
        out: list[str] = []
        for index, line in enumerate(lines):
            if index not in chosen:
                out.append(line)
                continue
            if strategy not in UNBUFFERED and len(line) > limit:
                raise ProcessException(f"line {index + 1} exceeds Maximum Buffer Size {limit}")
            body, ending = _split_ending(line)
            out.append(apply(body) + ending)
        return "".join(out)

    def _strategy(
        self, context: ProcessContext, ff: FlowFile, strategy: str
    ) -> Callable[[str], str]:
        """The function that rewrites one text (the whole content or one line)."""
        lookup = context.lookup(ff)
        if strategy == SUBSTITUTE_VARIABLES:
            attributes = ff.attributes
            return lambda text: _VARIABLE.sub(lambda m: attributes.get(m[1], m[0]), text)
        if strategy == SURROUND:
            before = _optional(context.value(self.prepend_text), lookup)
            after = _optional(context.value(self.append_text), lookup)
            return lambda text: before + text + after
        if strategy == REGEX_REPLACE:
            return _regex_replace(context, ff, self.search, self.replacement)
        value = context.evaluate(self.replacement, ff)
        if strategy == PREPEND:
            return lambda text: value + text
        if strategy == APPEND:
            return lambda text: text + value
        if strategy == ALWAYS_REPLACE:
            return lambda text: value
        search = context.evaluate(self.search, ff)  # Literal Replace
        return lambda text: text.replace(search, value) if search else text


def _regex_replace(
    context: ProcessContext, ff: FlowFile, search: Property[str], replacement: Property[str]
) -> Callable[[str], str]:
    pattern = compile_regex(context.evaluate(search, ff))
    compiled = context.value(replacement)
    assert compiled is not None
    if compiled.is_constant:
        template = compiled.evaluate({})
        return lambda text: pattern.sub(lambda m: expand(template, m), text)
    lookup = context.lookup(ff)

    def substitute(match: re.Match[str]) -> str:
        groups = {f"${i}": match.group(i) or "" for i in range(pattern.groups + 1)}
        return expand(compiled.evaluate(_Escaped(groups, lookup)), match)

    return lambda text: pattern.sub(substitute, text)


def _optional(value: PropertyValue[Any] | None, lookup: Mapping[str, str]) -> str:
    return "" if value is None else str(value.evaluate(lookup))


def _chosen(line_mode: str, count: int) -> range | set[int]:
    if line_mode == "First-Line":
        return {0}
    if line_mode == "Last-Line":
        return {count - 1}
    if line_mode == "Except-First-Line":
        return range(1, count)
    if line_mode == "Except-Last-Line":
        return range(count - 1)
    return range(count)


def _split_ending(line: str) -> tuple[str, str]:
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith("\n"):
        return line[:-1], "\n"
    return line, ""
