"""JSONPath over attribute values, with the ``jsonpath-ng`` package (its ``ext`` dialect,
which has filters such as ``$.items[?(@.type=="home")]``), imported on first use: its
parser tables are 2 MB that an agent whose flow never calls jsonPath does not carry."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from headwater.errors import ExpressionEvaluationError
from headwater.expression.functions.registry import Arg, fn, register
from headwater.expression.values import render

if TYPE_CHECKING:
    from jsonpath_ng import JSONPath  # type: ignore[import-untyped]


@lru_cache(maxsize=512)
def compile_path(path: str) -> JSONPath:
    from jsonpath_ng.ext import parse as parse_path  # type: ignore[import-untyped]

    try:
        return parse_path(path)
    except Exception as exc:  # the lexer's and parser's errors, and worse
        raise ExpressionEvaluationError(f"invalid JSONPath {path!r}: {exc}") from exc


def _document(text: str, function: str) -> Any:
    if not text.strip():
        raise ExpressionEvaluationError(f"{function}: the subject is empty, expected JSON")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ExpressionEvaluationError(
            f"{function}: the subject is not valid JSON: {exc}"
        ) from exc


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return render(value)
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], dict | list):
        return _text(value[0])
    return orjson.dumps(value).decode()


def _dump(document: Any) -> str:
    return orjson.dumps(document).decode()


def _scalar(value: object) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else render(value)


def json_path(text: str, path: str) -> str:
    found = [match.value for match in compile_path(path).find(_document(text, "jsonPath"))]
    if not found:
        return ""
    return _text(found[0] if len(found) == 1 else found)


def json_path_delete(text: str, path: str) -> str:
    document = _document(text, "jsonPathDelete")
    return _dump(compile_path(path).filter(lambda value: True, document))


def json_path_set(text: str, path: str, value: object) -> str:
    document = _document(text, "jsonPathSet")
    return _dump(compile_path(path).update(document, _scalar(value)))


def json_path_add(text: str, path: str, value: object) -> str:
    document = _document(text, "jsonPathAdd")
    matches = compile_path(path).find(document)
    for match in matches:
        if not isinstance(match.value, list):
            return ""
        match.value.append(_scalar(value))
    return _dump(document)


def json_path_put(text: str, path: str, key: str, value: object) -> str:
    document = _document(text, "jsonPathPut")
    for match in compile_path(path).find(document):
        if not isinstance(match.value, dict):
            return ""
        match.value[key] = _scalar(value)
    return _dump(document)


S = Arg.STRING
register(
    fn("jsonPath", json_path, S),
    fn("jsonPathDelete", json_path_delete, S),
    fn("jsonPathSet", json_path_set, S, Arg.ANY),
    fn("jsonPathAdd", json_path_add, S, Arg.ANY),
    fn("jsonPathPut", json_path_put, S, S, Arg.ANY),
)
