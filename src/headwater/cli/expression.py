"""``headwater expression EXPR -a name=value ...``: evaluate an Expression Language text.

Handy to try an expression before putting it in a flow: prints the result, or, when the
expression does not compile, the expression with a caret under the problem (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from headwater.cli.common import assignment
from headwater.errors import ExpressionError, ExpressionEvaluationError
from headwater.expression import compile_expression


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "expression",
        help="evaluate an Expression Language text against attributes",
        description="Evaluate a NiFi Expression Language text, e.g. "
        "headwater expression '${filename:toUpper()}' -a filename=x.csv",
    )
    parser.add_argument("expr", metavar="EXPR", help="the expression, e.g. '${filename:toUpper()}'")
    parser.add_argument(
        "-a",
        "--attribute",
        action="append",
        default=[],
        type=assignment,
        metavar="NAME=VALUE",
        help="an attribute for the expression to read (repeatable)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    attributes = dict(args.attribute)
    try:
        expression = compile_expression(args.expr)
    except ExpressionError as exc:
        print(exc.pointer(), file=sys.stderr)
        return 2
    try:
        print(expression.evaluate(attributes))
    except ExpressionEvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
