"""FlowController: a FlowDefinition brought to life over a data directory.

It opens the repositories, enables the controller services, builds one node per
processor and one queue per connection, restores what the repositories hold (queues
start swapped out and page back in; claim counts are recounted), runs the scheduler
and a maintenance thread (provenance retention, content reclamation), and reports
status. It knows processors only through the ``Processor`` base class.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.context import ProcessContext, ServiceContext
from headwater.engine.node import Connection, ProcessorNode, ScheduledState
from headwater.engine.queue import FlowFileQueue, OverflowHandler
from headwater.engine.repositories import Repositories
from headwater.engine.scheduler import Scheduler
from headwater.engine.state import StateMap
from headwater.errors import ApiError, ConfigurationError
from headwater.flow.model import FlowDefinition
from headwater.flowfile import FlowFile
from headwater.processor import ControllerService

log = logging.getLogger("headwater.controller")


def _dropped_key(connection_id: str) -> str:
    """The component-state key of a capped connection's dropped counts."""
    return f"overflow:{connection_id}"


@dataclass(frozen=True)
class DroppedCounts:
    """What overflow caps dropped: ``count`` FlowFiles of ``bytes`` in total, and
    ``connections``: connection id -> (count, bytes), only those that dropped any."""

    count: int
    bytes: int
    connections: dict[str, tuple[int, int]]


