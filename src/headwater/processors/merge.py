"""Bin-packing for MergeContent and MergeRecord, and what the two share.

NiFi's merge processors hold bins in memory across sessions. Here a FlowFile taken in
a session must leave it, so each trigger takes up to ``max entries x max bins``
FlowFiles, packs them into bins by correlation key in queue order, merges the bins that
are ready, and transfers the rest back to their queue (``session.transfer(ff)``), which
keeps them durable, in their order among themselves, for the next trigger (FlowFiles
that arrive during the trigger queue ahead of them: bin-packing, as in NiFi, does not
promise an order across FlowFiles). A bin is ready when it reaches the maximum entries
or size, meets both minimums, is older than the max bin age, or is the oldest of more
waiting bins than the maximum number of bins.

Returning a FlowFile resets its ``queued_at``, so the processor remembers when it
first saw each waiting FlowFile (its ``queued_at`` then); a bin's age is that of its
oldest member. After a restart the memory is empty and ages start again from the
queue times, which can only delay a merge, never lose data. Concurrent tasks share the
memory under a lock held only while packing: each reads and writes its own bins at the
same time as the other (pyarrow parses and encodes without the GIL), so a merge that
is behind can take a second task.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile, now_millis
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.units import parse_data_size, parse_duration, parse_int

BIN_PACKING = "Bin-Packing Algorithm"
KEEP_COMMON = "Keep Only Common Attributes"
KEEP_UNIQUE = "Keep All Unique Attributes"

MAX_ENTRIES = "MAX_ENTRIES_THRESHOLD_REACHED"
MAX_BYTES = "MAX_BYTES_THRESHOLD_REACHED"
MIN_THRESHOLDS = "MIN_THRESHOLDS_REACHED"
TIMEOUT = "TIMEOUT"
TAKE_LIMIT = 100_000
"""At most this many FlowFiles are taken in one trigger."""
BINS_FULL = "BIN_MANAGER_FULL"


def positive_int(text: str) -> int:
    value = parse_int(text)
    if value < 1:
        raise ValueError(f"expected a whole number of 1 or more, got {text!r}")
    return value


@dataclass(frozen=True)
class Limits:
    min_entries: int = 1
    max_entries: int = 1000
    min_size: int = 0
    max_size: int | None = None
    max_age_ms: int | None = None
    max_bins: int = 5


@dataclass
class Bin:
    """FlowFiles to merge into one, with why they are merged now."""

    key: str
    flowfiles: list[FlowFile] = field(default_factory=list)
    entries: int = 0
    size: int = 0
    started: int = 0
    reason: str = ""


def pack(
    flowfiles: Sequence[FlowFile],
    key_of: Callable[[FlowFile], str],
    entries_of: Callable[[FlowFile], int],
    limits: Limits,
    first_seen: dict[str, int],
    now_ms: int,
) -> tuple[list[Bin], list[FlowFile]]:
    """The bins ready to merge, and the FlowFiles that wait (in their queue order).

    ``first_seen`` maps a uuid to when a FlowFile was first taken; it is updated so
    that it holds exactly the waiting FlowFiles.
    """
    ready: list[Bin] = []
    open_bins: dict[str, Bin] = {}
    for ff in flowfiles:
        key, entries = key_of(ff), entries_of(ff)
        seen = first_seen.setdefault(ff.uuid, ff.queued_at or now_ms)
        current = open_bins.get(key)
        if (
            current is not None
            and limits.max_size is not None
            and current.size + ff.size > limits.max_size
        ):
            current.reason = MAX_BYTES
            ready.append(open_bins.pop(key))
            current = None
        if current is None:
            current = open_bins[key] = Bin(key, started=seen)
        current.flowfiles.append(ff)
        current.entries += entries
        current.size += ff.size
        current.started = min(current.started, seen)
        if current.entries >= limits.max_entries:
            current.reason = MAX_ENTRIES
        elif limits.max_size is not None and current.size >= limits.max_size:
            current.reason = MAX_BYTES
        if current.reason:
            ready.append(open_bins.pop(key))
    waiting: list[Bin] = []
    for pending in open_bins.values():
        if pending.entries >= limits.min_entries and pending.size >= limits.min_size:
            pending.reason = MIN_THRESHOLDS
        elif limits.max_age_ms is not None and now_ms - pending.started >= limits.max_age_ms:
            pending.reason = TIMEOUT
        if pending.reason:
            ready.append(pending)
        else:
            waiting.append(pending)
    waiting.sort(key=lambda b: b.started)
    while len(waiting) > limits.max_bins:
        oldest = waiting.pop(0)
        oldest.reason = BINS_FULL
        ready.append(oldest)
    kept = {ff.uuid for b in waiting for ff in b.flowfiles}
    for uuid in [u for u in first_seen if u not in kept]:
        del first_seen[uuid]
    return ready, [ff for ff in flowfiles if ff.uuid in kept]


def merged_attributes(parents: Sequence[FlowFile], strategy: str) -> dict[str, str]:
    """With Keep All Unique Attributes, every attribute whose value no two parents
    disagree on (the session's JOIN already keeps those all parents share)."""
    if strategy != KEEP_UNIQUE:
        return {}
    values: dict[str, str | None] = {}
    for parent in parents:
        for key, value in parent.attributes.items():
            if values.setdefault(key, value) != value:
                values[key] = None
    values.pop("uuid", None)
    return {k: v for k, v in values.items() if v is not None}


class AbstractMerge(Processor):
    """What both merge processors share: binning, the originals, the merge attributes."""

    input_requirement = InputRequirement.REQUIRED

    MERGED = Relationship("merged", "The FlowFile holding the merged bin.")
    ORIGINAL = Relationship("original", "The FlowFiles that went into a merge.")
    FAILURE = Relationship("failure", "FlowFiles that could not be merged.")

    attribute_strategy = Property(
        "Attribute Strategy",
        "Which attributes the merged FlowFile keeps: those every input shares, or also"
        " those only some inputs have (when no two inputs disagree)",
        default=KEEP_COMMON,
        required=True,
        allowed=(KEEP_COMMON, KEEP_UNIQUE),
    )

    def __init__(self) -> None:
        self._first_seen: dict[str, int] = {}
        self.packing = threading.Lock()  # guards _first_seen across concurrent tasks

    min_entries: ClassVar[Property[int]]
    max_entries: ClassVar[Property[int]]
    min_size: ClassVar[Property[int]]
    max_size: ClassVar[Property[int]]
    max_age: ClassVar[Property[float]]
    max_bins: ClassVar[Property[int]]
    correlation: ClassVar[Property[str]]

    def limits(self, context: ProcessContext) -> Limits:
        age = context.get(self.max_age)
        return Limits(
            context[self.min_entries],
            context[self.max_entries],
            context[self.min_size],
            context.get(self.max_size),
            None if age is None else int(age * 1000),
            context[self.max_bins],
        )

    def merge_bins(
        self,
        context: ProcessContext,
        session: ProcessSession,
        flowfiles: list[FlowFile],
        entries_of: Callable[[FlowFile], int],
    ) -> list[Bin]:
        """Pack, send the waiting FlowFiles back to their queue, return the ready bins."""
        limits = self.limits(context)
        name = context.get(self.correlation)

        def key_of(ff: FlowFile) -> str:
            return ff.attributes.get(name, "") if name else ""

        now = now_millis()
        with self.packing:
            ready, waiting = pack(flowfiles, key_of, entries_of, limits, self._first_seen, now)
        session.transfer_all(waiting)
        if not ready:
            context.yield_()  # nothing to merge until more arrive or a bin ages
        return ready

    def finish(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ready: Bin,
        write: Callable[[BinaryIO], object] | bytes,
        extra: dict[str, str],
    ) -> None:
        """Create the merged child (a JOIN of the bin), fill it, route everything."""
        parents = ready.flowfiles
        merged = session.create(parents)
        attributes = merged_attributes(parents, context[self.attribute_strategy])
        attributes.update(extra)
        attributes["merge.count"] = str(len(parents))
        attributes["merge.bin.age"] = str(max(0, now_millis() - ready.started))
        attributes["merge.reason"] = ready.reason
        merged = session.put_all_attributes(session.write(merged, write), attributes)
        session.transfer(merged, self.MERGED)
        session.transfer_all(parents, self.ORIGINAL)


def bin_limits(
    names: tuple[str, str, str, str, str, str], bins_default: str
) -> tuple[
    Property[int], Property[int], Property[int], Property[int], Property[float], Property[int]
]:
    """The six bin properties (min/max entries, min/max size, max age, max bins) under
    each processor's own NiFi names."""
    min_entries, max_entries, min_size, max_size, max_age, bins = names
    return (
        Property(
            min_entries,
            "Entries a bin needs before it is merged",
            default="1",
            required=True,
            parse=positive_int,
        ),
        Property(
            max_entries,
            "Entries at which a bin is merged",
            default="1000",
            required=True,
            parse=positive_int,
        ),
        Property(
            min_size,
            "Bytes a bin needs before it is merged",
            default="0 B",
            required=True,
            parse=parse_data_size,
        ),
        Property(
            max_size,
            "Bytes at which a bin is merged; unset means no limit",
            parse=parse_data_size,
        ),
        Property(
            max_age,
            "A bin this old is merged even below the minimums, e.g. '5 mins'",
            parse=parse_duration,
        ),
        Property(
            bins,
            "Bins that may wait at once; the oldest is merged to make room",
            default=bins_default,
            required=True,
            parse=positive_int,
        ),
    )
