"""What an agent tells the hub in each C2 heartbeat, in MiNiFi's C2 protocol shape.

A heartbeat (``C2Heartbeat``) carries the agent (``agentInfo``: id, class, uptime and
``resourceConsumption`` — resident memory in bytes and CPU as a percentage of one
core since the last heartbeat), the device (``deviceInfo``: host, address, cores,
memory) and the flow (``flowInfo``: name, version — the SHA-256 of the flow file's
text — its queues with ``size``/``sizeMax``/``dataSize``/``dataSizeMax`` as MiNiFi
reports them, what was dropped, and queues the flow no longer has but which are kept
on disk). Everything here is read from the running controller; nothing is written.
"""

from __future__ import annotations

import os
import platform
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from headwater.engine.controller import FlowController


class ResourceMonitor:
    """RSS and CPU of this process; CPU is the share of one core since the last call."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._started = time.monotonic()
        self._last_wall = self._started
        self._last_cpu = self._cpu_seconds()

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    @property
    def uptime_millis(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def sample(self) -> dict[str, Any]:
        now, cpu = time.monotonic(), self._cpu_seconds()
        elapsed = now - self._last_wall
        share = (cpu - self._last_cpu) / elapsed * 100 if elapsed > 0 else 0.0
        self._last_wall, self._last_cpu = now, cpu
        return {
            "memoryUsage": int(self._process.memory_info().rss),
            "cpuUtilization": round(share, 3),
        }


def dropped_counts(controller: FlowController) -> dict[str, Any]:
    """What the store-and-forward caps (a connection's ``overflow:``) dropped: ``total``,
    ``bytes``, and the count per connection id; durable across agent restarts."""
    counts = controller.dropped()
    return {
        "total": int(counts.count),
        "bytes": int(counts.bytes),
        "connections": {cid: int(n) for cid, (n, _) in counts.connections.items()},
    }


@dataclass(frozen=True)
class AgentIdentity:
    agent_id: str
    agent_class: str


def build_heartbeat(
    identity: AgentIdentity,
    controller: FlowController,
    version: str,
    monitor: ResourceMonitor,
    orphaned: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One C2Heartbeat for the flow ``controller`` runs at ``version``."""
    queues = {}
    for connection_id, connection in controller.connections.items():
        queue = connection.queue
        queues[connection_id] = {
            "size": queue.count,
            "sizeMax": queue.back_pressure_objects,
            "dataSize": queue.bytes,
            "dataSizeMax": queue.back_pressure_bytes,
        }
    dropped = dropped_counts(controller)
    memory = psutil.virtual_memory()
    return {
        "operation": "heartbeat",
        "identifier": str(uuid.uuid4()),
        "created": int(time.time() * 1000),
        "agentInfo": {
            "identifier": identity.agent_id,
            "agentClass": identity.agent_class,
            "status": {
                "uptime": monitor.uptime_millis,
                "resourceConsumption": monitor.sample(),
            },
        },
        "deviceInfo": {
            "identifier": socket.gethostname(),
            "systemInfo": {
                "machineArch": platform.machine(),
                "operatingSystem": platform.system(),
                "vCores": os.cpu_count() or 1,
                "physicalMem": memory.total,
                "memoryUsage": memory.total - memory.available,
            },
            "networkInfo": {"hostname": socket.gethostname()},
        },
        "flowInfo": {
            "flowId": version,
            "flowName": controller.flow.name,
            "running": controller.scheduler.running,
            "queues": queues,
            "queuedCount": sum(q["size"] for q in queues.values()),
            "dropped": dropped,
            "orphanedQueues": dict(orphaned or {}),
            "components": {
                node_id: {"running": str(node.state) == "RUNNING"}
                for node_id, node in controller.nodes.items()
            },
        },
    }
