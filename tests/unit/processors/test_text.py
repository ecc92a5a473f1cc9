"""ReplaceText: every strategy, both evaluation modes, failures."""

from __future__ import annotations

import pytest

from headwater.processors.text import ReplaceText
from headwater.testing import MockFlowFile, TestRunner


def replace(content: bytes, properties: dict[str, str], **attributes: str) -> MockFlowFile:
    """Run ReplaceText once on ``content``; the one FlowFile it sent to success."""
    with TestRunner(ReplaceText, properties) as runner:
        runner.enqueue(content, attributes)
        runner.run()
        runner.assert_all_transferred(ReplaceText.SUCCESS, count=1)
        assert runner.provenance_types() == ["CONTENT_MODIFIED"]
        return runner.transferred(ReplaceText.SUCCESS)[0]


def test_regex_replace_with_back_references() -> None:
    props = {"Search Value": r"(\w+)@(\w+)", "Replacement Value": "$2 at $1"}
    out = replace(b"mail bob@home\nand al@work\n", props, filename="a.txt")
    assert out.content == b"mail home at bob\nand work at al\n"
    assert out.attributes["filename"] == "a.txt"


def test_defaults_keep_the_content() -> None:
    assert replace(b"one\ntwo\r\nthree", {}).content == b"one\ntwo\r\nthree"


def test_regex_replace_expression_sees_groups_and_attributes() -> None:
    props = {
        "Evaluation Mode": "Entire text",
        "Search Value": r"(?<word>[a-z]+)",
        "Replacement Value": "${'$1':toUpper()}${sep}$1",
    }
    assert replace(b"ab cd", props, sep="-").content == b"AB-ab CD-cd"


def test_named_group_reference_escaped_from_expression_language() -> None:
    props = {"Search Value": "(?<w>[a-z]+)", "Replacement Value": "<$${w}>"}
    assert replace(b"ab cd", props).content == b"<ab> <cd>"


def test_missing_group_and_dollar_in_attribute_stay_literal() -> None:
    props = {"Search Value": "(a)", "Replacement Value": "$1$2${price}"}
    assert replace(b"a", props, price="$1").content == b"a$2$1"


def test_literal_replace_ignores_regex_syntax() -> None:
    props = {
        "Replacement Strategy": "Literal Replace",
        "Search Value": "a.c",
        "Replacement Value": "$",
    }
    assert replace(b"abc a.c", props).content == b"abc $"


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("Prepend", b">one\n>two"),
        ("Append", b"one>\ntwo>"),
        ("Always Replace", b">\n>"),
    ],
)
def test_prepend_append_always_replace_per_line(strategy: str, expected: bytes) -> None:
    props = {"Replacement Strategy": strategy, "Replacement Value": ">"}
    assert replace(b"one\ntwo", props).content == expected


def test_entire_text_prepend_and_append_once() -> None:
    base = {"Evaluation Mode": "Entire text", "Replacement Value": "<${n}>"}
    assert replace(b"a\nb\n", {**base, "Replacement Strategy": "Prepend"}, n="1").content == (
        b"<1>a\nb\n"
    )
    assert replace(b"a\nb\n", {**base, "Replacement Strategy": "Append"}, n="2").content == (
        b"a\nb\n<2>"
    )


def test_surround_uses_prepend_and_append_texts() -> None:
    props = {
        "Replacement Strategy": "Surround",
        "Text to Prepend": "[",
        "Text to Append": "]",
        "Evaluation Mode": "Entire text",
    }
    assert replace(b"x\ny", props).content == b"[x\ny]"


def test_substitute_variables_leaves_unknown_names() -> None:
    props = {"Replacement Strategy": "Substitute Variables"}
    out = replace(b"hi ${name}, ${nobody}", props, name="ann")
    assert out.content == b"hi ann, ${nobody}"


@pytest.mark.parametrize(
    ("line_mode", "expected"),
    [
        ("First-Line", b"#a\nb\nc\n"),
        ("Last-Line", b"a\nb\n#c\n"),
        ("Except-First-Line", b"a\n#b\n#c\n"),
        ("Except-Last-Line", b"#a\n#b\nc\n"),
    ],
)
def test_line_by_line_modes(line_mode: str, expected: bytes) -> None:
    props = {
        "Replacement Strategy": "Prepend",
        "Replacement Value": "#",
        "Line-by-Line Evaluation Mode": line_mode,
    }
    assert replace(b"a\nb\nc\n", props).content == expected


def test_undecodable_content_goes_to_failure_with_reason() -> None:
    with TestRunner(ReplaceText, {"Character Set": "ascii"}) as runner:
        runner.enqueue(b"caf\xc3\xa9")
        runner.enqueue(b"fine")
        runner.run()
        runner.assert_transferred(ReplaceText.SUCCESS, 1)
        (bad,) = runner.transferred(ReplaceText.FAILURE)
        assert bad.content == b"caf\xc3\xa9"
        assert "UnicodeDecodeError" in bad.attributes["error.message"]


def test_always_replace_on_entire_text_does_not_read_binary_content() -> None:
    """The seed's model call: a JPEG's content replaced by a JSON request body."""
    body = '{"accessKey": "k", "request": {"url": "${url}"}}'
    props = {
        "Replacement Strategy": "Always Replace",
        "Evaluation Mode": "Entire text",
        "Replacement Value": body,
    }
    out = replace(b"\xff\xd8\xff\xe0 not text \xff\xd9", props, url="ftp://h/a.jpg")
    assert out.content == b'{"accessKey": "k", "request": {"url": "ftp://h/a.jpg"}}'


def test_too_large_and_bad_expression_regex_go_to_failure() -> None:
    props = {
        "Evaluation Mode": "Entire text",
        "Maximum Buffer Size": "4 B",
        "Search Value": "${re}",
    }
    with TestRunner(ReplaceText, props) as runner:
        runner.enqueue(b"0123456789", re="x")
        runner.enqueue(b"ab", re="(")
        runner.run()
        failed = runner.transferred(ReplaceText.FAILURE)
        assert ["Buffer Size" in f.attributes["error.message"] for f in failed] == [True, False]
        assert "regular expression" in failed[1].attributes["error.message"]


def test_configuration_errors() -> None:
    runner = TestRunner(ReplaceText, {"Search Value": "(", "Character Set": "nope"})
    runner.assert_invalid("Character Set")
    runner.set_property("Character Set", "UTF-8")
    runner.assert_invalid("Regular Expression")
    runner.set_property("Replacement Strategy", "Regex")
    runner.assert_invalid("Replacement Strategy")
    runner.close()
