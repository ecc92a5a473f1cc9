"""The component log: warnings and errors become bulletins, as NiFi's ComponentLog does."""

from headwater.context import ProcessContext
from headwater.processors.generate import GenerateFlowFile
from headwater.processors.records import ConvertRecord
from headwater.services.records import JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner


def test_warnings_and_errors_are_posted_but_info_is_not() -> None:
    posted: list[tuple[str, str]] = []
    context = ProcessContext("gen", GenerateFlowFile, {}, bulletins=lambda *b: posted.append(b))
    context.logger.info("quiet %s", 1)
    context.logger.warning("routing %s to failure: %s", "ff-1", "bad")
    try:
        raise ValueError("boom")
    except ValueError:
        context.logger.exception("could not %s", "list")
    assert posted == [("WARNING", "routing ff-1 to failure: bad"), ("ERROR", "could not list")]


def test_a_flowfile_routed_to_failure_shows_as_a_bulletin_in_the_status() -> None:
    with TestRunner(ConvertRecord, {"record-reader": "r", "record-writer": "w"}) as runner:
        runner.add_service("r", JsonTreeReader(), {})
        runner.add_service("w", JsonRecordSetWriter(), {})
        bad = runner.enqueue(b'{"host": ')
        runner.run()
        runner.assert_all_transferred(ConvertRecord.FAILURE, 1)
        (bulletin,) = runner.node.status()["bulletins"]
        assert bulletin["level"] == "WARNING"
        assert bad.uuid in bulletin["message"]
        assert bulletin["componentType"] == "ConvertRecord"
