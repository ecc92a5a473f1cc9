"""``headwater validate FLOW.yaml [-p name=value ...]``: check a flow, start nothing.

Prints ``FLOW.yaml: valid (N processors, M connections)`` and exits 0, or prints every
problem on its own line and exits 1. Each line starts with the file name and, where
known, the line (``flow.yaml:17: processors.merge...``), so editors can jump to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from headwater.cli.common import add_parameter_option, print_problems
from headwater.errors import ConfigurationError
from headwater.flow.loader import load_flow


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a flow file and list every problem",
        description="Load a flow file and check it completely: types, properties, "
        "services, expressions, connections and schedules. Nothing starts.",
    )
    parser.add_argument("flow", metavar="FLOW.yaml", help="the flow file")
    add_parameter_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        flow = load_flow(Path(args.flow), parameters=dict(args.parameter))
    except ConfigurationError as exc:
        print_problems(args.flow, exc)
        return 1
    processors = _count(len(flow.processors), "processor")
    connections = _count(len(flow.connections), "connection")
    print(f"{args.flow}: valid ({processors}, {connections})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
