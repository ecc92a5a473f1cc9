"""LogAttribute and LogMessage: what they log, and that FlowFiles pass unchanged."""

from __future__ import annotations

import logging

import pytest

from headwater.processors.logging import LogAttribute, LogMessage
from headwater.testing import TestRunner

ATTRIBUTE_LOGGER = "headwater.processors.LogAttribute"


def test_log_attribute_logs_attributes_and_passes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ATTRIBUTE_LOGGER)
    with TestRunner(LogAttribute, {"Log prefix": "P:"}) as runner:
        runner.enqueue(b"body", filename="a.txt", color="red")
        runner.run()
        (out,) = runner.transferred(LogAttribute.SUCCESS)
        assert out.content == b"body"
        assert runner.provenance_types() == []
    text = caplog.records[0].getMessage()
    assert text.startswith("P:-----")
    assert "Key: 'color'\n\tValue: 'red'" in text
    assert "Key: 'fileSize'\n\tValue: '4'" in text
    assert "body" not in text


def test_log_attribute_filters_and_payload(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=ATTRIBUTE_LOGGER)
    props = {
        "Log Level": "debug",
        "Log Payload": "true",
        "Output Format": "Single Line",
        "Attributes to Log by Regular Expression": "c.*|s.*",
        "Attributes to Ignore": "size",
    }
    with TestRunner(LogAttribute, props) as runner:
        runner.enqueue(b"payload", color="red", size="9", shape="round")
        runner.run()
    assert caplog.records[0].levelno == logging.DEBUG
    assert caplog.records[0].getMessage() == "[color=red, shape=round]\npayload"


def test_log_attribute_below_level_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=ATTRIBUTE_LOGGER)
    with TestRunner(LogAttribute, {"Log Level": "info"}) as runner:
        runner.enqueue(b"x")
        runner.run()
        runner.assert_all_transferred(LogAttribute.SUCCESS, count=1)
    assert not caplog.records


def test_log_attribute_configuration_errors() -> None:
    runner = TestRunner(LogAttribute, {"Log Level": "loud", "attributes-to-log-regex": "("})
    runner.assert_invalid("Log Level", "attributes-to-log-regex")
    runner.set_property("Log Level", "warn")
    runner.set_property("attributes-to-log-regex", ".*")
    runner.set_property("character-set", "no-such-charset")
    runner.assert_invalid("character-set")
    runner.close()


def test_log_message_evaluates_expressions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(TRACE := 5, logger="headwater.processors.LogMessage")
    props = {"log-level": "${level}", "Log prefix": "[${name}] ", "Log message": "size ${fileSize}"}
    with TestRunner(LogMessage, props) as runner:
        runner.enqueue(b"abc", name="a", level="warn")
        runner.enqueue(b"", name="b", level="trace")
        runner.run()
        runner.assert_all_transferred(LogMessage.SUCCESS, count=2)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "[a] size 3"),
        (TRACE, "[b] size 0"),
    ]


def test_log_message_bad_level_from_expression_logs_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="headwater.processors.LogMessage")
    with TestRunner(LogMessage, {"log-level": "${level}", "log-message": "hi"}) as runner:
        runner.enqueue(b"", level="shout")
        runner.run()
        runner.assert_all_transferred(LogMessage.SUCCESS, count=1)
    assert [r.getMessage() for r in caplog.records][-1] == "hi"
    runner = TestRunner(LogMessage, {"log-level": "shout"})
    runner.assert_invalid("log-level")
    runner.close()
