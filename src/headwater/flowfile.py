"""FlowFile: attributes plus a pointer into the content repository.

A FlowFile is immutable by convention: a session hands out a new version for every
change (``evolve``), so the version a processor holds never changes under it and a
rollback only has to forget versions. Identity is the ``uuid`` attribute, a
time-ordered UUIDv7, which keeps repository indexes append-mostly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from headwater.uuids import uuid7

CORE_ATTRIBUTES = ("uuid", "filename", "path")
"""Attributes every FlowFile carries in its attribute map."""

DERIVED_ATTRIBUTES = ("entryDate", "lineageStartDate", "fileSize")
"""Read-only values the Expression Language sees as attributes, kept as fields."""


new_uuid = uuid7
"""A time-ordered (v7) uuid as text: sortable by creation time."""


def now_millis() -> int:
    return time.time_ns() // 1_000_000


class FlowFile:
    """One unit of data moving through a flow.

    ``claim`` is the id of the resource claim (a file in the content repository)
    holding the content at ``offset`` for ``size`` bytes; ``claim`` is 0 when the
    FlowFile has no content. ``penalized_until`` is a ``time.monotonic()`` deadline;
    ``queued_at`` is the wall-clock millis it entered its current queue; ``seq`` orders
    FlowFiles within a queue (first-in first-out).
    """

    __slots__ = (
        "attributes",
        "claim",
        "entry_date",
        "lineage_start",
        "offset",
        "penalized_until",
        "queued_at",
        "seq",
        "size",
        "uuid",
    )

    def __init__(
        self,
        uuid: str,
        attributes: dict[str, str],
        claim: int = 0,
        offset: int = 0,
        size: int = 0,
        entry_date: int = 0,
        lineage_start: int = 0,
        penalized_until: float = 0.0,
        queued_at: int = 0,
        seq: int = 0,
    ) -> None:
        self.uuid = uuid
        self.attributes = attributes
        self.claim = claim
        self.offset = offset
        self.size = size
        self.entry_date = entry_date
        self.lineage_start = lineage_start
        self.penalized_until = penalized_until
        self.queued_at = queued_at
        self.seq = seq

    @classmethod
    def create(
        cls, attributes: Mapping[str, str] | None = None, *, lineage_start: int | None = None
    ) -> FlowFile:
        """A new FlowFile with fresh core attributes (``filename`` defaults to the uuid)."""
        uuid = new_uuid()
        now = now_millis()
        attrs = {"uuid": uuid, "filename": uuid, "path": "./"}
        if attributes:
            attrs.update(attributes)
            attrs["uuid"] = uuid
        return cls(uuid, attrs, entry_date=now, lineage_start=lineage_start or now)

    def evolve(self, **changes: Any) -> FlowFile:
        """A copy with some fields replaced; ``attributes`` is shared unless replaced."""
        ff = self._copy(self.attributes, self.claim, self.offset, self.size)
        for name, value in changes.items():
            setattr(ff, name, value)
        return ff

    def with_attributes(self, attributes: dict[str, str]) -> FlowFile:
        """A copy with these attributes (the session's hot path, without keywords)."""
        return self._copy(attributes, self.claim, self.offset, self.size)

    def with_content(self, claim: int, offset: int, size: int) -> FlowFile:
        """A copy pointing at other content."""
        return self._copy(self.attributes, claim, offset, size)

    def _copy(self, attributes: dict[str, str], claim: int, offset: int, size: int) -> FlowFile:
        return FlowFile(
            self.uuid,
            attributes,
            claim,
            offset,
            size,
            self.entry_date,
            self.lineage_start,
            self.penalized_until,
            self.queued_at,
            self.seq,
        )

    @property
    def filename(self) -> str:
        return self.attributes.get("filename", self.uuid)

    def is_penalized(self, now: float) -> bool:
        return self.penalized_until > now

    def lookup(self, fallback: Mapping[str, str] | None = None) -> Mapping[str, str]:
        """Attributes plus the derived core values, as the Expression Language sees them;
        names not found fall back to ``fallback`` (variables, the environment)."""
        return AttributeView(self, fallback)

    def __repr__(self) -> str:
        return f"FlowFile(uuid={self.uuid!r}, size={self.size}, attributes={self.attributes!r})"


def shared_attributes(flowfiles: Sequence[FlowFile]) -> dict[str, str]:
    """The attributes every one of ``flowfiles`` has with the same value, but ``uuid``:
    what a JOIN's child keeps (NiFi's default attribute strategy for merges)."""
    shared = dict(flowfiles[0].attributes) if flowfiles else {}
    shared.pop("uuid", None)
    for other in flowfiles[1:]:
        if not shared:
            break
        attributes = other.attributes
        if attributes is not flowfiles[0].attributes:
            shared = {k: v for k, v in shared.items() if attributes.get(k) == v}
    return shared


class AttributeView(Mapping[str, str]):
    """A FlowFile's attributes with ``fileSize``, ``entryDate``, ``lineageStartDate`` added."""

    __slots__ = ("_fallback", "_ff")

    def __init__(self, flowfile: FlowFile, fallback: Mapping[str, str] | None = None) -> None:
        self._ff = flowfile
        self._fallback = fallback

    def __getitem__(self, key: str) -> str:
        value = self._ff.attributes.get(key)
        if value is not None:
            return value
        if key == "fileSize":
            return str(self._ff.size)
        if key == "entryDate":
            return str(self._ff.entry_date)
        if key == "lineageStartDate":
            return str(self._ff.lineage_start)
        if self._fallback is not None:
            return self._fallback[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._ff.attributes or key in DERIVED_ATTRIBUTES

    def __iter__(self) -> Iterator[str]:
        yield from self._ff.attributes
        for key in DERIVED_ATTRIBUTES:
            if key not in self._ff.attributes:
                yield key

    def __len__(self) -> int:
        return len(self._ff.attributes) + sum(
            1 for k in DERIVED_ATTRIBUTES if k not in self._ff.attributes
        )
