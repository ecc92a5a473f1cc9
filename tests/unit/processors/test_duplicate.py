"""DuplicateFlowFile: copies with copy.index, clones share content."""

from __future__ import annotations

from headwater.processors.duplicate import DuplicateFlowFile
from headwater.testing import TestRunner


def test_duplicate_makes_copies_with_index() -> None:
    with TestRunner(DuplicateFlowFile, {"Number of Copies": "3"}) as runner:
        runner.enqueue(b"hello", filename="a.txt")
        runner.run()
        out = runner.transferred(DuplicateFlowFile.SUCCESS)
        assert sorted(f.attributes["copy.index"] for f in out) == ["0", "1", "2", "3"]
        assert {f.content for f in out} == {b"hello"}
        assert {f.attributes["filename"] for f in out} == {"a.txt"}
        assert runner.provenance_types() == ["CLONE"] * 3


def test_duplicate_number_of_copies_from_expression() -> None:
    with TestRunner(DuplicateFlowFile, {"Number of Copies": "${n}"}) as runner:
        runner.enqueue(b"x", n="2")
        runner.enqueue(b"y", n="0")
        runner.run()
        runner.assert_all_transferred(DuplicateFlowFile.SUCCESS, count=4)


def test_duplicate_bad_count_passes_original_with_reason() -> None:
    with TestRunner(DuplicateFlowFile, {"Number of Copies": "${n}"}) as runner:
        runner.enqueue(b"x", n="many")
        runner.run()
        (out,) = runner.transferred(DuplicateFlowFile.SUCCESS)
        assert "many" in out.attributes["error.message"]
        assert out.attributes["copy.index"] == "0"


def test_duplicate_default_is_100_and_validates() -> None:
    runner = TestRunner(DuplicateFlowFile)
    runner.assert_valid()
    runner.set_property("Number of Copies", "-1")
    runner.assert_invalid("Number of Copies")
    runner.close()
