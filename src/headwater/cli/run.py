"""``headwater run FLOW.yaml``: the hub — run a flow and serve its API until stopped.

The API serves HTTPS with ``--tls-cert`` (the hub's certificate from ``headwater tls
init``, e.g. headwater-tls/hub.pem) and accepts client certificates signed by
``--tls-ca`` (ca.crt); ``--agents agents.yaml`` lists the agents allowed on C2 and
site-to-site, each with its token or certificate (docs/agent.md); SIGHUP rereads it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.cli.common import (
    add_parameter_option,
    add_running_options,
    parse_bind,
    print_problems,
    start_logging,
)
from headwater.engine.controller import FlowController
from headwater.engine.runtime import tune_for_throughput
from headwater.errors import ConfigurationError, HeadwaterError
from headwater.flow.loader import load_flow
from headwater.web.options import DEFAULT_PROJECT, JobsLink, WebOptions

if TYPE_CHECKING:
    from headwater.api.agents_identity import AgentAuthenticator
    from headwater.api.agents_registry import AgentRegistry
    from headwater.api.server import ApiServer

DEFAULT_API = "127.0.0.1:8080"
log = logging.getLogger("headwater.run")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run", help="run a flow until SIGTERM or Ctrl-C", description=__doc__
    )
    parser.add_argument("flow", type=Path, help="the flow file (YAML)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("headwater-data"),
        help="where the repositories live (default ./headwater-data)",
    )
    parser.add_argument(
        "--api",
        default=DEFAULT_API,
        metavar="HOST:PORT",
        help=f"serve the REST API here (default {DEFAULT_API}; 'off' to disable)",
    )
    parser.add_argument("--token", help="require this bearer token on the API")
    parser.add_argument(
        "--agents",
        type=Path,
        metavar="AGENTS.yaml",
        help="the agents allowed on C2 and site-to-site, with their tokens (docs/agent.md)",
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve HTTPS with this certificate chain (PEM, with its key unless --tls-key;"
        " or PKCS12 .p12)",
    )
    parser.add_argument("--tls-key", type=Path, metavar="FILE", help="the key of --tls-cert")
    parser.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="accept client certificates signed by this CA (PEM), e.g. headwater-tls/ca.crt",
    )
    parser.add_argument(
        "--tls-client-auth",
        choices=("NONE", "WANT", "REQUIRED"),
        default="WANT",
        help="with --tls-ca: ask for client certificates (WANT, default) or demand them",
    )
    web = parser.add_argument_group("web UI", "what the UI at /ui/ shows beyond the flow")
    web.add_argument(
        "--lake", type=Path, metavar="DIR", help="the Parquet lake the dashboards read"
    )
    web.add_argument(
        "--images", type=Path, metavar="DIR", help="the image store's JPEGs (FTP root/images)"
    )
    web.add_argument("--jobs-url", metavar="URL", help="the jobs service the Jobs page shows")
    web.add_argument("--jobs-key", metavar="KEY", help="its API key (the project owner's)")
    web.add_argument(
        "--jobs-project",
        metavar="OWNER/SLUG",
        default=DEFAULT_PROJECT,
        help=f"the project whose jobs are shown (default {DEFAULT_PROJECT})",
    )
    add_parameter_option(parser)
    add_running_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    start_logging(args)
    try:
        flow = load_flow(args.flow, parameters=dict(args.parameter))
        controller = FlowController(flow, args.data_dir)
    except ConfigurationError as exc:
        print_problems(args.flow, exc)
        return 1
    except HeadwaterError as exc:
        print(f"headwater: cannot start: {exc}", file=sys.stderr)
        return 1

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server: ApiServer | None = None
    registry: AgentRegistry | None = None
    try:
        if args.api != "off":
            made = _api_server(controller, args)
            if made is None:
                return 1
            server, registry = made
            server.start()
            print(f"headwater: API on {server.url}/api/v1/status", flush=True)
            print(f"headwater: web UI on {server.url}/ui/", flush=True)
        tune_for_throughput()
        controller.start()
        print(
            f"headwater: flow {flow.name!r} running ({len(flow.processors)} processors,"
            f" {len(flow.connections)} connections); data in {args.data_dir.resolve()}",
            flush=True,
        )
        _wait(controller, stop, args.duration)
    finally:
        if server is not None:
            server.stop()
        if registry is not None:
            registry.close()
        controller.stop()
    fault = controller.scheduler.fault
    if fault is not None:
        print(f"headwater: stopped by an engine fault: {fault}", file=sys.stderr)
        return 3
    print(f"headwater: stopped cleanly; {controller_summary(controller)}", flush=True)
    return 0


def _api_server(
    controller: FlowController, args: argparse.Namespace
) -> tuple[ApiServer, AgentRegistry] | None:
    """The ApiServer (HTTPS with --tls-cert) and the agent registry it keeps; None, with
    every problem printed, when the agents list or the TLS files cannot be used."""
    from headwater.api.agents_identity import load_known_agents
    from headwater.api.agents_registry import AgentRegistry
    from headwater.api.app import close_app, create_app
    from headwater.api.server import ApiServer, server_ssl_context

    try:
        agents = load_known_agents(args.agents) if args.agents else None
    except ConfigurationError as exc:
        print_problems(args.agents, exc)
        return None
    context = None
    try:
        if args.tls_cert is not None:
            context = server_ssl_context(
                args.tls_cert, args.tls_key, args.tls_ca, args.tls_client_auth
            )
        elif args.tls_key or args.tls_ca:
            raise ConfigurationError(
                "--tls-key and --tls-ca need --tls-cert, the hub's certificate"
            )
    except ConfigurationError as exc:
        print_problems("--tls-cert", exc)
        return None
    try:
        web = _web_options(args)
    except ConfigurationError as exc:
        print_problems("--jobs-url", exc)
        return None
    try:
        registry = AgentRegistry(args.data_dir / "c2" / "agents.db")
    except HeadwaterError as exc:
        print(f"headwater: cannot start: {exc}", file=sys.stderr)
        return None
    app = create_app(controller, token=args.token, agents=agents, registry=registry, web=web)
    host, port = parse_bind(args.api)
    if agents is not None:
        print(f"headwater: {len(agents.tokens)} agents known from {args.agents}", flush=True)
        if hasattr(signal, "SIGHUP"):  # reread the list: add or shut out agents, no restart
            authenticator = app.state.agent_authenticator
            signal.signal(signal.SIGHUP, lambda *_: _reload_agents(authenticator, args.agents))

    async def release() -> None:  # the server runs without lifespan events
        close_app(app)

    return ApiServer(app, host, port, ssl_context=context, on_stop=release), registry


def _web_options(args: argparse.Namespace) -> WebOptions:
    """The UI's lake, images and jobs service from the flags; both --jobs-url and
    --jobs-key, or neither."""
    jobs = None
    if args.jobs_url or args.jobs_key:
        if not (args.jobs_url and args.jobs_key):
            raise ConfigurationError("--jobs-url and --jobs-key go together: give both, or none")
        jobs = JobsLink(args.jobs_url, args.jobs_key, args.jobs_project)
    return WebOptions(lake=args.lake, images=args.images, jobs=jobs)


def _reload_agents(authenticator: AgentAuthenticator, path: Path) -> None:
    """On SIGHUP: the agents list again; a bad file keeps the current one."""
    from headwater.api.agents_identity import load_known_agents

    try:
        authenticator.known = load_known_agents(path)
    except ConfigurationError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        log.error("%s cannot be used, the agents list stays as it was: %s", path, problems)
        return
    log.warning("%s reread: %d agents known", path, len(authenticator.known.tokens))


def _wait(controller: FlowController, stop: threading.Event, duration: float | None) -> None:
    deadline = time.monotonic() + duration if duration else None
    while not stop.is_set() and not controller.stopped.is_set():
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        stop.wait(min(1.0, left) if left is not None else 1.0)


def controller_summary(controller: FlowController) -> str:
    done = sum(n.stats.flowfiles_out for n in controller.nodes.values())
    return f"{done} FlowFiles transferred, {controller.queued()} queued"
