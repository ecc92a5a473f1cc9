"""A validated flow as plain data: what the loader produces and the engine runs.

Kept close to NiFi's flow definition (processors, controller services, connections
with back pressure and prioritizers) so that importing a NiFi or MiNiFi flow stays a
mapping, not a rewrite. Property values here are final: parameters are substituted
and keys are canonical property names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum

from headwater.processor import ControllerService, Processor
from headwater.repository.provenance_rows import INDEXED_FIELDS
from headwater.repository.sqlite import PAGE_SIZE


class SchedulingStrategy(StrEnum):
    TIMER_DRIVEN = "TIMER_DRIVEN"
    CRON_DRIVEN = "CRON_DRIVEN"


@dataclass(frozen=True)
class Schedule:
    """When and how often a processor runs (NiFi's scheduling tab)."""

    strategy: SchedulingStrategy = SchedulingStrategy.TIMER_DRIVEN
    period: float = 0.0  # seconds between runs (timer-driven)
    cron: str | None = None  # Quartz cron expression (cron-driven)
    concurrent_tasks: int = 1
    penalty: float = 30.0  # seconds a penalized FlowFile waits
    yield_duration: float = 1.0  # seconds a yielded processor waits
    batch_size: int = 1000  # upper bound a session's get_batch honours by default


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    type: type[ControllerService]
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessorDefinition:
    id: str
    type: type[Processor]
    properties: dict[str, str] = field(default_factory=dict)
    schedule: Schedule = Schedule()
    auto_terminate: frozenset[str] = frozenset()
    name: str | None = None
    enabled: bool = True


DEFAULT_BACK_PRESSURE_OBJECTS = 10_000
DEFAULT_BACK_PRESSURE_BYTES = 1024**3
DEFAULT_SWAP_THRESHOLD = 20_000


class OverflowStrategy(StrEnum):
    DROP_OLDEST = "drop-oldest"


@dataclass(frozen=True)
class Overflow:
    """A connection's store-and-forward cap: past ``max_bytes`` of queued content (or
    ``max_objects`` FlowFiles), the oldest queued FlowFiles are dropped (DROP events),
    so a queue waiting for an absent hub never fills the disk. 0: no such limit."""

    max_bytes: int = 0
    max_objects: int = 0
    strategy: OverflowStrategy = OverflowStrategy.DROP_OLDEST

    def describe(self) -> str:
        """The cap in words, for DROP events' details and messages."""
        parts = []
        if self.max_bytes:
            parts.append(format_size(self.max_bytes))
        if self.max_objects:
            parts.append(f"{self.max_objects} FlowFiles")
        return " / ".join(parts) or "none"


def format_size(size: int) -> str:
    """``104857600`` → ``100 MB``: the largest binary unit that divides it, else bytes."""
    for unit, factor in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


@dataclass(frozen=True)
class ConnectionDefinition:
    """A queue from one processor's relationships to another processor."""

    id: str
    source: str
    relationships: tuple[str, ...]
    destination: str
    back_pressure_objects: int = DEFAULT_BACK_PRESSURE_OBJECTS  # 0: no limit
    back_pressure_bytes: int = DEFAULT_BACK_PRESSURE_BYTES  # 0: no limit
    expiration: float = 0.0  # seconds; 0: never
    prioritizers: tuple[str, ...] = ()
    swap_threshold: int = DEFAULT_SWAP_THRESHOLD
    name: str | None = None
    overflow: Overflow | None = None  # store-and-forward cap; None: queue without limit


PROVENANCE_FIELDS = tuple(INDEXED_FIELDS)
"""The provenance fields that may be indexed, by NiFi's names
(``nifi.provenance.repository.indexed.fields``): the repository's indexes."""


@dataclass(frozen=True)
class EngineSettings:
    """Engine-wide settings a flow may set under ``settings:``."""

    # Worker threads: one per core by default. Processors are CPU-bound Python under the
    # GIL, and measured on 2 cores 2 threads move ~15% more than 4 (less contention);
    # flows of slow network calls may want more.
    threads: int = field(default_factory=lambda: max(2, os.cpu_count() or 2))
    administrative_yield: float = 30.0  # seconds, after a processor raised unexpectedly
    provenance_max_age: float = 30 * 86400.0
    provenance_max_bytes: int = 10 * 1024**3
    provenance_cache_bytes: int = 64 * 1024**2  # SQLite's page cache for its writer
    flowfile_cache_bytes: int = 2 * 1024**2  # per FlowFile repository connection (SQLite's)
    provenance_indexed_fields: tuple[str, ...] = PROVENANCE_FIELDS  # searched with an index
    content_claim_max_bytes: int = 1024 * 1024
    background_checkpoints: bool = True  # a thread per repository copies its SQLite WAL
    page_size: int = PAGE_SIZE  # SQLite's, for repositories created from now on


@dataclass(frozen=True)
class FlowDefinition:
    name: str
    processors: dict[str, ProcessorDefinition]
    connections: tuple[ConnectionDefinition, ...] = ()
    services: dict[str, ServiceDefinition] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    settings: EngineSettings = EngineSettings()
