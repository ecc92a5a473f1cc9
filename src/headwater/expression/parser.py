"""Recursive descent from expression text to a :mod:`~headwater.expression.nodes` tree.

Grammar (white space is free between tokens inside ``${}``)::

    template   := (text | '$$'-escape | '${' expression '}')*
    expression := subject (':' NAME '(' arguments? ')')*
    subject    := NAME | STRING | NAME '(' arguments? ')'     # the last is subjectless
    arguments  := argument (',' argument)*
    argument   := STRING | NUMBER | 'true' | 'false' | 'null' | '${' expression '}'

A quoted argument that contains ``${`` is itself a template, as in NiFi.
"""

from __future__ import annotations

import re
from dataclasses import replace

from headwater.errors import ExpressionError
from headwater.expression.lexer import Kind, Lexer, Token
from headwater.expression.nodes import Attribute, Call, Literal, Node, Template

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_KEYWORDS: dict[str, object] = {"true": True, "false": False, "null": None}


def parse(text: str) -> Template:
    """The whole text as a template; raises :class:`ExpressionError` with a column."""
    return Template(tuple(_template(text, 0)), 0)


def _template(text: str, offset: int) -> list[Node]:
    """Parts of ``text``; ``offset`` shifts reported columns for nested templates."""
    parts: list[Node] = []
    literal: list[str] = []
    literal_start = 0
    i, n = 0, len(text)
    while i < n:
        dollar = text.find("$", i)
        if dollar < 0:
            literal.append(text[i:])
            break
        literal.append(text[i:dollar])
        run_end = dollar
        while run_end < n and text[run_end] == "$":
            run_end += 1
        count = run_end - dollar
        if run_end >= n or text[run_end] != "{":
            literal.append(text[dollar:run_end])
            i = run_end
            continue
        if count % 2 == 0:  # escaped: pairs of '$' become '$' and the braces stay text
            close = _matching_brace(text, run_end)
            if close < 0:
                literal.append(text[dollar:run_end])
                i = run_end
            else:
                literal.append("$" * (count // 2) + text[run_end : close + 1])
                i = close + 1
            continue
        literal.append("$" * (count // 2))
        if "".join(literal):
            parts.append(Literal("".join(literal), offset + literal_start))
        literal.clear()
        node, i = _embedded(text, run_end - 1)
        parts.append(node)
        literal_start = i
    if "".join(literal):
        parts.append(Literal("".join(literal), offset + literal_start))
    return parts


def _shift(node: Node, delta: int) -> Node:
    """``node`` parsed from a quoted argument, with offsets made relative to the whole text."""
    if isinstance(node, Call):
        subject = None if node.subject is None else _shift(node.subject, delta)
        args = tuple(_shift(arg, delta) for arg in node.args)
        return Call(node.name, subject, args, node.start + delta)
    if isinstance(node, Template):
        return Template(tuple(_shift(p, delta) for p in node.parts), node.start + delta)
    return replace(node, start=node.start + delta)


def _matching_brace(text: str, open_at: int) -> int:
    """Offset of the ``}`` closing the ``{`` at ``open_at``, skipping quoted text; -1 if none."""
    depth, quote = 0, ""
    for i in range(open_at, len(text)):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _embedded(text: str, start: int) -> tuple[Node, int]:
    """Parse ``${ expression }`` beginning at ``start``; return the node and the next offset."""
    lexer = Lexer(text, start)
    lexer.expect(Kind.OPEN, "to start an expression")
    node = _expression(lexer, start)
    return node, lexer.position


def _expression(lexer: Lexer, opened_at: int) -> Node:
    node = _subject(lexer, opened_at)
    while True:
        token = lexer.next()
        if token.kind is Kind.CLOSE:
            return node
        if token.kind is Kind.END:
            raise lexer.error("unclosed '${': expected '}' before the end of the text", opened_at)
        if token.kind is not Kind.COLON:
            raise lexer.error(
                f"expected ':' and a function, or '}}' to end the expression, found {token.text!r}",
                token.start,
            )
        name = lexer.expect(Kind.NAME, "after ':' (a function name)")
        lexer.expect(Kind.LPAREN, f"after function name {name.text!r}")
        node = Call(name.text, node, _arguments(lexer, name), name.start)


def _subject(lexer: Lexer, opened_at: int) -> Node:
    token = lexer.next()
    if token.kind is Kind.STRING:
        return Attribute(token.text, token.start)
    if token.kind is Kind.NAME:
        if lexer.peek().kind is Kind.LPAREN:
            lexer.next()
            return Call(token.text, None, _arguments(lexer, token), token.start)
        if token.text[0].isdigit():
            raise lexer.error(
                f"attribute name {token.text!r} starts with a digit: quote it, as "
                f"${{'{token.text}'}}, or use literal({token.text}) for a number",
                token.start,
            )
        return Attribute(token.text, token.start)
    if token.kind is Kind.END:
        raise lexer.error("unclosed '${': expected an attribute name or a function", opened_at)
    if token.kind is Kind.CLOSE:
        raise lexer.error("empty expression '${}': expected an attribute name", opened_at)
    raise lexer.error(
        f"expected an attribute name or a subjectless function, found {token.text!r}", token.start
    )


def _arguments(lexer: Lexer, function: Token) -> tuple[Node, ...]:
    args: list[Node] = []
    if lexer.peek().kind is Kind.RPAREN:
        lexer.next()
        return ()
    while True:
        args.append(_argument(lexer, function))
        token = lexer.next()
        if token.kind is Kind.RPAREN:
            return tuple(args)
        if token.kind is not Kind.COMMA:
            found = "the end of the text" if token.kind is Kind.END else repr(token.text)
            raise lexer.error(
                f"expected ',' or ')' in the arguments of {function.text!r}, found {found}",
                token.start,
            )


def _argument(lexer: Lexer, function: Token) -> Node:
    token = lexer.next()
    if token.kind is Kind.STRING:
        if "${" not in token.text:
            return Literal(token.text, token.start)
        try:
            parts = [_shift(part, token.start + 1) for part in _template(token.text, 0)]
        except ExpressionError as exc:
            column = token.start + 1 + exc.column
            raise ExpressionError(exc.reason, lexer.text, column) from None
        if len(parts) == 1:
            return parts[0]
        return Template(tuple(parts), token.start)
    if token.kind is Kind.OPEN:
        return _expression(lexer, token.start)
    if token.kind is Kind.NAME:
        if token.text in _KEYWORDS:
            return Literal(_KEYWORDS[token.text], token.start)
        if _NUMBER.fullmatch(token.text):
            is_whole = token.text.lstrip("-").isdigit()
            return Literal(int(token.text) if is_whole else float(token.text), token.start)
        raise lexer.error(
            f"argument {token.text!r} of {function.text!r} is not a quoted string, a number, "
            "true, false or ${...}",
            token.start,
        )
    found = "the end of the text" if token.kind is Kind.END else repr(token.text)
    raise lexer.error(f"expected an argument of {function.text!r}, found {found}", token.start)
