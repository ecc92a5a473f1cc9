"""``headwater agent --config AGENT.yaml``: the edge agent — one flow, and C2 with the hubs.

The configuration (see ``flows/agent-config.yaml`` and docs/agent.md) names the agent,
its flow, its data directory and its hubs. The agent runs the flow, sends a heartbeat
every period and applies the new flows the hubs send, until SIGTERM or Ctrl-C. It
imports no web framework or columnar library: only the engine, the flow's own
processor types, headwater's own HTTP client (:mod:`headwater.s2s.hubhttp`) and psutil.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from headwater.cli.common import add_running_options, print_problems, seconds, start_logging
from headwater.errors import ConfigurationError, HeadwaterError

if TYPE_CHECKING:
    import argparse


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "agent", help="run the edge agent: its flow, heartbeats and C2", description=__doc__
    )
    parser.add_argument(
        "--config", type=Path, required=True, metavar="AGENT.yaml", help="the agent configuration"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where the repositories live (overrides the config's)"
    )
    add_running_options(parser)
    parser.set_defaults(func=run)


_PLAIN: dict[str, tuple[str, Callable[[str], object]]] = {
    "--config": ("config", Path),
    "--data-dir": ("data_dir", Path),
    "--duration": ("duration", seconds),
    "--log-level": ("log_level", str),
}


def plain_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """``--option value`` pairs of the options above, read without argparse; None for
    anything else (help, a misspelt option, a bad value, no ``--config``), which
    argparse then reads and explains. A test holds both to the same result."""
    values: dict[str, object] = {"data_dir": None, "duration": None, "log_level": "INFO"}
    if len(argv) % 2:
        return None
    for option, text in zip(argv[::2], argv[1::2], strict=True):
        if option not in _PLAIN or text.startswith("-"):
            return None
        name, parse = _PLAIN[option]
        try:
            values[name] = parse(text)
        except Exception:  # argparse says what is wrong with it
            return None
    return SimpleNamespace(command="agent", **values, func=run) if "config" in values else None


MALLOC_ARENAS = "MALLOC_ARENA_MAX"


def one_malloc_arena() -> None:
    """Start this command again with glibc's malloc keeping one arena, unless told
    otherwise (``MALLOC_ARENA_MAX`` already set, to anything).

    glibc gives each thread that allocates an arena of its own (up to eight per core),
    and each keeps hold of what its thread freed: on an agent, whose four threads spend
    most of their time asleep, that is 0.4 MB of its 30 MB for concurrency it never
    uses. The limit is read once, when a process starts, so the command line that
    started this interpreter runs again in its place (``exec``: same process id, so a
    supervisor sees one process). Only from the command line (``headwater agent``),
    never when the agent runs inside another program's process."""
    if sys.platform == "linux" and MALLOC_ARENAS not in os.environ:
        os.environ[MALLOC_ARENAS] = "1"
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def run(args: argparse.Namespace | SimpleNamespace) -> int:
    from dataclasses import replace

    from headwater.agent.config import load_agent_config
    from headwater.agent.runner import Agent

    start_logging(args)
    try:
        config = load_agent_config(args.config)
    except ConfigurationError as exc:
        print_problems(args.config, exc)
        return 1
    if args.data_dir is not None:
        config = replace(config, data_dir=args.data_dir)
    agent = Agent(config)
    try:
        agent.start()
    except ConfigurationError as exc:
        agent.close()
        print_problems(config.flow_path, exc)
        return 1
    except HeadwaterError as exc:
        agent.close()
        print(f"headwater agent: cannot start: {exc}", file=sys.stderr)
        return 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: agent.stop())
    controller = agent.flow.controller
    assert controller is not None
    print(
        f"headwater agent {config.agent_id!r}: flow {controller.flow.name!r} from"
        f" {agent.flow_source}"
        f" (version {agent.flow.version[:12]}); data in {config.data_dir.resolve()}",
        flush=True,
    )
    hubs = ", ".join(config.c2.urls) or "none (C2 off)"
    print(
        f"headwater agent: C2 heartbeats every {config.c2.heartbeat_period:g} s to {hubs}",
        flush=True,
    )
    agent.run(args.duration)
    final = agent.flow.controller
    fault = final.scheduler.fault if final is not None else None
    if fault is not None:
        print(f"headwater agent: stopped by an engine fault: {fault}", file=sys.stderr)
        return 3
    queued = final.queued() if final is not None else 0
    print(f"headwater agent: stopped cleanly; {queued} FlowFiles queued", flush=True)
    return 0
