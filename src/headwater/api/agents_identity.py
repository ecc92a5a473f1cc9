"""Who an agent is: per-agent tokens and client certificates, checked on C2 and site-to-site.

The hub is told its agents with ``headwater run --agents agents.yaml``::

    agents:
      agent-1: {token: 6f1c...}          # a bearer token of its own
      agent-2: {token-file: agent-2.token}
      agent-3: {}                        # a client certificate only (CN=agent-3)

An agent proves who it is with its token (``Authorization: Bearer``), or with a client
certificate signed by the CA the hub trusts (``--tls-ca``, from ``headwater tls
init``), whose subject CN is its id; with both, they must name the same agent. On C2
the id the agent claims in its messages must be the one it proved. The hub's own API
token (``--token``) stays accepted on site-to-site (for senders that are not agents)
and, on C2, for agents the list names. Anything else is refused — 401 without
credentials or with a wrong token, 403 for an unknown agent or a mismatched claim —
and logged as a warning naming the address and the id claimed.

Without a list, C2 and site-to-site take the hub's API token as every other route
does (or nothing, when the hub runs without one), and a client certificate, when
presented, still fixes the agent's id.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request

from headwater.errors import ConfigurationError
from headwater.flow import schema
from headwater.flow.loader import FlowDefinitionError

log = logging.getLogger("headwater.api.agents")

AGENT_ID_HEADER = "x-headwater-agent-id"
_AGENT_KEYS = ("token", "token-file")


@dataclass(frozen=True)
class KnownAgents:
    """Agent ids and their tokens (None: the agent proves itself by certificate only)."""

    tokens: Mapping[str, str | None]

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self.tokens

    def by_token(self, token: str) -> str | None:
        """The agent whose token this is (every token compared, in constant time)."""
        found = None
        for agent_id, expected in self.tokens.items():
            if expected is not None and hmac.compare_digest(token.encode(), expected.encode()):
                found = agent_id
        return found


def load_known_agents(path: str | os.PathLike[str]) -> KnownAgents:
    """The agents listed in ``path``; raises ``FlowDefinitionError`` with every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the agents file {str(path)!r}: {exc}") from exc
    document = schema.read_yaml(text)
    reader = schema.ValueReader(document.problems, None)
    top = reader.mapping(document.data, "")
    reader.known_keys(top, ("agents",), "", "key")
    agents = reader.mapping(top.get("agents"), "agents")
    if not agents and not reader.problems:
        reader.problem("agents", "lists no agent", "agents: {agent-1: {token: ...}}")
    tokens: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for agent_id, raw in agents.items():
        where = f"agents.{agent_id}"
        entry = reader.mapping(raw, where)
        reader.known_keys(entry, _AGENT_KEYS, where, "agent key")
        token = reader.plain(entry.get("token"), f"{where}.token")
        token_file = reader.plain(entry.get("token-file"), f"{where}.token-file")
        if token is not None and token_file is not None:
            reader.problem(f"{where}.token-file", "give token or token-file, not both")
        elif token_file is not None:
            file = Path(token_file) if Path(token_file).is_absolute() else path.parent / token_file
            try:
                token = file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reader.problem(f"{where}.token-file", f"cannot read {str(file)!r}: {exc}")
        if token is not None and len(token) < 8:
            reader.problem(
                f"{where}.token", "is shorter than 8 characters", "use a long random one"
            )
        elif token is not None and token in seen:
            reader.problem(f"{where}.token", f"is also {seen[token]}'s token", "give each its own")
        if token:
            seen[token] = agent_id
        tokens[agent_id] = token
    if reader.problems:
        raise FlowDefinitionError(reader.problems, document.lines)
    return KnownAgents(tokens)


def certificate_name(request: Request) -> str | None:
    """The CN of the client certificate the TLS layer verified (ASGI's TLS extension)."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    name = tls.get("client_cert_name")
    if not name:
        return None
    for part in str(name).split(","):
        key, _, value = part.strip().partition("=")
        if key.upper() == "CN":
            return value
    return None


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class AgentAuthenticator:
    """Decides who may speak C2 and site-to-site (see module doc)."""

    def __init__(self, known: KnownAgents | None, admin_token: str | None) -> None:
        self.known = known
        self.admin_token = admin_token

    def _admin(self, token: str) -> bool:
        expected = self.admin_token
        return expected is not None and hmac.compare_digest(token.encode(), expected.encode())

    def identify(self, request: Request, claimed: str | None, *, agent_only: bool) -> str | None:
        """The agent id the request proved (None: the hub's token, no agent); raises
        HTTPException 401/403 with the reason otherwise. ``agent_only`` (C2) refuses a
        request that proves no agent when agents are listed."""
        token, cert = _bearer(request), certificate_name(request)
        claim = claimed or request.headers.get(AGENT_ID_HEADER)

        def refuse(status: int, reason: str) -> HTTPException:
            address = request.client.host if request.client else "unknown"
            log.warning(
                "refused %s %s from %s claiming agent %r: %s",
                request.method,
                request.url.path,
                address,
                claim,
                reason,
            )
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return HTTPException(status, reason, headers=headers)

        # Whom the token names: the hub (admin), an agent, or nobody (refused when any
        # token is expected); then the certificate; then the claim must match the proof.
        known = self.known
        admin = token is not None and self._admin(token)
        by_token = known.by_token(token) if known is not None and token and not admin else None
        if (
            token is not None
            and not admin
            and by_token is None
            and (known is not None or self.admin_token is not None)
        ):
            raise refuse(401, "the bearer token is neither an agent's nor the hub's; check it")
        if known is None and self.admin_token is not None and not admin:
            raise refuse(401, "this hub needs a bearer token: send 'Authorization: Bearer <token>'")
        if by_token and cert and by_token != cert:
            raise refuse(
                403, f"the token is agent {by_token!r}'s but the certificate is {cert!r}'s"
            )
        proved = by_token or cert
        if proved is None and known is not None and not admin:
            raise refuse(
                401,
                "unknown agent: send the agent's token ('Authorization: Bearer <token>') or"
                " connect with its client certificate",
            )
        if known is not None and proved is not None and proved not in known:
            raise refuse(403, f"unknown agent {proved!r}: it is not in this hub's agents list")
        if proved is not None and claim and claim != proved:
            raise refuse(403, f"authenticated as agent {proved!r} but claims to be {claim!r}")
        agent = proved or claim
        if admin and known is not None and agent_only and agent not in known:
            raise refuse(403, f"unknown agent {agent!r}: it is not in this hub's agents list")
        return agent
