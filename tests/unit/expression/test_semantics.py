"""The public interface and NiFi's type rules, beyond the guide's examples."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from headwater.expression import Expression, compile_expression


def value(text: str, **attributes: str) -> object:
    return compile_expression(text).evaluate_value(attributes)


def text(expression: str, **attributes: str) -> str:
    return compile_expression(expression).evaluate(attributes)


def test_public_attributes() -> None:
    expr = compile_expression("Hello ${name:toUpper()} from ${'my attr'}, ${literal(1)}!")
    assert isinstance(expr, Expression)
    assert expr.text == "Hello ${name:toUpper()} from ${'my attr'}, ${literal(1)}!"
    assert expr.attribute_names == frozenset({"name", "my attr"})
    assert not expr.is_literal
    assert expr.evaluate({"name": "ann", "my attr": "bob"}) == "Hello ANN from bob, 1!"


def test_literal_text_is_a_constant() -> None:
    expr = compile_expression("no expression here, only $5 and $${escaped}")
    assert expr.is_literal
    assert expr.evaluate({}) == "no expression here, only $5 and ${escaped}"
    assert expr.evaluate_value({}) == expr.evaluate({})
    assert compile_expression("").evaluate({}) == ""


def test_missing_attribute_renders_empty_and_is_none_as_value() -> None:
    assert text("[${missing}]") == "[]"
    assert value("${missing}") is None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("${a:toNumber()}", 7),
        ("${a:toDecimal()}", 7.0),
        ("${a:equals('7')}", True),
        ("${a:plus(1.5)}", 8.5),
        ("${literal('x')}", "x"),
        ("${a:toNumber():divide(2)}", 3),
        ("${literal(-7):divide(2)}", -3),
        ("${literal(-7):mod(2)}", -1),
        ("${literal(7.0):divide(2)}", 3.5),
        ("${literal(9223372036854775807):plus(1)}", -9223372036854775808),
    ],
)
def test_typed_values(expression: str, expected: object) -> None:
    result = value(expression, a="7")
    assert result == expected
    assert type(result) is type(expected)


def test_dates_are_datetimes_and_millis_as_numbers() -> None:
    moment = value("${d:toDate('yyyy-MM-dd HH:mm', 'UTC')}", d="2024-02-29 13:45")
    assert moment == datetime(2024, 2, 29, 13, 45, tzinfo=UTC)
    assert text("${d:toDate('yyyy-MM-dd', 'UTC'):toNumber()}", d="1970-01-02") == "86400000"
    assert text("${t:format('EEEE, d MMMM yyyy hh:mm a', 'UTC')}", t="0") == (
        "Thursday, 1 January 1970 12:00 AM"
    )
    assert text("${t:format(\"yyyy-MM-dd'T'HH:mm:ssXXX\", 'Asia/Kolkata')}", t="0") == (
        "1970-01-01T05:30:00+05:30"
    )
    assert text("${t:format('Z z', 'America/New_York')}", t="1720000000000") == "-0400 EDT"
    apache_log = "${d:toDate('dd/MMM/yyyy:HH:mm:ss Z'):toNumber()}"
    assert text(apache_log, d="10/Oct/2000:13:55:36 -0700") == "971211336000"


def test_a_date_renders_like_java_date_to_string() -> None:
    rendered = text("${t:toDate()}", t="1420058163264")
    assert len(rendered.split()) == 6 and rendered.endswith(("2014", "2015"))


def test_now_is_close_to_the_clock() -> None:
    now = int(text("${now():toNumber()}"))
    assert abs(now - time.time() * 1000) < 5000


def test_decimals_render_like_java_doubles() -> None:
    assert text("${literal(1):toDecimal()}") == "1.0"
    assert text("${literal(10000000):toDecimal()}") == "1.0E7"
    assert text("${literal(1):divide(3.0)}") == "0.3333333333333333"
    assert text("${literal(1.11E-12)}") == "1.11E-12"


def test_booleans_and_true_false_literals() -> None:
    assert text("${literal(true):and(false)}") == "false"
    assert text("${literal(false):or(true)}") == "true"
    assert text("${a:equals(true)}", a="true") == "true"


def test_and_or_if_else_evaluate_lazily() -> None:
    # The right-hand side would fail; it is not evaluated when the subject decides.
    assert text("${literal(false):and(${a:toNumber():gt(1)})}", a="x") == "false"
    assert text("${literal(true):ifElse('yes', ${a:toNumber()})}", a="x") == "yes"


def test_nested_and_quoted_embedded_expressions() -> None:
    assert text("${a:equals(${b})}", a="x", b="x") == "true"
    assert text("${a:append('-${b:toUpper()}-')}", a="x", b="y") == "x-Y-"
    assert text("${a:replaceAll('(\\d+)', '<$1>')}", a="a1b22") == "a<1>b<22>"
    assert text("${a:matches('\\p{Alpha}+')}", a="abc") == "true"
    assert text("${'a b':append(\"it's\")}", **{"a b": "x"}) == "xit's"


def test_escapes_encoding_round_trips() -> None:
    assert text("${a:escapeJson()}", a="é\t/") == "\\u00E9\\t\\/"
    assert text("${a:escapeJson():unescapeJson()}", a='é\t/"') == 'é\t/"'
    assert text("${a:escapeHtml4()}", a="é<\u03b1>") == "&eacute;&lt;&alpha;&gt;"
    assert text("${a:escapeHtml3()}", a="é<\u03b1>") == "&eacute;&lt;\u03b1&gt;"
    assert text("${a:escapeCsv():unescapeCsv()}", a='say "hi", bye') == 'say "hi", bye'
    assert text("${a:hash('MD5')}", a="") == "d41d8cd98f00b204e9800998ecf8427e"


def test_json_path_updates() -> None:
    doc = '{"a": {"b": 1}, "list": [1], "name": "x"}'
    assert text("${j:jsonPathDelete('$.a')}", j=doc) == '{"list":[1],"name":"x"}'
    assert text("${j:jsonPathSet('$.name', 'y')}", j=doc) == '{"a":{"b":1},"list":[1],"name":"y"}'
    assert (
        text("${j:jsonPathSet('$.missing', 'y')}", j=doc) == '{"a":{"b":1},"list":[1],"name":"x"}'
    )
    assert text("${j:jsonPathAdd('$.list', 2)}", j=doc) == '{"a":{"b":1},"list":[1,2],"name":"x"}'
    assert text("${j:jsonPathAdd('$.name', 2)}", j=doc) == ""
    assert text("${j:jsonPathPut('$.a', 'c', 'z')}", j=doc) == (
        '{"a":{"b":1,"c":"z"},"list":[1],"name":"x"}'
    )


def test_multi_attribute_functions_are_thread_safe() -> None:
    expr = compile_expression("${allMatchingAttributes('v.*'):toUpper():join(',')}")
    errors: list[str] = []

    def work(n: int) -> None:
        attrs = {f"v{i}": f"{n}-{i}" for i in range(5)}
        expected = ",".join(f"{n}-{i}" for i in range(5))
        for _ in range(300):
            result = expr.evaluate(attrs)
            if result != expected:
                errors.append(result)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_evaluate_el_string_and_get_delimited_field_options() -> None:
    assert text("${q:evaluateELString()}", q="id=${id:plus(1)}", id="41") == "id=42"
    assert text("${l:getDelimitedField(3)}", l="a,b") == ""
    assert text("${l:getDelimitedField(2, ';', \"'\")}", l="x;'a;b';c") == "'a;b'"


def test_a_simple_expression_is_fast() -> None:
    expr = compile_expression("${filename:endsWith('.jpg')}")
    attrs = {"filename": "photo.jpg"}
    start = time.perf_counter()
    for _ in range(20_000):
        expr.evaluate(attrs)
    per_eval = (time.perf_counter() - start) / 20_000
    assert per_eval < 20e-6  # ~0.3 µs measured; generous for slow CI machines
