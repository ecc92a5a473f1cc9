"""Small pieces the sub-commands share; light to import (the services' commands use it
without loading the flow engine, the agent without loading argparse)."""

from __future__ import annotations

import logging
import math
import sys
from typing import TYPE_CHECKING

from headwater.errors import ConfigurationError

if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace


def assignment(text: str) -> tuple[str, str]:
    """``name=value`` as a pair, for argparse ``type=``; argparse reports the error."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        from argparse import ArgumentTypeError

        raise ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def add_parameter_option(parser: argparse.ArgumentParser) -> None:
    """``-p NAME=VALUE``, repeatable: flow parameters that override the flow file's."""
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        type=assignment,
        metavar="NAME=VALUE",
        help="set a flow parameter, overriding the flow file's value (repeatable)",
    )


def seconds(text: str) -> float:
    """A positive number of seconds, for ``--duration``."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value > 0):
        from argparse import ArgumentTypeError

        raise ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_running_options(parser: argparse.ArgumentParser) -> None:
    """``--duration`` and ``--log-level``, for the commands that run until stopped."""
    parser.add_argument(
        "--duration", type=seconds, metavar="SECONDS", help="stop by itself after this many seconds"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")


def start_logging(args: argparse.Namespace | SimpleNamespace) -> None:
    """Log records to stderr at ``--log-level``, with time, level and logger."""
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or just ``PORT``, on 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise SystemExit(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def print_problems(source: object, exc: ConfigurationError) -> None:
    """Every problem on its own line, prefixed with the file (and line, when known)."""
    from headwater.flow.loader import FlowDefinitionError

    for problem in exc.problems:
        line = exc.line_of(problem.path) if isinstance(exc, FlowDefinitionError) else None
        where = f"{source}:{line}" if line else f"{source}"
        print(f"{where}: {problem}", file=sys.stderr)
