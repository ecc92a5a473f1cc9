"""The runtime shape of a flow: processor nodes joined by connections.

A ``ProcessorNode`` wraps one processor instance with what the engine tracks about it
(schedule, yield, active tasks, counts, bulletins); a ``Connection`` is a queue
between the relationships of one node and another node.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from headwater.engine.queue import FlowFileQueue
from headwater.flow.model import Schedule

if TYPE_CHECKING:
    from headwater.context import ProcessContext
    from headwater.processor import Processor


@dataclass
class Connection:
    id: str
    source: str
    relationships: tuple[str, ...]
    destination: str
    queue: FlowFileQueue
    name: str | None = None

    def status(self) -> dict[str, Any]:
        queue = self.queue
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "destination": self.destination,
            "relationships": list(self.relationships),
            "queuedCount": queue.count,
            "queuedBytes": queue.bytes,
            "swappedCount": queue.swapped,
            "backPressureObjects": queue.back_pressure_objects,
            "backPressureBytes": queue.back_pressure_bytes,
            "backPressured": queue.is_full(),
            "overflowBytes": queue.overflow_bytes,
            "overflowObjects": queue.overflow_objects,
            "droppedCount": queue.dropped_count,
            "droppedBytes": queue.dropped_bytes,
        }


@dataclass(frozen=True)
class Bulletin:
    """An error or warning shown in the status API (NiFi's bulletins)."""

    time: int  # millis
    component_id: str
    component_type: str
    level: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "componentId": self.component_id,
            "componentType": self.component_type,
            "level": self.level,
            "message": self.message,
        }


@dataclass
class NodeStats:
    """Counts since start; updated under the node's lock at commit."""

    flowfiles_in: int = 0
    bytes_in: int = 0
    flowfiles_out: int = 0
    bytes_out: int = 0
    flowfiles_removed: int = 0
    tasks: int = 0
    task_nanos: int = 0
    errors: int = 0
    counters: dict[str, int] = field(default_factory=dict)


class ScheduledState(StrEnum):
    STOPPED = "STOPPED"
    RUNNING = "RUNNING"
    DISABLED = "DISABLED"


class ProcessorNode:
    """One processor in a running flow."""

    def __init__(
        self,
        node_id: str,
        processor: Processor,
        schedule: Schedule,
        *,
        auto_terminated: frozenset[str] = frozenset(),
        name: str | None = None,
    ) -> None:
        self.id = node_id
        self.name = name or node_id
        self.processor = processor
        self.type_name = type(processor).type_name()
        self.schedule = schedule
        self.auto_terminated = auto_terminated
        self.incoming: list[Connection] = []
        self.outgoing: dict[str, list[Connection]] = {}
        self.context: ProcessContext | None = None
        self.scheduled = False  # on_scheduled has run since the last start
        self.state = ScheduledState.STOPPED
        self.active_tasks = 0
        self.next_run = 0.0  # monotonic time of the next allowed trigger
        self.yield_until = 0.0
        self.stats = NodeStats()
        self.bulletins: deque[Bulletin] = deque(maxlen=20)
        self.lock = threading.Lock()
        self._poll_start = 0

    @property
    def is_source(self) -> bool:
        return not self.incoming

    def incoming_queues(self) -> list[FlowFileQueue]:
        """Incoming queues, rotated each call so no connection starves."""
        queues = [c.queue for c in self.incoming]
        if len(queues) > 1:
            self._poll_start = (self._poll_start + 1) % len(queues)
            queues = queues[self._poll_start :] + queues[: self._poll_start]
        return queues

    def is_back_pressured(self) -> bool:
        return any(c.queue.is_full() for conns in self.outgoing.values() for c in conns)

    def has_work(self, now: float) -> bool:
        return any(c.queue.is_ready(now) for c in self.incoming)

    def bulletin(self, level: str, message: str) -> None:
        self.bulletins.append(
            Bulletin(time.time_ns() // 1_000_000, self.id, self.type_name, level, message)
        )

    def status(self) -> dict[str, Any]:
        stats = self.stats
        last = self.bulletins[-1].to_json() if self.bulletins else None
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type_name,
            "state": str(self.state),
            "activeTasks": self.active_tasks,
            "flowFilesIn": stats.flowfiles_in,
            "bytesIn": stats.bytes_in,
            "flowFilesOut": stats.flowfiles_out,
            "bytesOut": stats.bytes_out,
            "flowFilesRemoved": stats.flowfiles_removed,
            "tasks": stats.tasks,
            "taskMillis": stats.task_nanos // 1_000_000,
            "errors": stats.errors,
            "counters": dict(stats.counters),
            "yielded": self.yield_until > time.monotonic(),
            "lastError": last,
            "bulletins": [b.to_json() for b in self.bulletins],
        }
