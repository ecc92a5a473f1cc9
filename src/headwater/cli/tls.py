"""``headwater tls init``: a CA, a hub certificate and agent certificates, ready for
StandardSSLContextService (see ``headwater.security.certificates``).

    headwater tls init --dir tls --hub-host hub.example.org --agents 3
    headwater tls init --agents pi-kitchen,pi-garden

Prints each file it wrote and the service properties for the hub and for an agent.
Refuses to replace an existing CA unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from headwater.security.certificates import Identity, TlsInitError, agent_names, init_tls


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "tls", help="certificates for the hub and its agents", description=__doc__
    )
    actions = parser.add_subparsers(dest="tls_command", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="create a CA, a hub certificate and agent certificates",
        description="Create a CA, a hub certificate (for 127.0.0.1, localhost, this host and"
        " each --hub-host) and agent client certificates, as PEM and PKCS12 files that"
        " StandardSSLContextService reads. Keys are written with mode 0600.",
    )
    init.add_argument(
        "--dir",
        type=Path,
        default=Path("headwater-tls"),
        help="where to write the files (default ./headwater-tls)",
    )
    init.add_argument(
        "--hub-host",
        action="append",
        default=[],
        metavar="HOST",
        help="another name or address agents reach the hub by (repeatable)",
    )
    init.add_argument(
        "--agents",
        action="append",
        default=[],
        metavar="N|NAMES",
        help="how many agents (agent-1..agent-N) or their names, comma-separated (default 1)",
    )
    init.add_argument(
        "--days", type=int, default=825, help="validity of the hub and agent certificates"
    )
    init.add_argument(
        "--force", action="store_true", help="replace an existing CA and all its certificates"
    )
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    agents = agent_names(args.agents or ["1"])
    try:
        made = init_tls(
            args.dir, hub_hosts=args.hub_host, agents=agents, force=args.force, days=args.days
        )
    except TlsInitError as exc:
        print(f"headwater tls: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"headwater tls: cannot write to {args.dir}: {exc}", file=sys.stderr)
        return 1
    print(f"headwater tls: wrote to {made.directory}")
    rows = [
        (made.ca_certificate, "CA certificate: the truststore of the hub and every agent"),
        (made.ca_key, "CA private key (0600): signs certificates; keep it off the devices"),
    ]
    for who in (made.hub, *made.agents):
        rows += [
            (
                who.keystore_pem,
                f"{who.subject}: certificate chain and key (0600), Keystore Type PEM",
            ),
            (who.keystore_p12, "the same as PKCS12 (0600), Keystore Type PKCS12"),
            (who.password_file, "the PKCS12 password (0600)"),
            (who.certificate, "certificate chain alone"),
            (who.key, "private key alone (0600)"),
        ]
    width = max(len(path.name) for path, _ in rows)
    for path, what in rows:
        print(f"  {path.name:<{width}}  {what}")
    print()
    _print_service(
        "the hub (ListenHTTP, site-to-site input ports)", "hub-ssl", made.hub, made.ca_certificate
    )
    if made.agents:
        first = made.agents[0]
        _print_service(
            f"agent {first.name} (each agent its own NAME.pem)",
            "agent-ssl",
            first,
            made.ca_certificate,
        )
    print(
        "For PKCS12 instead: Keystore Filename NAME.p12, Keystore Type PKCS12, and Keystore"
        " Password from NAME.p12.password."
    )
    return 0


def _print_service(title: str, service_id: str, who: Identity, truststore: Path) -> None:
    print(f"StandardSSLContextService for {title}:")
    print("services:")
    print(f"  {service_id}:")
    print("    type: StandardSSLContextService")
    print("    properties:")
    for name, value in who.ssl_properties(truststore).items():
        print(f"      {name}: {value}")
    print()
