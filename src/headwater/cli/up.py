"""``headwater up``: the hub, the models service and the jobs service in one process.

Embedded defaults: the lake on the local filesystem, an FTP server in process as the
image store, SQLite repositories, Spark ``local[*]``, and an alert webhook sink.
Security is on: the API token, the agents' tokens and the services' keys are made on
the first start and kept in ``<data-dir>/secrets.yaml`` (0600). Ports from
``--port-base`` B: hub and web UI B, models B+1, jobs B+2, alert sink B+3, FTP 2121
with the default base, else B+4 (``--ftp-port``); ``--port-base 0`` takes free ports.
Missing models are prepared first (once). SIGTERM or Ctrl-C stops every part; the
hub's queues are kept. Each part still runs alone with its own command, e.g. with the
generated ``<data-dir>/config/models.yaml`` and ``jobs.yaml``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from headwater.cli.common import add_parameter_option, add_running_options, start_logging
from headwater.errors import ConfigurationError, HeadwaterError

DEFAULT_FLOW = Path("flows/edge-to-ai.yaml")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "up", help="run hub, models and jobs together (embedded defaults)", description=__doc__
    )
    add_stack_options(parser)
    parser.set_defaults(func=run)


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """The options ``up`` and ``demo`` share."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("headwater-data"),
        help="where everything lives (default ./headwater-data)",
    )
    parser.add_argument(
        "--flow",
        type=Path,
        default=DEFAULT_FLOW,
        help=f"the hub's flow (default {DEFAULT_FLOW}, from the checkout when not here)",
    )
    parser.add_argument(
        "--jobs",
        type=Path,
        default=Path("jobs/jobs.yaml"),
        metavar="JOBS.yaml",
        help="the jobs to serve, rewritten for the stack (default jobs/jobs.yaml)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="where every part listens")
    parser.add_argument(
        "--port-base",
        type=_port_base,
        default=8080,
        metavar="PORT",
        help="hub PORT, models +1, jobs +2, alert sink +3 (default 8080; 0: free ports)",
    )
    parser.add_argument(
        "--ftp-port",
        type=int,
        metavar="PORT",
        help="the FTP store's port (default 2121 with the default --port-base, else base+4)",
    )
    parser.add_argument(
        "--models-cache",
        type=Path,
        metavar="DIR",
        help="the model cache (default $HEADWATER_MODELS, else ~/.cache/headwater/models)",
    )
    add_parameter_option(parser)
    add_running_options(parser)
    parser.set_defaults(log_level="WARNING")


def _port_base(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65531:
        raise argparse.ArgumentTypeError(f"expected 1 to 65531 (or 0: free ports), got {value}")
    return value


def stack_options(args: argparse.Namespace) -> Any:
    from headwater.stack.up import StackOptions

    return StackOptions(
        data_dir=args.data_dir,
        flow=args.flow,
        jobs=args.jobs,
        host=args.host,
        port_base=args.port_base,
        ftp_port=args.ftp_port,
        parameters=dict(args.parameter),
        models_cache=args.models_cache,
    )


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def say(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    from headwater.stack.up import Stack

    start_logging(args)
    stop = stop_on_signals()
    try:
        stack = Stack(stack_options(args), say)
        stack.start()
    except (ConfigurationError, HeadwaterError, OSError, RuntimeError, TimeoutError) as exc:
        print(f"headwater up: cannot start: {error_text(exc)}", file=sys.stderr)
        return 1
    controller = stack.controller
    assert controller is not None
    try:
        for line in stack.describe():
            say(line)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.is_set() and not controller.stopped.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            stop.wait(0.5)
    finally:
        say("headwater up: stopping ...")
        fault = controller.scheduler.fault
        queued = controller.queued()
        stack.stop()
    if fault is not None:
        print(f"headwater up: the hub stopped by an engine fault: {fault}", file=sys.stderr)
        return 3
    say(f"headwater up: stopped cleanly; {queued} FlowFiles kept in the hub's queues")
    return 0


def error_text(exc: BaseException) -> str:
    problems = getattr(exc, "problems", None)
    if problems:
        return "; ".join(str(p) for p in problems)
    return str(exc)
