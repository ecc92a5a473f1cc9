"""``headwater jobs serve [--config JOBS.yaml] [--bind HOST:PORT]``: the jobs service.

It serves the CDSW Jobs API v1 (see docs/jobs.md) until SIGTERM or SIGINT, then stops
every run in flight. Without ``--config`` it serves one user, ``admin``, under an API
key it generates and prints once, with no jobs: create them over the API. On start it
says, a line each, where it listens, where its data lives, which Spark master and Java
it uses, and what a previous service left in flight.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import sys
import threading
from pathlib import Path
from typing import Any

DEFAULT_BIND = "127.0.0.1:8082"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "jobs", help="the jobs service (CDSW Jobs API compatible, PySpark)", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the Jobs API and run jobs",
        description="Run the jobs of JOBS.yaml and those made over the API (docs/jobs.md).",
    )
    serve.add_argument("--config", metavar="JOBS.yaml", help="the jobs file (default: none)")
    serve.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        metavar="HOST:PORT",
        help=f"where to listen (default: {DEFAULT_BIND}; port 0 picks a free one)",
    )
    serve.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the store and the logs live (overrides the file's data-dir)",
    )
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Load the config (every problem listed, exit 1), start, wait for a signal, stop."""
    import dataclasses

    from headwater.cli.common import parse_bind
    from headwater.errors import ConfigurationError, RepositoryError
    from headwater.jobs.config import User, load_config, parse_config
    from headwater.jobs.server import JobsServer

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    generated = None
    try:
        if args.config:
            config = load_config(args.config)
        else:
            generated = secrets.token_urlsafe(24)
            config = parse_config({}, Path.cwd())
            config = dataclasses.replace(config, users=(User("admin", generated, "Admin"),))
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 1
    if args.data_dir:
        config = dataclasses.replace(config, data_dir=Path(args.data_dir))
    host, port = parse_bind(args.bind)
    try:
        server = JobsServer(config, host, port)
    except RepositoryError as exc:
        print(f"headwater jobs serve: {exc}", file=sys.stderr)
        return 1
    service = server.service
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server.start()
    except (OSError, RuntimeError, TimeoutError) as exc:
        print(f"headwater jobs serve: {exc}", file=sys.stderr)
        return 1
    _say(f"jobs service listening on {server.url}")
    for line in service.describe():
        _say(line)
    if generated is not None:
        _say(f"API key of user admin (shown once): {generated}")
    if service.java is None:  # also on stderr, where operators look for trouble
        print(f"headwater jobs serve: {service.java_message}", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        _say("jobs service stopping")
        server.stop()
    return 0


def _say(line: str) -> None:
    print(line, flush=True)
