"""The agent's own configuration file (``headwater agent --config agent-config.yaml``).

It says who the agent is, which flow it runs, where its data lives and how it reaches
the hubs' C2 endpoints; the flow itself stays an ordinary flow file::

    agent: {id: pi-kitchen, class: edge-device}
    flow: agent.yaml                   # relative to this file
    data-dir: ./headwater-data/agent   # relative to where the agent starts, as --data-dir
    parameters: {out_dir: ./out}       # override the flow's own parameters
    c2:
      urls: [https://hub-a:8443, https://hub-b:8443]   # tried in turn
      heartbeat-period: 5 sec
      token-file: agent.token          # or token: ...
      ssl: {Keystore Filename: pi-kitchen.pem, Keystore Type: PEM,
            Truststore Filename: ca.crt, Truststore Type: PEM}

The flow receives ``agent_id``, ``hub_url`` (the C2 URLs, comma-separated) and
``agent_token`` as parameters unless ``parameters:`` sets them, so one file configures
both C2 and the flow's site-to-site (``flows/agent.yaml`` uses those names).

Like a flow file, it is read whole and every problem is reported at once, each with
its path (and line), in a ``FlowDefinitionError``. The ``ssl`` section takes
StandardSSLContextService's properties and is enabled here, so a missing keystore or
a wrong password fails at load, not at the first heartbeat.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.errors import ConfigurationError, Problem
from headwater.flow import schema
from headwater.flow.loader import FlowDefinitionError
from headwater.units import parse_duration, parse_http_url

if TYPE_CHECKING:
    import ssl

_TOP_KEYS = ("agent", "flow", "data-dir", "parameters", "c2")
_AGENT_KEYS = ("id", "class")
_C2_KEYS = ("urls", "heartbeat-period", "timeout", "token", "token-file", "ssl")
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
DEFAULT_HEARTBEAT_PERIOD = 5.0
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class C2Settings:
    """How the agent reaches the hubs' C2 endpoints; no ``urls`` means C2 is off."""

    urls: tuple[str, ...] = ()
    heartbeat_period: float = DEFAULT_HEARTBEAT_PERIOD
    timeout: float = DEFAULT_TIMEOUT
    token: str | None = None
    ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True)
class AgentConfig:
    agent_id: str
    agent_class: str
    flow_path: Path
    data_dir: Path
    parameters: dict[str, str] = field(default_factory=dict)
    c2: C2Settings = C2Settings()
    source: str = "<agent config>"


