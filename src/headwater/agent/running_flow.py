"""RunningFlow: the agent's one flow, and swapping it for a new one without losing data.

A new flow (from C2) is first loaded and validated with the agent's parameters; if it
has any problem, nothing stops and the reasons go back to the hub. Otherwise the old
controller stops cleanly — running tasks finish or roll back, and every queued
FlowFile stays in the FlowFile repository — and a new controller opens the same data
directory. Connections are matched by id (``source/relationship/destination`` unless
the flow names them), so a connection both flows have keeps its queue. A queue whose
connection the new flow no longer has is never dropped: its FlowFiles stay on disk,
untouched, are reported (in the acknowledgement and every heartbeat as
``orphanedQueues``), and come back as soon as a flow with that connection runs. If
the new controller cannot start (a service that fails to enable), the old flow is
started again and the update is reported as not applied.

The flow that runs is also written to ``<data-dir>/c2/flow.yaml``, so a restarted
agent runs what C2 applied last rather than the flow file it was first given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from headwater.digests import flow_version
from headwater.engine.controller import FlowController
from headwater.errors import ConfigurationError, HeadwaterError
from headwater.flow.loader import load_flow
from headwater.flow.model import FlowDefinition

log = logging.getLogger("headwater.agent")

C2_DIR = "c2"
APPLIED_FLOW = "flow.yaml"


@dataclass(frozen=True)
class SwapResult:
    applied: bool
    details: str


class RunningFlow:
    """The controller the agent runs now, its flow text and version."""

    def __init__(
        self,
        data_dir: Path,
        parameters: Mapping[str, str] | None = None,
        *,
        stop_timeout: float = 30.0,
        maintenance_interval: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.parameters = dict(parameters or {})
        self.stop_timeout = stop_timeout
        self.maintenance_interval = maintenance_interval
        self.controller: FlowController | None = None
        self.text = ""
        self.version = ""
        self.orphaned: dict[str, int] = {}

    @property
    def c2_dir(self) -> Path:
        return self.data_dir / C2_DIR

    def applied_text(self) -> str | None:
        """The flow C2 applied last in this data directory, if any."""
        path = self.c2_dir / APPLIED_FLOW
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def load(self, text: str, path: Path | None = None) -> FlowDefinition:
        """Validate ``text`` with the agent's parameters (``ConfigurationError`` if bad).

        Given the ``path`` it was read from, the flow is loaded from there, so relative
        ``{file: ...}`` parameters resolve against its folder; a flow sent by C2 has no
        path, and they resolve against the agent's working directory."""
        if path is not None:
            return load_flow(path, parameters=self.parameters)
        return load_flow(text if "\n" in text else text + "\n", parameters=self.parameters)

    def start(self, text: str, path: Path | None = None) -> FlowController:
        """Load and start the first flow (``text``, read from ``path`` if given); raises
        ``ConfigurationError`` if it is bad."""
        flow = self.load(text, path)
        controller = self._open(flow)
        controller.start()
        self.controller, self.text, self.version = controller, text, flow_version(text)
        self.orphaned = self._orphans(controller)
        return controller

    def replace(self, text: str) -> SwapResult:
        """Swap in the flow in ``text``, keeping every queued FlowFile (see module doc)."""
        old = self.controller
        if old is None:
            raise RuntimeError("RunningFlow.replace before start")
        version = flow_version(text)
        if version == self.version:
            return SwapResult(True, f"flow version {version[:12]} already runs")
        try:
            flow = self.load(text)
        except ConfigurationError as exc:
            problems = "; ".join(str(p) for p in exc.problems)
            return SwapResult(
                False, f"the new flow is invalid, the old one keeps running: {problems}"
            )
        old_flow = old.flow
        old.stop(self.stop_timeout)
        try:
            new = self._open(flow)
            new.start()
        except (HeadwaterError, OSError) as exc:
            log.error("the new flow did not start (%s); starting the previous one again", exc)
            restarted = self._open(old_flow)
            restarted.start()
            self.controller = restarted
            return SwapResult(
                False, f"the new flow did not start: {exc}; the previous flow runs again"
            )
        self.controller, self.text, self.version = new, text, version
        self.orphaned = self._orphans(new)
        self._persist()
        details = (
            f"flow {flow.name!r} version {version[:12]} runs"
            f" ({len(flow.processors)} processors, {new.queued()} FlowFiles queued)"
        )
        if self.orphaned:
            kept = ", ".join(f"{cid!r} ({n})" for cid, n in sorted(self.orphaned.items()))
            details += (
                f"; FlowFiles queued on connections this flow no longer has are kept on disk,"
                f" untouched, and return with a flow that has them: {kept}"
            )
        log.info("C2 update applied: %s", details)
        return SwapResult(True, details)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop(self.stop_timeout)

    def _open(self, flow: FlowDefinition) -> FlowController:
        return FlowController(flow, self.data_dir, maintenance_interval=self.maintenance_interval)

    @staticmethod
    def _orphans(controller: FlowController) -> dict[str, int]:
        summaries = controller.repositories.flowfiles.queue_summaries()
        return {
            queue_id: int(summary[0])
            for queue_id, summary in summaries.items()
            if queue_id not in controller.connections and summary[0]
        }

    def _persist(self) -> None:
        """Write the running flow where a restart finds it."""
        write_atomically(self.c2_dir / APPLIED_FLOW, self.text)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file and rename it over ``path``: a crash leaves
    the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
