"""The ``headwater`` command line: one module per sub-command, each with ``register``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

# Each module defines ``register(subparsers) -> None`` that adds its parser and sets
# ``func=run`` where ``run(args: argparse.Namespace) -> int`` returns the exit code.
COMMANDS = (
    *("run", "agent", "validate", "expression", "docs", "models", "jobs", "tls"),
    *("up", "demo"),
)


class _Formatter(argparse.HelpFormatter):
    """argparse's help, told the terminal's width: left to itself it asks ``shutil``,
    which imports bz2, lzma and fnmatch (0.4 MB of a device's memory) on every start."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        super().__init__(prog, width=columns - 2)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose sub-command parsers (``type(self)``) share ``_Formatter``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or only the sub-command ``only``: a device running
    ``headwater agent`` then imports none of the others (the hub, the stack, the jobs
    and models services), about 2 MB of its resident memory."""
    parser = _Parser(
        prog="headwater", description="Edge-to-AI dataflow: run, validate and inspect flows."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only else COMMANDS:
        importlib.import_module(f"headwater.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(chosen).parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
