"""The ``headwater`` command line: one module per sub-command, each with ``register``.

argparse, with the gettext module it brings, is 0.35 MB of a device's memory, so it
loads only when a command line needs it: a plain ``headwater agent --config AGENT.yaml``
is read without it (:func:`headwater.cli.agent.plain_args`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

# Each module defines ``register(subparsers) -> None`` that adds its parser and sets
# ``func=run`` where ``run(args: argparse.Namespace) -> int`` returns the exit code.
COMMANDS = (
    *("run", "agent", "validate", "expression", "docs", "models", "jobs", "tls"),
    *("up", "demo"),
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or only the sub-command ``only``: a device running
    ``headwater agent`` then imports none of the others (the hub, the stack, the jobs
    and models services), about 2 MB of its resident memory."""
    from headwater.cli.parsing import Parser

    parser = Parser(
        prog="headwater", description="Edge-to-AI dataflow: run, validate and inspect flows."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only else COMMANDS:
        importlib.import_module(f"headwater.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``argv`` None: this process's own) or a command run in-process."""
    command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    args: argparse.Namespace | SimpleNamespace | None = None
    if chosen == "agent":
        from headwater.cli.agent import one_malloc_arena, plain_args

        if command_line:
            one_malloc_arena()
        args = plain_args(argv[1:])
    if args is None:
        args = build_parser(chosen).parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
