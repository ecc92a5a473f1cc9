"""Tokens of the text between ``${`` and ``}``.

The lexer is a cursor the parser pulls from, so that nested ``${`` inside arguments
need no second pass. Positions are 0-based offsets into the whole expression text;
errors turn them into the 1-based columns people see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from headwater.errors import ExpressionError

# Characters that end an unquoted name (NiFi's "special characters").
SPECIAL = frozenset("$|{}()[],:;/*'\" \t\r\n")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


class Kind(Enum):
    NAME = "name"
    STRING = "string"
    COLON = "':'"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    OPEN = "'${'"
    CLOSE = "'}'"
    END = "end of text"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the value: a name, or a string literal with its escapes applied
    start: int  # offset of the token's first character
    raw_start: int = 0  # for strings: offset of the first character inside the quotes


_PUNCTUATION = {
    ":": Kind.COLON,
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    ",": Kind.COMMA,
    "}": Kind.CLOSE,
}


class Lexer:
    """Reads tokens from ``text`` starting at ``position``, skipping white space."""

    def __init__(self, text: str, position: int) -> None:
        self.text = text
        self.position = position
        self._peeked: Token | None = None

    def error(self, message: str, offset: int) -> ExpressionError:
        return ExpressionError(message, self.text, offset + 1)

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def next(self) -> Token:
        token = self.peek()
        self._peeked = None
        return token

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.next()
        if token.kind is not kind:
            found = "the end of the text" if token.kind is Kind.END else repr(token.text)
            raise self.error(f"expected {kind.value} {context}, found {found}", token.start)
        return token

    def _scan(self) -> Token:
        text, i, n = self.text, self.position, len(self.text)
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            self.position = n
            return Token(Kind.END, "", n)
        char = text[i]
        if char == "$" and i + 1 < n and text[i + 1] == "{":
            self.position = i + 2
            return Token(Kind.OPEN, "${", i)
        kind = _PUNCTUATION.get(char)
        if kind is not None:
            self.position = i + 1
            return Token(kind, char, i)
        if char in "'\"":
            return self._string(i, char)
        if char in SPECIAL:
            raise self.error(f"unexpected character {char!r}", i)
        end = i
        while end < n and text[end] not in SPECIAL:
            end += 1
        self.position = end
        return Token(Kind.NAME, text[i:end], i)

    def _string(self, start: int, quote: str) -> Token:
        text, n = self.text, len(self.text)
        parts: list[str] = []
        i = start + 1
        while i < n:
            char = text[i]
            if char == quote:
                self.position = i + 1
                return Token(Kind.STRING, "".join(parts), start, start + 1)
            if char == "\\" and i + 1 < n:
                escaped = _ESCAPES.get(text[i + 1])
                if escaped is not None:
                    parts.append(escaped)
                    i += 2
                    continue
            parts.append(char)
            i += 1
        raise self.error(f"unterminated string: no closing {quote}", start)
