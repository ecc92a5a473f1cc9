"""Committing a session: resolve destinations, owe the right events, persist, queue.

Order: provenance, then the FlowFile repository transaction (which confirms the
session's event ids), then the FlowFiles move to their queues; the source queues learn
last that their FlowFiles are gone for good. Nothing is changed in memory before the
FlowFile repository has committed, so a failure there leaves the session able to roll
back; after it, the repository holds the truth and a failure is an engine fault (the
session is marked durable and a rollback no longer puts its inputs back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from headwater.engine.queue import FlowFileQueue
from headwater.errors import FlowFileHandlingError
from headwater.flowfile import FlowFile, now_millis
from headwater.provenance import EventBatch, ProvenanceEvent, Recorded
from headwater.provenance import ProvenanceEventType as Ev

if TYPE_CHECKING:
    from headwater.engine.node import ProcessorNode
    from headwater.engine.session import ProcessSession

REMOVED = "\0removed"
EXPIRED = "\0expired"

# Which kinds of event a session recorded per FlowFile, as bits: no set per FlowFile.
_BIT = {kind: 1 << index for index, kind in enumerate(Ev)}
_CREATION = _BIT[Ev.CREATE] | _BIT[Ev.RECEIVE] | _BIT[Ev.FETCH] | _BIT[Ev.JOIN]
_DESCRIBES_CONTENT = _CREATION | _BIT[Ev.CONTENT_MODIFIED]


class Record:
    """One FlowFile in a session: its original (None if made here) and current version."""

    __slots__ = ("current", "destination", "original", "source")

    def __init__(
        self, original: FlowFile | None, current: FlowFile, source: FlowFileQueue | None
    ) -> None:
        self.original = original
        self.current = current
        self.source = source
        self.destination: str | None = None  # relationship name; "" = back to source


def commit_session(
    session: ProcessSession,
    records: Iterable[Record],
    forks: Mapping[str, list[str]],
    counters: Mapping[str, int],
    receipts: Sequence[bytes] = (),
) -> None:
    node = session.node
    repos = session.repositories
    now = now_millis()
    component, ctype = node.id, node.type_name
    events = session.provenance.events  # cleared by the session once committed
    described: dict[str, int] = {}
    bits, kinds_of = _BIT, described.get
    for event in events:
        if isinstance(event, EventBatch):
            bit = bits[event.event_type]
            for ff in event.flowfiles:
                described[ff.uuid] = kinds_of(ff.uuid, 0) | bit
        else:
            uuid = event.flowfile_uuid
            described[uuid] = kinds_of(uuid, 0) | bits[event.event_type]
    children = {c for kids in forks.values() for c in kids}
    children.update(
        c
        for e in events
        if e.event_type is Ev.CLONE and isinstance(e, ProvenanceEvent)
        for c in e.child_uuids
    )

    routes: dict[FlowFileQueue, list[FlowFile]] = {}
    resolved: dict[str, list[FlowFileQueue]] = {}  # relationship -> queues ([]: terminated)
    deletes: list[int] = []
    deltas: dict[int, int] = {}
    acks: dict[FlowFileQueue, list[int]] = {}
    final: dict[str, tuple[FlowFile, FlowFile | None]] = {}
    owed: list[Recorded] = []
    drops: dict[str, list[FlowFile]] = {}  # unchanged FlowFiles ending here, by reason
    changed_attributes: dict[str, dict[str, str]] = {}
    removed = out_count = out_bytes = 0

    def owe(kind: Ev, ff: FlowFile, **extra: object) -> ProvenanceEvent:
        """An event the session owes, already describing the committed FlowFile."""
        event = ProvenanceEvent(kind, ff.uuid, component, ctype, now, ff.attributes, **extra)  # type: ignore[arg-type]
        _describe_one(event, ff, final[ff.uuid][1], changed_attributes)
        return event

    for record in records:
        original, ff, dest = record.original, record.current, record.destination
        assert dest is not None
        if original is not None and record.source is not None:
            deletes.append(original.seq)
            if original.claim:
                deltas[original.claim] = deltas.get(original.claim, 0) - 1
            ack = acks.setdefault(record.source, [0, 0])
            ack[0] += 1
            ack[1] += original.size
        final[ff.uuid] = (ff, original)
        kinds = kinds_of(ff.uuid, 0)
        if dest == EXPIRED:
            owed.append(owe(Ev.EXPIRE, ff, details="Expiration Threshold reached"))
            removed += 1
            continue
        drop: str | None = None  # the DROP event's details, when the FlowFile ends here
        if dest == REMOVED:
            drop = ""
        elif dest == "":
            assert record.source is not None
            targets = [record.source]
        else:
            found = resolved.get(dest)
            targets = _resolve(node, dest, resolved) if found is None else found
            if not targets:
                drop = f"Auto-Terminated by {dest} Relationship"
        if original is None:
            if not kinds & _CREATION and ff.uuid not in children:
                owed.append(owe(Ev.CREATE, ff))
        elif drop is None:  # as NiFi, no modification events for a FlowFile that ends
            described_now = bool(kinds)
            content = (ff.claim, ff.offset, ff.size)
            if content != (original.claim, original.offset, original.size):
                if not kinds & _DESCRIBES_CONTENT:
                    owed.append(owe(Ev.CONTENT_MODIFIED, ff))
                described_now = True
            changed = ff.attributes is not original.attributes
            if changed and not described_now and ff.attributes != original.attributes:
                owed.append(owe(Ev.ATTRIBUTES_MODIFIED, ff))
        if drop is not None:
            if ff is original:  # unchanged: one batch of DROPs per reason
                dropped = drops.get(drop)
                if dropped is None:
                    dropped = drops[drop] = []
                    details = drop or None
                    owed.append(
                        EventBatch(
                            Ev.DROP, dropped, component, ctype, now, None, details, unchanged=True
                        )
                    )
                dropped.append(ff)
            else:
                owed.append(owe(Ev.DROP, ff, details=drop or None))
            removed += 1
            continue
        for index, queue in enumerate(targets):
            if index == 0:
                copy = ff.evolve() if ff is original else ff
            else:
                copy = FlowFile.create(ff.attributes, lineage_start=ff.lineage_start)
                copy.claim, copy.offset, copy.size = ff.claim, ff.offset, ff.size
                copy.penalized_until = ff.penalized_until
                final[copy.uuid] = (copy, None)
                owed.append(owe(Ev.CLONE, ff, child_uuids=(copy.uuid,)))
            batch = routes.get(queue)
            if batch is None:
                batch = routes[queue] = []
            batch.append(copy)
            if copy.claim:
                deltas[copy.claim] = deltas.get(copy.claim, 0) + 1
            out_count += 1
            out_bytes += copy.size

    for parent, kids in forks.items():
        if parent in final:
            owed.append(owe(Ev.FORK, final[parent][0], child_uuids=tuple(kids)))
    # The processor's events learn the committed state; SEND keeps the FlowFile as it
    # left the system. A batch whose FlowFiles are committed as it recorded them already
    # says so; one whose FlowFiles changed since becomes events of its own.
    recorded: list[Recorded] = []
    for item in events:
        if isinstance(item, EventBatch):
            if item.event_type is Ev.SEND or _as_recorded(item, final):
                recorded.append(item)
                continue
            singles: Iterable[ProvenanceEvent] = item.events()
        else:
            singles = (item,)
        for event in singles:
            known = final.get(event.flowfile_uuid)
            if known is not None and event.event_type is not Ev.SEND:
                _describe_one(event, *known, changed_attributes)
            recorded.append(event)
    recorded += owed

    # No lock spans these steps, so sessions pipeline (one writes FlowFiles while another
    # writes provenance); queues accept FlowFiles slightly out of seq order for that.
    flowfiles = repos.flowfiles
    rows = []
    for queue, batch in routes.items():
        for ff, seq in zip(batch, flowfiles.next_seqs(len(batch)), strict=True):
            ff.seq = seq
            ff.queued_at = now
            rows.append(flowfiles.row(queue.id, ff))
    # Provenance first, then the FlowFiles, with the session's event ids confirmed in
    # the same FlowFile transaction (Repositories.persist): a crash in between leaves
    # events no commit confirmed, and the next start removes them.
    repos.persist(recorded, rows, deletes, receipts=receipts, received=now)
    session.durable = True
    repos.content.adjust(deltas)  # after the events have ids: see ContentRepository
    for queue, batch in routes.items():
        queue.put_all(batch)
    for queue, (count, size) in acks.items():
        queue.acknowledge(count, size)

    stats = node.stats
    with node.lock:
        stats.flowfiles_in += sum(a[0] for a in acks.values())
        stats.bytes_in += sum(a[1] for a in acks.values())
        stats.flowfiles_out += out_count
        stats.bytes_out += out_bytes
        stats.flowfiles_removed += removed
        for name, delta in counters.items():
            stats.counters[name] = stats.counters.get(name, 0) + delta


def _resolve(
    node: ProcessorNode, relationship: str, resolved: dict[str, list[FlowFileQueue]]
) -> list[FlowFileQueue]:
    """The queues a relationship leads to, once per commit; [] if it is auto-terminated."""
    connections = node.outgoing.get(relationship)
    if connections:
        targets = [c.queue for c in connections]
    elif relationship in node.auto_terminated:
        targets = []
    else:
        raise FlowFileHandlingError(
            f"{node.id} transferred to {relationship!r}, which is neither connected"
            " nor auto-terminated"
        )
    resolved[relationship] = targets
    return targets


def _as_recorded(batch: EventBatch, final: Mapping[str, tuple[FlowFile, FlowFile | None]]) -> bool:
    """Whether every FlowFile of ``batch`` is committed as the batch holds it and has no
    earlier version to describe (new in this session): then its events are exact."""
    for ff in batch.flowfiles:
        known = final.get(ff.uuid)
        if known is not None and (known[0] is not ff or known[1] is not None):
            return False
    return True


def _describe_one(
    event: ProvenanceEvent,
    ff: FlowFile,
    original: FlowFile | None,
    deltas: dict[str, dict[str, str]],
) -> None:
    """Give an event the committed attributes and content of its FlowFile; ``deltas``
    keeps each FlowFile's changed attributes, computed once for all its events."""
    event.attributes = ff.attributes
    event.claim, event.offset, event.size = ff.claim, ff.offset, ff.size
    event.entry_date, event.lineage_start = ff.entry_date, ff.lineage_start
    if original is not None:
        event.previous_claim = original.claim
        event.previous_offset = original.offset
        event.previous_size = original.size
        old = original.attributes
        if old is not ff.attributes:
            delta = deltas.get(ff.uuid)
            if delta is None:
                new = ff.attributes
                delta = deltas[ff.uuid] = {k: v for k, v in old.items() if new.get(k) != v}
            event.previous_attributes = delta
