"""Agent: one flow plus its C2 loop — what ``headwater agent`` runs.

Every heartbeat period the agent sends a heartbeat and carries out the operations the
hub answers with, one at a time, acknowledging each: ``UPDATE configuration`` (args
``flow``: the new flow's YAML text) swaps the flow through ``RunningFlow`` and is
acknowledged FULLY_APPLIED, or NOT_APPLIED with the reason while the old flow keeps
running; any other operation is OPERATION_NOT_UNDERSTOOD. A hub that re-sends an
operation whose acknowledgement was lost gets the same acknowledgement again, without
the operation being carried out twice (the last result is kept in
``<data-dir>/c2/last-operation.json``). When no hub answers, the flow runs on and its
queues hold the data (store-and-forward); the agent logs once that the hubs are away
and once when one answers again.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from headwater.agent.c2_client import (
    FULLY_APPLIED,
    NOT_APPLIED,
    OPERATION_NOT_UNDERSTOOD,
    C2Client,
    C2Error,
    Operation,
)
from headwater.agent.config import AgentConfig
from headwater.agent.heartbeat import AgentIdentity, ResourceMonitor, build_heartbeat
from headwater.agent.running_flow import APPLIED_FLOW, RunningFlow, write_atomically
from headwater.errors import ConfigurationError

log = logging.getLogger("headwater.agent")

LAST_OPERATION = "last-operation.json"


class Agent:
    """Runs ``config``'s flow and talks to its hubs until ``stop``."""

    def __init__(self, config: AgentConfig, *, client: C2Client | None = None) -> None:
        self.config = config
        self.identity = AgentIdentity(config.agent_id, config.agent_class)
        self.flow = RunningFlow(config.data_dir, config.parameters)
        c2 = config.c2
        if client is None and c2.urls:
            client = C2Client(
                c2.urls, timeout=c2.timeout, token=c2.token, ssl_context=c2.ssl_context
            )
        self.client = client
        self.monitor = ResourceMonitor()
        self.stopping = threading.Event()
        self.hub_reachable: bool | None = None
        self.last_result: dict[str, str] = self._read_last_result()
        self.flow_source = str(config.flow_path)
        """Where the running flow came from, for the start-up line."""

    def start(self) -> None:
        """Start the flow: the one C2 applied last here, else the configured file.

        A flow C2 applied that no longer loads (say, after an upgrade removed a type)
        is logged and the configured flow runs instead, so the device keeps working.
        Raises ``ConfigurationError`` when the configured flow is invalid."""
        text = self.flow.applied_text()
        if text is not None:
            try:
                self.flow.start(text)
                self.flow_source = f"{self.flow.c2_dir / APPLIED_FLOW} (applied by C2)"
                return
            except ConfigurationError as exc:
                log.error(
                    "the flow C2 applied last (%s) cannot run now: %s; running %s instead",
                    self.flow.c2_dir / APPLIED_FLOW,
                    "; ".join(str(p) for p in exc.problems),
                    self.config.flow_path,
                )
        path = self.config.flow_path
        self.flow.start(path.read_text(encoding="utf-8"), path)
        self.flow_source = str(path)

    def run(self, duration: float | None = None) -> None:
        """Heartbeat until ``stop`` (or ``duration`` seconds), then stop the flow."""
        period = self.config.c2.heartbeat_period
        deadline = None if duration is None else self.monitor.uptime_millis / 1000 + duration
        try:
            while not self.stopping.is_set():
                controller = self.flow.controller
                if controller is not None and controller.stopped.is_set():
                    return  # an engine fault stopped the flow
                if self.client is not None:
                    self.beat()
                wait = period
                if deadline is not None:
                    wait = min(wait, deadline - self.monitor.uptime_millis / 1000)
                    if wait <= 0:
                        return
                self.stopping.wait(wait)
        finally:
            self.close()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        self.flow.stop()
        if self.client is not None:
            self.client.close()

    def heartbeat(self) -> dict[str, Any]:
        controller = self.flow.controller
        assert controller is not None
        return build_heartbeat(
            self.identity, controller, self.flow.version, self.monitor, self.flow.orphaned
        )

    def beat(self) -> None:
        """One heartbeat, then every operation it brought back (each acknowledged)."""
        assert self.client is not None
        try:
            operations = self.client.heartbeat(self.heartbeat())
        except C2Error as exc:
            self._reachable(False, str(exc))
            return
        self._reachable(True, "")
        for operation in operations:
            state, details = self.perform(operation)
            try:
                self.client.acknowledge(
                    operation.identifier,
                    state,
                    details,
                    self.identity.agent_id,
                    self.heartbeat()["flowInfo"],
                )
            except C2Error as exc:  # the hub sends it again; it is acknowledged again then
                log.warning(
                    "C2: the acknowledgement of %s did not reach a hub: %s",
                    operation.identifier,
                    exc,
                )

    def perform(self, operation: Operation) -> tuple[str, str]:
        """Carry out ``operation`` once; its acknowledgement state and details."""
        if self.last_result.get("operationId") == operation.identifier:
            return self.last_result["state"], self.last_result["details"]
        log.info(
            "C2 operation %s: %s %s", operation.identifier, operation.operation, operation.operand
        )
        if (operation.operation, operation.operand) != ("UPDATE", "configuration"):
            state, details = (
                OPERATION_NOT_UNDERSTOOD,
                f"{operation.operation} {operation.operand} is not an operation this agent"
                " carries out; it understands UPDATE configuration",
            )
        elif not isinstance(operation.args.get("flow"), str):
            state, details = NOT_APPLIED, "UPDATE configuration needs args.flow: the flow's YAML"
        else:
            result = self.flow.replace(operation.args["flow"])
            state = FULLY_APPLIED if result.applied else NOT_APPLIED
            details = result.details
            if not result.applied:
                log.warning("C2 operation %s not applied: %s", operation.identifier, details)
        self.last_result = {"operationId": operation.identifier, "state": state, "details": details}
        write_atomically(self.flow.c2_dir / LAST_OPERATION, json.dumps(self.last_result))
        return state, details

    def _read_last_result(self) -> dict[str, str]:
        path = self.flow.c2_dir / LAST_OPERATION
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _reachable(self, reachable: bool, reason: str) -> None:
        if reachable == self.hub_reachable:
            return
        self.hub_reachable = reachable
        if reachable:
            log.info("C2: a hub answers; heartbeats every %g s", self.config.c2.heartbeat_period)
        else:
            log.warning("C2: %s; the flow runs on and retries every heartbeat", reason)
