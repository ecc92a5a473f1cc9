"""``headwater demo``: ``headwater up`` plus simulated devices, until --duration or Ctrl-C.

Each device is a ``headwater agent`` process running flows/agent.yaml with its own
data under ``<data-dir>/devices/device-N``, its host name ``device-N`` and its own
token; it reads (simulated) sensors every second, takes a photo every 10 s (scikit-
image's sample photos when installed, else drawn) and classifies it before sending
everything to the hub. A progress line shows readings, images, job runs and queued
FlowFiles; on exit a summary says what was produced, where, and the demo's memory and
CPU use against the goals (under 1.5 GB RSS, half the cores idle).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from headwater.cli.common import start_logging
from headwater.cli.up import add_stack_options, error_text, say, stack_options, stop_on_signals
from headwater.errors import ConfigurationError, HeadwaterError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="run `up` with simulated devices, then summarize", description=__doc__
    )
    parser.add_argument(
        "--devices", type=_devices, default=3, help="how many simulated devices (default 3)"
    )
    add_stack_options(parser)
    parser.set_defaults(func=run)


def _devices(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 50:
        raise argparse.ArgumentTypeError(f"expected 1 to 50 devices, got {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from headwater.stack.demo import run_demo

    start_logging(args)
    stop = stop_on_signals()
    try:
        result = run_demo(stack_options(args), args.devices, args.duration, stop, sys.stdout, say)
    except (ConfigurationError, HeadwaterError, OSError, RuntimeError, TimeoutError) as exc:
        print(f"headwater demo: {error_text(exc)}", file=sys.stderr)
        return 1
    failed = [d for d, code in result.exit_codes.items() if code not in (0, None)]
    if failed:
        print(f"headwater demo: agents {', '.join(failed)} did not exit cleanly", file=sys.stderr)
        return 3
    return 0