class FlowController:
    """Runs one flow; ``start`` and ``stop`` are safe to call from any thread."""

    def __init__(
        self,
        flow: FlowDefinition,
        data_dir: Path,
        *,
        maintenance_interval: float = 30.0,
    ) -> None:
        self.flow = flow
        self.data_dir = Path(data_dir)
        self.repositories = Repositories.open(self.data_dir, flow.settings)
        self.services: dict[str, ControllerService] = {}
        self.nodes: dict[str, ProcessorNode] = {}
        self.connections: dict[str, Connection] = {}
        self._maintenance_interval = maintenance_interval
        self._stop_maintenance = threading.Event()
        self._maintenance: threading.Thread | None = None
        self.stopped = threading.Event()
        try:
            self._enable_services()
            self._build()
        except BaseException:
            self._disable_services()
            self.repositories.close()
            raise
        self.scheduler = Scheduler(
            list(self.nodes.values()),
            self.repositories,
            threads=flow.settings.threads,
            administrative_yield=flow.settings.administrative_yield,
            on_fault=lambda exc: self.stopped.set(),
        )

    # -- building ----------------------------------------------------------------------

    def _enable_services(self) -> None:
        for service_id, spec in self.flow.services.items():
            service = spec.type()
            context = ServiceContext(service_id, spec.type, spec.properties, self.services)
            service.on_enabled(context)
            self.services[service_id] = service

    def _disable_services(self) -> None:
        for service in reversed(list(self.services.values())):
            try:
                service.on_disabled()
            except Exception:
                log.exception("controller service failed to disable")
        self.services.clear()

    def _build(self) -> None:
        flowfiles = self.repositories.flowfiles
        problems = []
        for node_id, spec in self.flow.processors.items():
            node = ProcessorNode(
                node_id,
                spec.type(),
                spec.schedule,
                auto_terminated=spec.auto_terminate,
                name=spec.name,
            )
            try:
                node.context = ProcessContext(
                    node_id,
                    spec.type,
                    spec.properties,
                    self.services,
                    state=StateMap(node_id, flowfiles),
                    concurrent_tasks=spec.schedule.concurrent_tasks,
                    bulletins=node.bulletin,
                )
            except ConfigurationError as exc:
                problems.extend(exc.at("processors").problems)
            if not spec.enabled:
                node.state = ScheduledState.DISABLED
            self.nodes[node_id] = node
        if problems:
            raise ConfigurationError(problems)
        summaries = flowfiles.queue_summaries()
        for conn in self.flow.connections:
            overflow = conn.overflow
            queue = FlowFileQueue(
                conn.id,
                swap_reader=flowfiles.page,
                prioritizers=conn.prioritizers,
                back_pressure_objects=conn.back_pressure_objects,
                back_pressure_bytes=conn.back_pressure_bytes,
                expiration_ms=int(conn.expiration * 1000),
                swap_threshold=conn.swap_threshold,
                overflow_bytes=overflow.max_bytes if overflow else 0,
                overflow_objects=overflow.max_objects if overflow else 0,
                on_overflow=self._drop_overflow(overflow.describe()) if overflow else None,
            )
            if overflow is not None:  # counts since the flow first ran, not since start
                counted = flowfiles.load_state(_dropped_key(conn.id))
                queue.dropped_count = int(counted.get("count", 0))
                queue.dropped_bytes = int(counted.get("bytes", 0))
            if conn.id in summaries:
                queue.restore(*summaries[conn.id])
                if queue.is_over_cap():  # the cap was lowered since the last run
                    queue.shed()
            connection = Connection(
                conn.id, conn.source, conn.relationships, conn.destination, queue, conn.name
            )
            self.connections[conn.id] = connection
            self.nodes[conn.destination].incoming.append(connection)
            for relationship in conn.relationships:
                self.nodes[conn.source].outgoing.setdefault(relationship, []).append(connection)
        orphans = set(summaries) - set(self.connections)
        for queue_id in sorted(orphans):
            log.warning(
                "the FlowFile repository holds %d FlowFile(s) for connection %r, which this flow"
                " no longer has; they are kept on disk untouched",
                summaries[queue_id][0],
                queue_id,
            )
        self.repositories.restore_claim_counts()

    def _drop_overflow(self, cap: str) -> OverflowHandler:
        repositories = self.repositories

        def drop(queue: FlowFileQueue, flowfiles: list[FlowFile]) -> None:
            details = f"store-and-forward cap of {cap} reached on connection {queue.id}"
            repositories.drop(flowfiles, queue.id, "Connection", details + "; oldest dropped")
            count = queue.dropped_count + len(flowfiles)
            size = queue.dropped_bytes + sum(ff.size for ff in flowfiles)
            counted = {"count": str(count), "bytes": str(size)}
            repositories.flowfiles.save_state(_dropped_key(queue.id), counted)
            log.warning("%s: dropped the %d oldest FlowFile(s)", details, len(flowfiles))

        return drop

    # -- running -----------------------------------------------------------------------

    def start(self) -> None:
        self.scheduler.start()
        if self._maintenance is None:
            self._maintenance = threading.Thread(
                target=self._maintain, name="headwater-maintenance", daemon=True
            )
            self._maintenance.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every processor, let running tasks finish, close the repositories."""
        if self.stopped.is_set() and not self.scheduler.running and self._maintenance is None:
            return
        self.scheduler.stop(timeout)
        self._stop_maintenance.set()
        if self._maintenance is not None:
            self._maintenance.join(timeout)
            self._maintenance = None
        self._disable_services()
        self.repositories.close()
        self.stopped.set()

    def _maintain(self) -> None:
        while not self._stop_maintenance.wait(self._maintenance_interval):
            try:
                events, claims = self.repositories.maintain()
                if events or claims:
                    log.info("retention removed %d events and %d content claims", events, claims)
            except Exception:
                log.exception("repository maintenance failed")

    def node(self, node_id: str) -> ProcessorNode:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise ApiError(
                404, f"no processor {node_id!r}; known: {', '.join(self.nodes)}"
            ) from None

    def start_processor(self, node_id: str) -> None:
        self.scheduler.start_node(self.node(node_id))

    def stop_processor(self, node_id: str) -> None:
        self.scheduler.stop_node(self.node(node_id))

    def queued(self) -> int:
        return sum(c.queue.count for c in self.connections.values())

    def dropped(self) -> DroppedCounts:
        """FlowFiles the connections' overflow caps dropped, in total and per connection
        (for the C2 heartbeat and the status API): durable, counted since each capped
        connection first ran over this data directory, restarts included."""
        per = {
            c.id: (c.queue.dropped_count, c.queue.dropped_bytes)
            for c in self.connections.values()
            if c.queue.dropped_count
        }
        return DroppedCounts(sum(n for n, _ in per.values()), sum(b for _, b in per.values()), per)

    def status(self) -> dict[str, Any]:
        dropped = self.dropped()
        return {
            "droppedCount": dropped.count,
            "droppedBytes": dropped.bytes,
            "flow": self.flow.name,
            "running": self.scheduler.running,
            "fault": str(self.scheduler.fault) if self.scheduler.fault else None,
            "dataDir": str(self.data_dir),
            "processors": [n.status() for n in self.nodes.values()],
            "connections": [c.status() for c in self.connections.values()],
        }
