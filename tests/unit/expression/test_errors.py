"""Compile errors carry a 1-based column; evaluation errors say what went wrong."""

from __future__ import annotations

import pytest

from headwater.errors import ConfigurationError, ExpressionError, ExpressionEvaluationError
from headwater.expression import compile_expression

COMPILE_ERRORS = [
    # (expression, column, words in the message)
    ("${filename:toUppr()}", 12, "did you mean 'toUpper'"),
    ("${filename:substringbefore('.')}", 12, "substringBefore"),
    ("${filename:nosuchthing()}", 12, "unknown function"),
    ("${filename:substring(1,2,3)}", 12, "takes 1 to 2 arguments, got 3"),
    ("${filename:toUpper(1)}", 12, "takes 0 arguments, got 1"),
    ("${filename:equals()}", 12, "takes 1 argument, got 0"),
    ("${filename:toUpper()", 1, "unclosed '${'"),
    ("abc ${filename", 5, "unclosed '${'"),
    ("${a:equals(${b)}", 15, "found ')'"),
    ("${filename:equals('x)}", 19, "unterminated string"),
    ("${filename:toUpper() trailing}", 22, "found 'trailing'"),
    ("${filename:toUpper()):x}", 21, "found ')'"),
    ("${}", 1, "empty expression"),
    ("${5}", 3, "starts with a digit"),
    ("Unescaped $$${5} because", 15, "starts with a digit"),
    ("${filename:now()}", 12, "takes no subject"),
    ("${toUpper()}", 3, "needs a subject"),
    ("${filename:substring('x')}", 22, "must be a whole number"),
    ("${filename:matches('[a')}", 20, "regular expression"),
    ("${filename:equals(abc)}", 19, "is not a quoted string"),
    ("${filename:count()}", 12, "allAttributes"),
    ("${anyAttribute('a'):count()}", 21, "needs allAttributes"),
    ("${allDelineatedValues('a'):count()}", 3, "takes 2 arguments"),
    ("${a:equals('${b:toUppr()}')}", 17, "did you mean 'toUpper'"),
    ("${filename:toUpper", 19, "expected '('"),
]


@pytest.mark.parametrize(("text", "column", "words"), COMPILE_ERRORS)
def test_compile_error_points_at_the_problem(text: str, column: int, words: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.column == column, caught.value.pointer()
    assert words in caught.value.reason
    assert caught.value.expression == text


def test_expression_error_is_a_configuration_error_with_a_pointer() -> None:
    with pytest.raises(ConfigurationError) as caught:
        compile_expression("${x:toUppr()}")
    assert isinstance(caught.value, ExpressionError)
    assert caught.value.pointer() == (
        "${x:toUppr()}\n    ^ unknown function 'toUppr'; did you mean 'toUpper'?"
    )


RUNTIME_ERRORS = [
    ("${a:toNumber()}", {"a": "abc"}, "cannot convert 'abc' to a number"),
    ("${a:plus(1)}", {"a": "abc"}, "cannot convert"),
    ("${a:divide(0)}", {"a": "5"}, "by zero"),
    ("${a:toDate('yyyy-MM-dd', 'GMT')}", {"a": "31/12/2014"}, "cannot parse"),
    ("${a:format('yyyy', 'Nowhere/City')}", {"a": "0"}, "unknown time zone"),
    ("${a:substring(3, 1)}", {"a": "abcdef"}, "greater than end"),
    ("${a:jsonPath('$.x')}", {"a": "{not json"}, "not valid JSON"),
    ("${a:jsonPath('$.x')}", {"a": ""}, "empty"),
    ("${a:hash('NOPE')}", {"a": "x"}, "unsupported algorithm"),
    ("${a:UUID3('not-a-uuid')}", {"a": "x"}, "not a UUID"),
    ("${a:fromRadix(2)}", {"a": "102"}, "not a base-2 number"),
    ("${a:matches(${b})}", {"a": "x", "b": "[x"}, "invalid regular expression"),
    ("${a:math('nope')}", {"a": "1"}, "no java.lang.Math method"),
]


@pytest.mark.parametrize(("text", "attributes", "words"), RUNTIME_ERRORS)
def test_evaluation_error_says_why(text: str, attributes: dict[str, str], words: str) -> None:
    expression = compile_expression(text)
    with pytest.raises(ExpressionEvaluationError) as caught:
        expression.evaluate(attributes)
    assert words in str(caught.value)
