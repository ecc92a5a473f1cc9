"""ProcessSession: everything a processor does in one trigger, as one transaction.

The session tracks every FlowFile it touched (what it was, what it is now, where it
goes). ``commit`` writes provenance, then the FlowFile repository (which confirms the
events), then moves the FlowFiles to their queues (``engine/commit.py``); ``rollback``
forgets every change and puts the inputs back.
The session writes the provenance events itself (CREATE, FORK, JOIN, CLONE, DROP,
EXPIRE, ATTRIBUTES_MODIFIED, CONTENT_MODIFIED), and processors add the ones only they
know (RECEIVE, SEND, FETCH, ROUTE, ...) through ``session.provenance``, so lineage
cannot be forgotten.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import BinaryIO

from headwater.engine.commit import EXPIRED, REMOVED, Record, commit_session
from headwater.engine.node import ProcessorNode
from headwater.engine.provenance_reporter import ProvenanceReporter
from headwater.engine.queue import FlowFileQueue
from headwater.engine.repositories import Repositories
from headwater.errors import FlowFileHandlingError
from headwater.flowfile import FlowFile, now_millis, shared_attributes
from headwater.processor import Relationship
from headwater.provenance import ProvenanceEventType as Ev
from headwater.repository.content import ClaimWriter


class ProcessSession:
    """A unit of work over FlowFiles for one processor node."""

    def __init__(
        self,
        node: ProcessorNode,
        repositories: Repositories,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.node = node
        self.repositories = repositories
        self._on_queued = on_queued
        self._records: dict[str, Record] = {}
        self._forks: dict[str, list[str]] = {}
        self._writer: ClaimWriter | None = None
        self._counters: dict[str, int] = {}
        self._receipts: list[bytes] = []
        self.provenance = ProvenanceReporter(node.id, node.type_name)
        self.durable = False  # the FlowFile repository holds this commit: no going back

    # -- taking FlowFiles --------------------------------------------------------------

    def get(self) -> FlowFile | None:
        """The next FlowFile from the incoming queues, or None."""
        batch = self.get_batch(1)
        return batch[0] if batch else None

    def get_batch(self, max_count: int | None = None) -> list[FlowFile]:
        """Up to ``max_count`` FlowFiles (default: the schedule's batch size)."""
        wanted = max_count or self.node.schedule.batch_size
        now, now_ms = time.monotonic(), now_millis()
        taken: list[FlowFile] = []
        records = self._records
        for queue in self.node.incoming_queues():
            if len(taken) >= wanted:
                break
            ready, expired = queue.poll(wanted - len(taken), now, now_ms)
            for ff in ready:
                records[ff.uuid] = Record(ff, ff, queue)
            for ff in expired:
                record = records[ff.uuid] = Record(ff, ff, queue)
                record.destination = EXPIRED
            taken += ready
        return taken

    # -- creating FlowFiles ------------------------------------------------------------

    def create(self, parent: FlowFile | Sequence[FlowFile] | None = None) -> FlowFile:
        """A new FlowFile: from nothing (CREATE at commit), a child of one parent (FORK),
        or of several (JOIN; the child keeps the attributes all parents share)."""
        if parent is None:
            ff = FlowFile.create()
        elif isinstance(parent, FlowFile):
            self._current(parent)
            ff = FlowFile.create(parent.attributes, lineage_start=parent.lineage_start)
            self._forks.setdefault(parent.uuid, []).append(ff.uuid)
        else:
            parents = [self._current(p) for p in parent]
            start = min((p.lineage_start for p in parents), default=None)
            ff = FlowFile.create(shared_attributes(parents), lineage_start=start)
            self.provenance.join(ff, parents)
        self._records[ff.uuid] = Record(None, ff, None)
        return ff

    def receive(
        self, uuid: str, attributes: Mapping[str, str], *, lineage_start: int | None = None
    ) -> FlowFile:
        """A new FlowFile that arrived from another system and keeps its ``uuid`` there
        (site-to-site), so the lineage runs on across systems; the caller records the
        RECEIVE event. A uuid already in this session gets FlowFileHandlingError."""
        now = now_millis()
        return self._received([(uuid, attributes, b"")], 0, 0, now, lineage_start or now)[0]

    def receive_many(
        self, items: Sequence[tuple[str, Mapping[str, str], bytes | memoryview]]
    ) -> list[FlowFile]:
        """``receive`` and ``write`` for FlowFiles that arrived together, as (uuid,
        attributes, content): their contents go into this session's claim in one append
        (a site-to-site transaction brings thousands)."""
        writer = self._claim_writer()
        offset = writer.append_all([item[2] for item in items])
        now = now_millis()
        return self._received(items, writer.claim, offset, now, now)

    def _received(
        self,
        items: Sequence[tuple[str, Mapping[str, str], bytes | memoryview]],
        claim: int,
        offset: int,
        now: int,
        lineage_start: int,
    ) -> list[FlowFile]:
        """Received FlowFiles in this session, their contents one after another from
        ``offset`` in ``claim``: each keeps its sender's uuid and gets the core attributes
        it lacks; a uuid already here gets FlowFileHandlingError."""
        records = self._records
        flowfiles: list[FlowFile] = []
        for uuid, attributes, content in items:
            if uuid in records:
                raise FlowFileHandlingError(f"{uuid} is already part of this session")
            size = len(content)
            attrs = {"filename": uuid, "path": "./", **attributes, "uuid": uuid}
            ff = FlowFile(uuid, attrs, claim if size else 0, offset, size, now, lineage_start)
            records[uuid] = Record(None, ff, None)
            flowfiles.append(ff)
            offset += size
        return flowfiles

    def add_receipts(self, keys: Iterable[bytes]) -> None:
        """Record these keys of received data in the FlowFile repository in the same
        transaction as this session's FlowFiles (``receipts_among`` finds them later):
        whoever sends the same data again can be told it is already stored."""
        self._receipts.extend(keys)

    def clone(self, flowfile: FlowFile, offset: int = 0, size: int | None = None) -> FlowFile:
        """An exact copy with a new uuid, sharing the content (or a slice of it)."""
        parent = self._current(flowfile)
        size = parent.size - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > parent.size:
            raise FlowFileHandlingError(f"clone range {offset}+{size} outside {parent.size} bytes")
        ff = FlowFile.create(parent.attributes, lineage_start=parent.lineage_start)
        ff.claim, ff.offset, ff.size = parent.claim, parent.offset + offset, size
        self._records[ff.uuid] = Record(None, ff, None)
        self.provenance.clone(parent, ff)
        return ff

    # -- attributes --------------------------------------------------------------------

    def put_attribute(self, flowfile: FlowFile, key: str, value: str) -> FlowFile:
        return self.put_all_attributes(flowfile, {key: value})

    def put_all_attributes(self, flowfile: FlowFile, attributes: Mapping[str, str]) -> FlowFile:
        merged = {**flowfile.attributes, **attributes}
        merged["uuid"] = flowfile.uuid
        return self._replace(flowfile, flowfile.with_attributes(merged))

    def remove_attribute(self, flowfile: FlowFile, key: str) -> FlowFile:
        return self.remove_all_attributes(flowfile, (key,))

    def remove_all_attributes(self, flowfile: FlowFile, keys: Iterable[str]) -> FlowFile:
        drop = set(keys) - {"uuid"}
        kept = {k: v for k, v in flowfile.attributes.items() if k not in drop}
        return self._replace(flowfile, flowfile.with_attributes(kept))

    # -- content -----------------------------------------------------------------------

    def read(self, flowfile: FlowFile) -> bytes:
        ff = self._current(flowfile)
        return self.repositories.content.read(ff.claim, ff.offset, ff.size)

    def read_many(self, flowfiles: Sequence[FlowFile]) -> list[bytes]:
        """The contents of many FlowFiles, reading each claim file once (for merges)."""
        current = [self._current(ff) for ff in flowfiles]
        return self.repositories.content.read_many([(f.claim, f.offset, f.size) for f in current])

    def read_text(self, flowfile: FlowFile, encoding: str = "utf-8") -> str:
        return self.read(flowfile).decode(encoding)

    def open_read(self, flowfile: FlowFile) -> BinaryIO:
        """A stream over the content, for content too large to hold in memory."""
        ff = self._current(flowfile)
        return self.repositories.content.open(ff.claim, ff.offset, ff.size)

    def write(
        self, flowfile: FlowFile, data: bytes | bytearray | Callable[[BinaryIO], object]
    ) -> FlowFile:
        """Replace the content with ``data``, or with what a callback writes to a stream."""
        self._record(flowfile)  # refuse a stale or foreign FlowFile before writing
        writer = self._claim_writer()
        if callable(data):
            start = writer.length
            data(_AppendStream(writer))  # type: ignore[arg-type]
            offset, size = start, writer.length - start
        else:
            offset, size = writer.append(data), len(data)
        return self._replace(
            flowfile, flowfile.with_content(writer.claim if size else 0, offset, size)
        )

    def share_content(self, flowfile: FlowFile, source: FlowFile) -> FlowFile:
        """Point ``flowfile`` at the content of ``source`` without copying (content is
        immutable, so sharing is safe)."""
        return self._replace(
            flowfile, flowfile.with_content(source.claim, source.offset, source.size)
        )

    def write_text(self, flowfile: FlowFile, text: str, encoding: str = "utf-8") -> FlowFile:
        return self.write(flowfile, text.encode(encoding))

    def import_from(self, flowfile: FlowFile, source: BinaryIO) -> FlowFile:
        """Replace the content with everything ``source`` yields, in chunks."""

        def copy(out: BinaryIO) -> None:
            while chunk := source.read(1 << 20):
                out.write(chunk)

        return self.write(flowfile, copy)

    def export_to(self, flowfile: FlowFile, target: BinaryIO) -> None:
        with self.open_read(flowfile) as stream:
            while chunk := stream.read(1 << 20):
                target.write(chunk)

    def _claim_writer(self) -> ClaimWriter:
        if self._writer is None:
            self._writer = self.repositories.content.acquire_writer()
        return self._writer

    # -- routing -----------------------------------------------------------------------

    def transfer(self, flowfile: FlowFile, relationship: Relationship | str | None = None) -> None:
        """Send to a relationship; without one, back to the queue it came from."""
        record = self._record(flowfile)
        if relationship is None:
            if record.source is None:
                raise FlowFileHandlingError(
                    f"{flowfile.uuid} was created in this session and has no queue to return to"
                )
            record.destination = ""
        else:
            record.destination = str(relationship)

    def transfer_all(
        self, flowfiles: Iterable[FlowFile], relationship: Relationship | str | None = None
    ) -> None:
        if relationship is None:
            for ff in flowfiles:
                self.transfer(ff)
            return
        destination = str(relationship)
        record = self._record
        for ff in flowfiles:
            record(ff).destination = destination

    def remove(self, flowfile: FlowFile) -> None:
        """End this FlowFile (a DROP event at commit)."""
        self._record(flowfile).destination = REMOVED

    def remove_all(self, flowfiles: Iterable[FlowFile]) -> None:
        """``remove`` for each of ``flowfiles``."""
        record = self._record
        for ff in flowfiles:
            record(ff).destination = REMOVED

    def penalize(self, flowfile: FlowFile) -> FlowFile:
        """Keep this FlowFile from being processed again for the penalty duration."""
        until = time.monotonic() + self.node.schedule.penalty
        return self._replace(flowfile, flowfile.evolve(penalized_until=until))

    def adjust_counter(self, name: str, delta: int) -> None:
        self._counters[name] = self._counters.get(name, 0) + delta

    # -- bookkeeping -------------------------------------------------------------------

    def _record(self, flowfile: FlowFile) -> Record:
        record = self._records.get(flowfile.uuid)
        if record is None:
            raise FlowFileHandlingError(f"{flowfile.uuid} is not part of this session")
        if record.current is not flowfile:
            raise FlowFileHandlingError(
                f"{flowfile.uuid} is not the latest version; use the FlowFile the session returned"
            )
        return record

    def _current(self, flowfile: FlowFile) -> FlowFile:
        return self._record(flowfile).current

    def _replace(self, flowfile: FlowFile, new: FlowFile) -> FlowFile:
        """Make ``new`` the current version of ``flowfile`` (which must be current)."""
        self._record(flowfile).current = new
        return new

    @property
    def flowfiles(self) -> list[FlowFile]:
        """Current versions of every FlowFile in the session."""
        return [r.current for r in self._records.values()]

    # -- commit and rollback -----------------------------------------------------------

    def commit(self) -> None:
        """Make everything durable, then queue the FlowFiles; the session can go on."""
        unaccounted = [u for u, r in self._records.items() if r.destination is None]
        if unaccounted:
            raise FlowFileHandlingError(
                f"{len(unaccounted)} FlowFile(s) were neither transferred nor removed"
                f" (first: {unaccounted[0]}); transfer or remove every FlowFile"
            )
        if not (self._records or self.provenance.events or self._counters or self._receipts):
            self._reset()  # nothing happened: no transaction, no wake-up
            return
        if self._writer is not None:
            self._writer.flush()
        commit_session(self, self._records.values(), self._forks, self._counters, self._receipts)
        if self._on_queued is not None:
            self._on_queued()
        self._reset()

    def rollback(self, penalize: bool = False) -> None:
        """Forget every change; put the inputs back (penalized if asked). SEND and
        REMOTE_INVOCATION events are kept: what left the system has left."""
        by_queue: dict[FlowFileQueue, list[FlowFile]] = {}
        until = time.monotonic() + self.node.schedule.penalty if penalize else 0.0
        for record in self._records.values():
            if record.original is not None and record.source is not None:
                ff = record.original
                if penalize:
                    ff = ff.evolve(penalized_until=until)
                by_queue.setdefault(record.source, []).append(ff)
        for queue, flowfiles in by_queue.items():
            if self.durable:  # failed after the FlowFile repository committed: the inputs
                queue.acknowledge(len(flowfiles), sum(ff.size for ff in flowfiles))  # left
            else:
                flowfiles.sort(key=lambda ff: ff.seq)
                queue.requeue(flowfiles)
        kept = self.provenance.take(lambda e: e.event_type in (Ev.SEND, Ev.REMOTE_INVOCATION))
        if kept:
            self.repositories.record(kept)
        self._reset()
        if by_queue and self._on_queued is not None:
            self._on_queued()

    def _reset(self) -> None:
        if self._writer is not None:
            self.repositories.content.release_writer(self._writer)
            self._writer = None
        self._records = {}
        self._forks = {}
        self._counters = {}
        self._receipts = []
        self.provenance.events = []
        self.durable = False


class _AppendStream(io.RawIOBase):
    """A write-only stream that appends to a claim."""

    def __init__(self, writer: ClaimWriter) -> None:
        self._writer = writer

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._writer.append(bytes(data) if isinstance(data, memoryview) else data)
        return len(data)
