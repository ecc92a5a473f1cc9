"""The ``headwater`` command line: one module per sub-command, each with ``register``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module defines ``register(subparsers) -> None`` that adds its parser and sets
# ``func=run`` where ``run(args: argparse.Namespace) -> int`` returns the exit code.
COMMANDS = (
    *("run", "agent", "validate", "expression", "docs", "models", "jobs", "tls"),
    *("up", "demo"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headwater", description="Edge-to-AI dataflow: run, validate and inspect flows."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"headwater.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