def load_agent_config(path: str | os.PathLike[str]) -> AgentConfig:
    """The agent configuration in ``path``; raises ``FlowDefinitionError`` listing
    every problem (paths relative to the file are resolved against its folder)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigurationError(
            [Problem("", f"cannot read the agent configuration {str(path)!r}: {reason}")]
        ) from exc
    document = schema.read_yaml(text)
    reader = _ConfigReader(path.parent, document.problems)
    config = reader.read(document.data, str(path)) if document.data is not None else None
    if reader.problems or config is None:
        if not reader.problems:
            reader.problem("", "the file is empty", "see flows/agent-config.yaml")
        raise FlowDefinitionError(reader.problems, document.lines)
    return config


class _ConfigReader(schema.ValueReader):
    def __init__(self, base: Path, problems: list[Problem]) -> None:
        super().__init__(problems, None)
        self.base = base

    def read(self, data: object, source: str) -> AgentConfig | None:
        top = self.mapping(data, "")
        if not top:
            return None
        self.known_keys(top, _TOP_KEYS, "", "key")
        agent = self.mapping(top.get("agent"), "agent")
        self.known_keys(agent, _AGENT_KEYS, "agent", "agent key")
        agent_id = self.plain(agent.get("id"), "agent.id")
        if not agent_id:
            self.problem("agent.id", "is required", "the name the hub knows this agent by")
        elif not _AGENT_ID.match(agent_id):
            self.problem(
                "agent.id",
                f"expected letters, digits, '.', '_' or '-' (at most 63), got {agent_id!r}",
                "the same name as its certificate (headwater tls init --agents NAME)",
            )
        agent_class = self.plain(agent.get("class"), "agent.class") or "default"
        flow_path = self.file(top.get("flow"), "flow", required=True)
        data_dir = Path(self.plain(top.get("data-dir"), "data-dir") or "headwater-data")
        parameters = {
            key: text
            for key, value in self.mapping(top.get("parameters"), "parameters").items()
            if (text := self.plain(value, f"parameters.{key}")) is not None
        }
        c2 = self.read_c2(self.mapping(top.get("c2"), "c2"))
        if self.problems or agent_id is None or flow_path is None:
            return None
        given = {"agent_id": agent_id, "hub_url": ",".join(c2.urls), "agent_token": c2.token}
        for name, value in given.items():
            if value:
                parameters.setdefault(name, value)
        return AgentConfig(
            agent_id, agent_class, flow_path, data_dir, parameters, c2, source=source
        )

    def read_c2(self, data: Mapping[str, Any]) -> C2Settings:
        self.known_keys(data, _C2_KEYS, "c2", "c2 key")
        urls = []
        for index, raw in enumerate(self.names(data.get("urls"), "c2.urls")):
            try:
                urls.append(parse_http_url(raw.rstrip("/")))
            except ValueError as exc:
                self.problem(f"c2.urls[{index}]", str(exc))
        period_text = self.plain(data.get("heartbeat-period"), "c2.heartbeat-period")
        period = self.parse(
            parse_duration, period_text, "c2.heartbeat-period", DEFAULT_HEARTBEAT_PERIOD
        )
        if period <= 0:
            self.problem("c2.heartbeat-period", "must be more than 0 sec", "e.g. 5 sec")
        timeout_text = self.plain(data.get("timeout"), "c2.timeout")
        timeout = self.parse(parse_duration, timeout_text, "c2.timeout", DEFAULT_TIMEOUT)
        token = self.plain(data.get("token"), "c2.token")
        token_file = self.file(data.get("token-file"), "c2.token-file")
        if token is not None and token_file is not None:
            self.problem("c2.token-file", "give token or token-file, not both")
        elif token_file is not None:
            try:
                token = token_file.read_text(encoding="utf-8").strip() or None
            except (OSError, UnicodeDecodeError) as exc:
                self.problem("c2.token-file", f"cannot read {str(token_file)!r}: {exc}")
            else:
                if token is None:
                    self.problem("c2.token-file", f"{token_file} is empty")
        if data and not urls and "urls" not in data:
            self.problem(
                "c2.urls", "is required with c2:", "the hubs' URLs, e.g. [http://hub:8080]"
            )
        return C2Settings(
            tuple(urls), period, timeout, token, self.ssl_context(data.get("ssl"), "c2.ssl")
        )

    def ssl_context(self, value: object, path: str) -> ssl.SSLContext | None:
        properties = self.mapping(value, path)
        if not properties:
            return None
        from headwater.context import ServiceContext
        from headwater.services.ssl import StandardSSLContextService

        values: dict[str, str] = {}
        for key, raw in properties.items():
            text = self.plain(raw, f"{path}.{key}")
            if text is None:
                continue
            if key.endswith("Filename") and text and not Path(text).is_absolute():
                text = str(self.base / text)
            values[key] = text
        service = StandardSSLContextService()
        try:
            service.on_enabled(ServiceContext("ssl", StandardSSLContextService, values))
        except ConfigurationError as exc:
            for problem in exc.problems:
                where = problem.path.removeprefix("ssl").lstrip(".").removeprefix("properties")
                self.problem(path + where, problem.message, problem.hint)
            return None
        return service.create_client_context()

    def path(self, value: object, where: str) -> Path | None:
        text = self.plain(value, where)
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base / path

    def file(self, value: object, where: str, *, required: bool = False) -> Path | None:
        path = self.path(value, where)
        if path is None:
            if required:
                self.problem(where, "is required", "the flow file the agent runs")
            return None
        if not path.is_file():
            self.problem(where, f"no file {str(path)!r}", "check the path (relative to this file)")
            return None
        return path
