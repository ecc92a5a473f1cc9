"""Encoding and decoding: JSON, XML, CSV and HTML escapes, URLs, Base64/32, hashes, UUID3/5.

Escapes follow Apache Commons Text, which NiFi uses: ``escapeJson`` writes non-ASCII as
``\\uXXXX``; ``escapeHtml3`` knows the Latin-1 entities, ``escapeHtml4`` all of HTML 4's.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from functools import cache
from urllib.parse import quote_plus, unquote_plus

from headwater.errors import ExpressionEvaluationError
from headwater.expression.functions.registry import Arg, fn, register

_JSON = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
         "\r": "\\r", "\t": "\\t"}  # fmt: skip
_JSON_UNSAFE = re.compile(r'["\\/\x00-\x1f\x80-\U0010ffff]')
_BASIC = {'"': "&quot;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}
_XML = {**_BASIC, "'": "&apos;"}
_JAVA_UNESCAPE = re.compile(r"\\(u+[0-9a-fA-F]{4}|[0-7]{1,3}|.)", re.DOTALL)
_XML_ENTITY = re.compile(r"&(quot|amp|lt|gt|apos|#\d+|#[xX][0-9a-fA-F]+);")
_XML_NAMES = {"quot": '"', "amp": "&", "lt": "<", "gt": ">", "apos": "'"}
_CSV_SPECIAL = re.compile(r'[,"\r\n]')
_HASHES = {"md5": "md5", "sha": "sha1", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256",
           "sha384": "sha384", "sha512": "sha512", "sha512/224": "sha512_224",
           "sha512/256": "sha512_256", "sha3224": "sha3_224", "sha3256": "sha3_256",
           "sha3384": "sha3_384", "sha3512": "sha3_512"}  # fmt: skip


def _json_char(match: re.Match[str]) -> str:
    char = match.group()
    return _JSON.get(char) or "".join(f"\\u{unit:04X}" for unit in _utf16(char))


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def escape_json(text: str) -> str:
    return _JSON_UNSAFE.sub(_json_char, text)


def unescape_json(text: str) -> str:
    named = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if body[0] == "u":
            return chr(int(body.lstrip("u"), 16))
        if body[0].isdigit() and body[0] in "01234567":
            return chr(int(body, 8))
        return named.get(body, body)

    unescaped = _JAVA_UNESCAPE.sub(one, text)
    return unescaped.encode("utf-16", "surrogatepass").decode("utf-16")


def _escape(table: dict[str, str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(key) for key in table))


_XML_RE = _escape(_XML)


@cache
def _html(lowest: int, highest: int) -> tuple[dict[str, str], re.Pattern[str]]:
    """The entities of HTML 3 (160-255) or 4 (above 127), made on first use: the entity
    tables are half a megabyte that an agent's flow rarely needs."""
    from html.entities import codepoint2name

    table = {
        **_BASIC,
        **{chr(c): f"&{n};" for c, n in codepoint2name.items() if lowest <= c <= highest},
    }
    return table, _escape(table)


def escape_html(text: str, lowest: int, highest: int) -> str:
    table, pattern = _html(lowest, highest)
    return pattern.sub(lambda m: table[m.group()], text)


def unescape_html(text: str) -> str:
    import html

    return html.unescape(text)


def escape_xml(text: str) -> str:
    return _XML_RE.sub(lambda m: _XML[m.group()], text)


def unescape_xml(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name[0] != "#":
            return _XML_NAMES[name]
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))

    return _XML_ENTITY.sub(one, text)


def escape_csv(text: str) -> str:
    if not _CSV_SPECIAL.search(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def unescape_csv(text: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    inner = text[1:-1]
    return inner.replace('""', '"') if _CSV_SPECIAL.search(inner) else text


def url_encode(text: str) -> str:
    return quote_plus(text, safe="*").replace("~", "%7E")


def base64_decode(text: str) -> str:
    try:
        return base64.b64decode(text, validate=False).decode("utf-8", "replace")
    except binascii.Error as exc:
        raise ExpressionEvaluationError(f"base64Decode: {text!r} is not Base64: {exc}") from exc


def base32_decode(text: str) -> str:
    try:
        return base64.b32decode(text, casefold=True).decode("utf-8", "replace")
    except binascii.Error as exc:
        raise ExpressionEvaluationError(f"base32Decode: {text!r} is not Base32: {exc}") from exc


def hash_(text: str, algorithm: str) -> str:
    key = algorithm.lower().replace("-", "").replace("_", "")
    name = _HASHES.get(key)
    if name is None:
        raise ExpressionEvaluationError(
            f"hash: unsupported algorithm {algorithm!r}; use one of "
            "MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA3-256"
        )
    import hashlib  # on first use, as the HTML tables

    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _namespace(value: str, function: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ExpressionEvaluationError(
            f"{function}: the namespace {value!r} is not a UUID"
        ) from exc


S = Arg.STRING
register(
    fn("escapeJson", escape_json),
    fn("unescapeJson", unescape_json),
    fn("escapeXml", escape_xml),
    fn("unescapeXml", unescape_xml),
    fn("escapeCsv", escape_csv),
    fn("unescapeCsv", unescape_csv),
    fn("escapeHtml3", lambda text: escape_html(text, 160, 255)),
    fn("escapeHtml4", lambda text: escape_html(text, 128, 0x10FFFF)),
    fn("unescapeHtml3", unescape_html),
    fn("unescapeHtml4", unescape_html),
    fn("urlEncode", url_encode),
    fn("urlDecode", unquote_plus),
    fn("base64Encode", lambda text: base64.b64encode(text.encode()).decode("ascii")),
    fn("base64Decode", base64_decode),
    fn("base32Encode", lambda text: base64.b32encode(text.encode()).decode("ascii")),
    fn("base32Decode", base32_decode),
    fn("hash", hash_, S),
    fn("UUID3", lambda text, ns: str(uuid.uuid3(_namespace(ns, "UUID3"), text)), S),
    fn("UUID5", lambda text, ns: str(uuid.uuid5(_namespace(ns, "UUID5"), text)), S),
)
