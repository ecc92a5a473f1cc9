"""LogAttribute and LogMessage: write FlowFiles' attributes or a message to the log.

Both log through Python's ``logging`` under ``headwater.processors.<Type>``, so the
usual handlers and levels apply. NiFi's ``trace`` and ``fatal`` map to level 5 and
CRITICAL.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import UTC, datetime

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_bool

TRACE = 5
LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_DASHES = "-" * 50


def _level(text: str) -> int:
    try:
        return LEVELS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"expected one of {', '.join(LEVELS)}, got {text!r}") from None


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


def _names(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def _charset(text: str) -> str:
    codecs.lookup(text)
    return text


def _date(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


class LogAttribute(Processor):
    """Logs the attributes of each FlowFile (and optionally its content) at a chosen
    level, then passes it on unchanged."""

    tags = ("attributes", "logging")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "All FlowFiles, unchanged.")

    log_level = Property(
        "Log Level",
        "The level to log at",
        default="info",
        required=True,
        allowed=tuple(LEVELS),
        parse=_level,
    )
    log_payload = Property(
        "Log Payload",
        "Log the content as well as the attributes",
        default="false",
        required=True,
        parse=parse_bool,
    )
    attributes_to_log = Property(
        "Attributes to Log", "Comma-separated names to log (all when empty)", parse=_names
    )
    log_regex = Property(
        "attributes-to-log-regex",
        "Attribute names to log",
        display_name="Attributes to Log by Regular Expression",
        default=".*",
        parse=_pattern,
    )
    attributes_to_ignore = Property(
        "Attributes to Ignore", "Comma-separated names not to log", parse=_names
    )
    ignore_regex = Property(
        "attributes-to-ignore-regex",
        "Attribute names not to log",
        display_name="Attributes to Ignore by Regular Expression",
        parse=_pattern,
    )
    log_properties = Property(
        "Log FlowFile Properties",
        "Log entry date, lineage start date and content size",
        default="true",
        required=True,
        parse=parse_bool,
    )
    output_format = Property(
        "Output Format",
        "One line per attribute, or one line in all",
        default="Line per Attribute",
        required=True,
        allowed=("Line per Attribute", "Single Line"),
    )
    log_prefix = Property(
        "Log prefix", "Put in front of the log lines, to tell processors apart", expression=True
    )
    charset = Property(
        "character-set",
        "Encoding of the content, for Log Payload",
        display_name="Character Set",
        default="UTF-8",
        required=True,
        parse=_charset,
    )

    def _selected(self, context: ProcessContext, ff: FlowFile) -> list[str]:
        wanted = context.get(self.attributes_to_log)
        regex = context[self.log_regex]
        ignored = context.get(self.attributes_to_ignore) or frozenset()
        ignore_regex = context.get(self.ignore_regex)
        keys = []
        for key in sorted(ff.attributes):
            if wanted and key not in wanted:
                continue
            if not regex.fullmatch(key):
                continue
            if key in ignored or (ignore_regex is not None and ignore_regex.fullmatch(key)):
                continue
            keys.append(key)
        return keys

    def message(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> str:
        """What is logged for ``ff``, NiFi's layout."""
        prefix = context.evaluate(self.log_prefix, ff) if context.is_set(self.log_prefix) else ""
        keys = self._selected(context, ff)
        if context[self.output_format] == "Single Line":
            pairs = ", ".join(f"{k}={ff.attributes[k]}" for k in keys)
            lines = [f"{prefix}[{pairs}]"]
        else:
            lines = [f"{prefix}{_DASHES}"]
            if context[self.log_properties]:
                lines += [
                    "FlowFile Properties",
                    f"Key: 'entryDate'\n\tValue: '{_date(ff.entry_date)}'",
                    f"Key: 'lineageStartDate'\n\tValue: '{_date(ff.lineage_start)}'",
                    f"Key: 'fileSize'\n\tValue: '{ff.size}'",
                ]
            lines.append("FlowFile Attribute Map Content")
            lines += [f"Key: '{k}'\n\tValue: '{ff.attributes[k]}'" for k in keys]
            lines.append(f"{prefix}{_DASHES}")
        if context[self.log_payload]:
            data = session.read(ff)
            lines.append(data.decode(context[self.charset], errors="replace"))
        return "\n".join(lines)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        logger = logging.getLogger(f"headwater.processors.{type(self).__name__}")
        level = context[self.log_level]
        for ff in session.get_batch():
            if logger.isEnabledFor(level):
                logger.log(level, self.message(context, session, ff))
            session.transfer(ff, self.SUCCESS)


class LogMessage(Processor):
    """Logs a message made with Expression Language from each FlowFile, then passes the
    FlowFile on unchanged."""

    tags = ("attributes", "logging")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "All FlowFiles, unchanged.")

    log_level = Property(
        "log-level",
        "The level to log at: trace, debug, info, warn or error",
        display_name="Log Level",
        default="info",
        required=True,
        expression=True,
        parse=_level,
    )
    log_prefix = Property(
        "log-prefix", "Put in front of the message", display_name="Log prefix", expression=True
    )
    log_message = Property(
        "log-message", "The message to log", display_name="Log message", expression=True
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        logger = logging.getLogger(f"headwater.processors.{type(self).__name__}")
        for ff in session.get_batch():
            try:
                level = context.evaluate(self.log_level, ff)
            except ProcessException as exc:
                logger.error("%s: %s; logging at info", context.id, exc)
                level = logging.INFO
            if logger.isEnabledFor(level):
                prefix = (
                    context.evaluate(self.log_prefix, ff) if context.is_set(self.log_prefix) else ""
                )
                text = (
                    context.evaluate(self.log_message, ff)
                    if context.is_set(self.log_message)
                    else ""
                )
                logger.log(level, "%s%s", prefix, text)
            session.transfer(ff, self.SUCCESS)
