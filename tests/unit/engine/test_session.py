"""ProcessSession: NiFi's session semantics over real repositories (DESIGN.md §2)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.context import ProcessContext
from headwater.engine.node import Connection, ProcessorNode
from headwater.engine.queue import FlowFileQueue
from headwater.engine.repositories import Repositories
from headwater.engine.session import ProcessSession
from headwater.errors import FlowFileHandlingError
from headwater.flow.model import Schedule
from headwater.flowfile import FlowFile, now_millis
from headwater.processor import PROCESSOR_TYPES, Processor, Relationship
from headwater.provenance import ProvenanceEvent


class SessionContractProbe(Processor):
    """Never triggered: gives the node a type name and relationships."""

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        raise AssertionError("the harness drives the session itself")

    SUCCESS = Relationship("success")
    FAILURE = Relationship("failure")
    DONE = Relationship("done")


PROCESSOR_TYPES.pop(SessionContractProbe.type_name(), None)

EVERYTHING = 1 << 62


class Harness:
    """One node with incoming queues ``in1``/``in2``; ``success`` goes to ``out``,
    ``failure`` to ``fail`` and ``fail2`` (two connections), ``done`` is auto-terminated."""

    def __init__(self, root: Path, *, schedule: Schedule | None = None, expiration_ms: int = 0):
        self.repos = Repositories.open(root)
        self.node = ProcessorNode(
            "probe",
            SessionContractProbe(),
            schedule or Schedule(penalty=30.0),
            auto_terminated=frozenset({"done"}),
        )
        self.queues: dict[str, FlowFileQueue] = {}
        for name in ("in1", "in2"):
            queue = self._queue(name, expiration_ms)
            self.node.incoming.append(Connection(name, "up", ("x",), "probe", queue))
        for relationship, names in {"success": ("out",), "failure": ("fail", "fail2")}.items():
            for name in names:
                connection = Connection(name, "probe", (relationship,), "down", self._queue(name))
                self.node.outgoing.setdefault(relationship, []).append(connection)

    def _queue(self, name: str, expiration_ms: int = 0) -> FlowFileQueue:
        queue = FlowFileQueue(
            name, swap_reader=self.repos.flowfiles.page, expiration_ms=expiration_ms
        )
        self.queues[name] = queue
        return queue

    def enqueue(
        self, queue: str, content: bytes = b"", *, age_ms: int = 0, **attributes: str
    ) -> FlowFile:
        ff = FlowFile.create(attributes)
        ff.entry_date -= age_ms
        if content:
            writer = self.repos.content.acquire_writer()
            ff.claim, ff.offset, ff.size = writer.claim, writer.append(content), len(content)
            writer.flush()
            self.repos.content.release_writer(writer)
        (ff.seq,) = self.repos.flowfiles.next_seqs(1)
        ff.queued_at = now_millis()
        self.repos.flowfiles.commit([self.repos.flowfiles.row(queue, ff)], [])
        self.repos.content.adjust({ff.claim: 1})
        self.queues[queue].put_all([ff])
        return ff

    def session(self) -> ProcessSession:
        return ProcessSession(self.node, self.repos)

    def stored(self, queue: str) -> list[FlowFile]:
        """What the FlowFile repository holds for a queue."""
        return self.repos.flowfiles.page(queue, 0, EVERYTHING, 10**6)

    def take(self, queue: str) -> list[FlowFile]:
        """Everything ready in a queue now (and acknowledged), in queue order."""
        taken, _ = self.queues[queue].poll(10**6, time.monotonic(), now_millis())
        self.queues[queue].acknowledge(len(taken), sum(ff.size for ff in taken))
        return taken

    def events(self) -> list[ProvenanceEvent]:
        return self.repos.provenance.query(component="probe", limit=10**6, newest_first=False)

    def types(self) -> list[str]:
        return [str(e.event_type) for e in self.events()]

    def content(self, ff: FlowFile) -> bytes:
        return self.repos.content.read(ff.claim, ff.offset, ff.size)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.repos.close()


def uuids(flowfiles: list[FlowFile]) -> list[str]:
    return [ff.uuid for ff in flowfiles]


# -- taking FlowFiles ------------------------------------------------------------------


def test_get_batch_takes_from_every_incoming_queue(harness: Harness) -> None:
    first = [harness.enqueue("in1", b"a"), harness.enqueue("in1", b"b")]
    second = [harness.enqueue("in2", b"c") for _ in range(3)]
    session = harness.session()
    batch = session.get_batch(10)
    assert sorted(uuids(batch)) == sorted(uuids(first + second))
    assert session.get() is None
    session.transfer_all(batch, "success")
    session.commit()
    assert sorted(uuids(harness.take("out"))) == sorted(uuids(first + second))
    assert harness.stored("in1") == [] and harness.stored("in2") == []


def test_get_batch_respects_the_limit_and_keeps_queue_order(harness: Harness) -> None:
    made = [harness.enqueue("in1", b"x", n=str(i)) for i in range(5)]
    session = harness.session()
    batch = session.get_batch(3)
    assert uuids(batch) == uuids(made[:3])
    one = session.get()
    assert one is not None and one.uuid == made[3].uuid


def test_get_batch_defaults_to_the_schedule_batch_size(tmp_path: Path) -> None:
    harness = Harness(tmp_path, schedule=Schedule(batch_size=2))
    try:
        for _ in range(5):
            harness.enqueue("in1")
        assert len(harness.session().get_batch()) == 2
    finally:
        harness.repos.close()


def test_polling_rotates_between_incoming_queues(harness: Harness) -> None:
    a = [harness.enqueue("in1") for _ in range(3)]
    b = [harness.enqueue("in2") for _ in range(3)]
    session = harness.session()
    got = [session.get() for _ in range(4)]
    sources = {ff.uuid: "a" for ff in a} | {ff.uuid: "b" for ff in b}
    assert sorted(sources[ff.uuid] for ff in got if ff) == ["a", "a", "b", "b"]


def test_expired_flowfiles_are_dropped_with_expire(tmp_path: Path) -> None:
    harness = Harness(tmp_path, expiration_ms=60_000)
    try:
        old = harness.enqueue("in1", b"old", age_ms=120_000)
        fresh = harness.enqueue("in1", b"new")
        session = harness.session()
        batch = session.get_batch(10)
        assert uuids(batch) == [fresh.uuid]
        session.transfer(batch[0], "success")
        session.commit()
        (expire,) = [e for e in harness.events() if str(e.event_type) == "EXPIRE"]
        assert expire.flowfile_uuid == old.uuid
        assert expire.details == "Expiration Threshold reached"
        assert harness.types() == ["EXPIRE"]
        assert harness.stored("in1") == []
        assert harness.queues["in1"].count == 0
        assert harness.repos.content.count(old.claim) == 1  # only "new" still points there
        assert harness.node.stats.flowfiles_removed == 1
    finally:
        harness.repos.close()


# -- creating FlowFiles ----------------------------------------------------------------


def test_create_has_core_attributes_and_a_create_event(harness: Harness) -> None:
    session = harness.session()
    ff = session.create()
    assert ff.attributes == {"uuid": ff.uuid, "filename": ff.uuid, "path": "./"}
    assert ff.size == 0 and ff.claim == 0
    assert ff.lineage_start == ff.entry_date > 0
    session.transfer(ff, "success")
    session.commit()
    assert harness.types() == ["CREATE"]
    assert uuids(harness.stored("out")) == [ff.uuid]


def test_clone_shares_content_and_records_clone(harness: Harness) -> None:
    original = harness.enqueue("in1", b"0123456789", kind="x")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    whole = session.clone(ff)
    part = session.clone(ff, 2, 3)
    assert whole.uuid != ff.uuid and whole.attributes["uuid"] == whole.uuid
    assert whole.attributes["kind"] == "x"
    assert (whole.claim, whole.offset, whole.size) == (ff.claim, ff.offset, ff.size)
    assert session.read(part) == b"234"
    assert (part.claim, part.size) == (ff.claim, 3)
    with pytest.raises(FlowFileHandlingError):
        session.clone(ff, 8, 5)
    session.transfer_all([ff, whole, part], "success")
    session.commit()
    events = harness.events()
    clones = [e for e in events if str(e.event_type) == "CLONE"]
    assert [(e.flowfile_uuid, e.child_uuids) for e in clones] == [
        (original.uuid, (whole.uuid,)),
        (original.uuid, (part.uuid,)),
    ]
    assert "CREATE" not in harness.types()
    assert harness.repos.content.count(ff.claim) == 3
    assert [harness.content(f) for f in harness.take("out")] == [b"0123456789"] * 2 + [b"234"]


def test_create_from_parent_forks_once_per_parent(harness: Harness) -> None:
    p1 = harness.enqueue("in1", b"abc", color="red")
    p2 = harness.enqueue("in1", b"def", color="blue")
    session = harness.session()
    parent1, parent2 = session.get_batch(2)
    kids1 = [session.create(parent1) for _ in range(3)]
    kid2 = session.create(parent2)
    for kid in kids1:
        assert kid.attributes["color"] == "red"
        assert kid.uuid != parent1.uuid and kid.attributes["uuid"] == kid.uuid
        assert kid.lineage_start == parent1.lineage_start
        assert kid.size == 0
    session.transfer_all([*kids1, kid2], "success")
    session.remove(parent1)
    session.remove(parent2)
    session.commit()
    forks = {e.flowfile_uuid: e.child_uuids for e in harness.events() if e.event_type == "FORK"}
    assert forks == {p1.uuid: tuple(uuids(kids1)), p2.uuid: (kid2.uuid,)}
    assert "CREATE" not in harness.types()
    assert harness.types().count("DROP") == 2


def test_create_from_parents_joins(harness: Harness) -> None:
    a = harness.enqueue("in1", b"a", site="bog", batch="1", filename="same.txt")
    b = harness.enqueue("in1", b"b", site="bog", batch="2", filename="same.txt")
    session = harness.session()
    fa, fb = session.get_batch(2)
    fb_older = session.put_attribute(fb, "extra", "y")  # the latest version must be used
    child = session.create([fa, fb_older])
    assert child.attributes["site"] == "bog"
    assert child.attributes["filename"] == "same.txt"
    assert "batch" not in child.attributes and "extra" not in child.attributes
    assert child.attributes["uuid"] == child.uuid not in (a.uuid, b.uuid)
    assert child.lineage_start == min(a.lineage_start, b.lineage_start)
    with pytest.raises(FlowFileHandlingError):
        session.create([fa, fb])  # fb is stale
    child = session.write(child, b"ab")
    session.transfer(child, "success")
    session.remove(fa)
    session.remove(fb_older)
    session.commit()
    (join,) = [e for e in harness.events() if e.event_type == "JOIN"]
    assert join.flowfile_uuid == child.uuid
    assert set(join.parent_uuids) == {a.uuid, b.uuid}
    assert join.size == 2
    types = harness.types()
    assert "CREATE" not in types and "CONTENT_MODIFIED" not in types


# -- attributes ------------------------------------------------------------------------


def test_put_and_remove_attributes_make_new_versions(harness: Harness) -> None:
    harness.enqueue("in1", a="1", b="2")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    v2 = session.put_attribute(ff, "a", "9")
    v3 = session.put_all_attributes(v2, {"c": "3", "d": "4"})
    v4 = session.remove_attribute(v3, "b")
    v5 = session.remove_all_attributes(v4, ["c", "nope"])
    assert ff.attributes["a"] == "1" and "c" not in ff.attributes, "versions are immutable"
    assert {k: v for k, v in v5.attributes.items() if k in "abcd"} == {"a": "9", "d": "4"}
    session.transfer(v5, "success")
    session.commit()
    (stored,) = harness.stored("out")
    assert stored.attributes == v5.attributes


def test_uuid_cannot_be_changed_or_removed(harness: Harness) -> None:
    original = harness.enqueue("in1")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    ff = session.put_attribute(ff, "uuid", "not-a-uuid")
    ff = session.put_all_attributes(ff, {"uuid": "other"})
    ff = session.remove_attribute(ff, "uuid")
    ff = session.remove_all_attributes(ff, ["uuid"])
    assert ff.uuid == original.uuid
    assert ff.attributes["uuid"] == original.uuid
    session.transfer(ff, "success")
    session.commit()
    assert harness.stored("out")[0].attributes["uuid"] == original.uuid


def test_stale_or_foreign_flowfile_is_refused(harness: Harness) -> None:
    harness.enqueue("in1", b"abc")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    newer = session.put_attribute(ff, "k", "v")
    for misuse in (
        lambda: session.transfer(ff, "success"),
        lambda: session.put_attribute(ff, "k", "w"),
        lambda: session.read(ff),
        lambda: session.write(ff, b"x"),
        lambda: session.remove(ff),
        lambda: session.clone(ff),
        lambda: session.penalize(ff),
        lambda: session.transfer(FlowFile.create(), "success"),
    ):
        with pytest.raises(FlowFileHandlingError):
            misuse()
    session.transfer(newer, "success")
    session.commit()


# -- content ---------------------------------------------------------------------------


def test_write_and_read_bytes_text_and_streams(harness: Harness) -> None:
    harness.enqueue("in1", b"original")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    assert session.read(ff) == b"original"
    ff = session.write(ff, b"bytes")
    assert session.read(ff) == b"bytes" and ff.size == 5
    ff = session.write(ff, lambda out: (out.write(b"from "), out.write(b"callback")))
    assert session.read(ff) == b"from callback"
    ff = session.write_text(ff, "żółw")
    assert session.read_text(ff) == "żółw" and ff.size == len("żółw".encode())
    ff = session.import_from(ff, io.BytesIO(b"imported"))
    sink = io.BytesIO()
    session.export_to(ff, sink)
    assert sink.getvalue() == b"imported"
    with session.open_read(ff) as stream:
        assert stream.read() == b"imported"
    session.transfer(ff, "success")
    session.commit()
    (out,) = harness.take("out")
    assert harness.content(out) == b"imported"


def test_writing_nothing_leaves_no_content(harness: Harness) -> None:
    harness.enqueue("in1", b"abc")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    ff = session.write(ff, b"")
    assert (ff.claim, ff.size) == (0, 0)
    assert session.read(ff) == b""


def test_open_read_streams_large_content(harness: Harness) -> None:
    big = bytes(range(251)) * 2_000  # ~490 KiB, past the 256 KiB in-memory limit
    session = harness.session()
    ff = session.create()

    def produce(out: io.RawIOBase) -> None:
        for start in range(0, len(big), 40_000):
            out.write(big[start : start + 40_000])

    ff = session.write(ff, produce)  # type: ignore[arg-type]
    assert ff.size == len(big)
    with session.open_read(ff) as stream:
        assert not isinstance(stream, io.BytesIO)
        assert stream.read(10) == big[:10]
        assert stream.read() == big[10:]
    sink = io.BytesIO()
    session.export_to(ff, sink)
    assert sink.getvalue() == big
    session.transfer(ff, "success")
    session.commit()
    (out,) = harness.take("out")
    assert harness.content(out) == big


def test_committed_content_is_reference_counted(harness: Harness) -> None:
    source = harness.enqueue("in1", b"shared")
    assert harness.repos.content.count(source.claim) == 1
    session = harness.session()
    ff = session.get()
    assert ff is not None
    copy = session.clone(ff)
    session.transfer(ff, "success")
    session.transfer(copy, "success")
    session.commit()
    assert harness.repos.content.count(source.claim) == 2


# -- routing ---------------------------------------------------------------------------


def test_transfer_to_a_relationship_moves_durably(harness: Harness) -> None:
    original = harness.enqueue("in1", b"data")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    session.transfer(ff, SessionContractProbe.SUCCESS)
    session.commit()
    (stored,) = harness.stored("out")
    assert stored.uuid == original.uuid and stored.seq > original.seq
    assert harness.stored("in1") == []
    assert harness.queues["in1"].count == 0
    (queued,) = harness.take("out")
    assert queued.seq == stored.seq and harness.content(queued) == b"data"
    assert harness.types() == []


def test_transfer_without_relationship_returns_to_the_source(harness: Harness) -> None:
    original = harness.enqueue("in2", b"data", k="v")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    ff = session.put_attribute(ff, "k", "changed")
    session.transfer(ff)
    session.commit()
    (back,) = harness.stored("in2")
    assert back.uuid == original.uuid and back.attributes["k"] == "changed"
    assert harness.queues["in2"].count == 1
    assert harness.stored("out") == []


def test_created_flowfile_cannot_go_back_to_a_source(harness: Harness) -> None:
    session = harness.session()
    with pytest.raises(FlowFileHandlingError):
        session.transfer(session.create())


def test_remove_drops(harness: Harness) -> None:
    original = harness.enqueue("in1", b"bye")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    session.remove(ff)
    session.commit()
    assert harness.types() == ["DROP"]
    (drop,) = harness.events()
    assert drop.flowfile_uuid == original.uuid and drop.size == 3
    assert harness.stored("in1") == []
    assert harness.repos.content.count(original.claim) == 0
    assert harness.node.stats.flowfiles_removed == 1


def test_auto_terminated_relationship_drops(harness: Harness) -> None:
    harness.enqueue("in1")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    session.transfer(ff, SessionContractProbe.DONE)
    session.commit()
    (drop,) = harness.events()
    assert str(drop.event_type) == "DROP"
    assert drop.details == "Auto-Terminated by done Relationship"
    assert harness.stored("in1") == []


def test_unknown_relationship_fails_the_commit(harness: Harness) -> None:
    original = harness.enqueue("in1")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    session.transfer(ff, "nowhere")
    with pytest.raises(FlowFileHandlingError, match="nowhere"):
        session.commit()
    assert uuids(harness.stored("in1")) == [original.uuid]
    session.rollback()
    assert harness.queues["in1"].count == 1


def test_relationship_with_two_connections_clones_into_the_second(harness: Harness) -> None:
    original = harness.enqueue("in1", b"twice", k="v")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    session.transfer(ff, "failure")
    session.commit()
    (first,) = harness.stored("fail")
    (second,) = harness.stored("fail2")
    assert first.uuid == original.uuid
    assert second.uuid != original.uuid
    assert second.attributes["uuid"] == second.uuid and second.attributes["k"] == "v"
    assert (second.claim, second.offset, second.size) == (first.claim, first.offset, 5)
    (clone,) = harness.events()
    assert str(clone.event_type) == "CLONE"
    assert (clone.flowfile_uuid, clone.child_uuids) == (original.uuid, (second.uuid,))
    assert harness.repos.content.count(original.claim) == 2
    assert harness.node.stats.flowfiles_out == 2


def test_penalize_holds_the_flowfile_back_downstream(harness: Harness) -> None:
    harness.enqueue("in1")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    before = time.monotonic()
    ff = session.penalize(ff)
    assert before + 29 < ff.penalized_until <= time.monotonic() + 30
    session.transfer(ff, "success")
    session.commit()
    assert harness.queues["out"].count == 1
    assert not harness.queues["out"].is_ready(time.monotonic())
    assert harness.queues["out"].is_ready(ff.penalized_until)


def test_penalty_carries_to_the_clone_for_a_second_connection(harness: Harness) -> None:
    """NiFi clones the whole record (penalty included) for each extra connection."""
    harness.enqueue("in1")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    session.transfer(session.penalize(ff), "failure")
    session.commit()
    now = time.monotonic()
    assert not harness.queues["fail"].is_ready(now)
    assert not harness.queues["fail2"].is_ready(now), "the clone escaped its penalty"


# -- commit and rollback ---------------------------------------------------------------


def test_unaccounted_flowfile_fails_commit_and_persists_nothing(harness: Harness) -> None:
    original = harness.enqueue("in1", b"keep")
    session = harness.session()
    ff = session.get()
    assert ff is not None
    made = session.write(session.create(), b"new")
    session.transfer(made, "success")
    ff = session.put_attribute(ff, "touched", "yes")
    with pytest.raises(FlowFileHandlingError, match="neither transferred nor removed"):
        session.commit()
    assert harness.stored("out") == [] and harness.queues["out"].count == 0
    assert uuids(harness.stored("in1")) == [original.uuid]
    assert "touched" not in harness.stored("in1")[0].attributes
    assert harness.events() == []
    session.rollback()
    assert uuids(harness.take("in1")) == [original.uuid]


def test_rollback_restores_inputs_in_order_and_forgets_the_rest(harness: Harness) -> None:
    made = [harness.enqueue("in1", b"x", n=str(i)) for i in range(5)]
    session = harness.session()
    taken = session.get_batch(3)
    changed = session.put_attribute(taken[0], "n", "changed")
    created = session.write(session.create(), b"new")
    session.transfer(changed, "success")
    session.transfer(created, "success")
    session.remove(taken[1])
    session.provenance.send(taken[2], "http://example/sent")
    session.provenance.invoke_remote(taken[2], "http://example/called")
    session.provenance.route(taken[2], "success")
    session.provenance.receive(created, "http://example/received")
    session.adjust_counter("seen", 3)
    session.rollback()
    assert harness.queues["in1"].count == 5
    back = harness.take("in1")
    assert uuids(back) == uuids(made)
    assert back[0].attributes["n"] == "0"
    assert harness.stored("out") == [] and harness.queues["out"].count == 0
    assert uuids(harness.stored("in1")) == uuids(made)
    assert sorted(harness.types()) == ["REMOTE_INVOCATION", "SEND"]
    assert "seen" not in harness.node.stats.counters
    assert harness.node.stats.flowfiles_in == 0


def test_rollback_with_penalty(harness: Harness) -> None:
    harness.enqueue("in1")
    harness.enqueue("in1")
    session = harness.session()
    session.get_batch(1)
    session.rollback(penalize=True)
    queue = harness.queues["in1"]
    assert queue.count == 2
    now = time.monotonic()
    assert len(queue.poll(10, now, now_millis())[0]) == 1, "only the untouched one is ready"
    later, _ = queue.poll(10, now + 31, now_millis())
    assert len(later) == 1


def test_commit_then_more_work_in_the_same_session(harness: Harness) -> None:
    a = harness.enqueue("in1", b"a")
    b = harness.enqueue("in1", b"b")
    session = harness.session()
    ff = session.get()
    assert ff is not None and ff.uuid == a.uuid
    session.transfer(session.write(ff, b"A"), "success")
    session.commit()
    assert session.flowfiles == []
    assert uuids(harness.stored("out")) == [a.uuid]
    ff = session.get()
    assert ff is not None and ff.uuid == b.uuid
    session.transfer(session.write(ff, b"B"), "success")
    session.rollback()  # only the work since the last commit is undone
    assert uuids(harness.stored("out")) == [a.uuid]
    assert uuids(harness.stored("in1")) == [b.uuid]
    assert [harness.content(f) for f in harness.take("out")] == [b"A"]
    assert harness.types() == ["CONTENT_MODIFIED"]


def test_commit_calls_the_queued_callback(harness: Harness) -> None:
    calls: list[int] = []
    harness.enqueue("in1")
    session = ProcessSession(harness.node, harness.repos, lambda: calls.append(1))
    ff = session.get()
    assert ff is not None
    session.transfer(ff, "success")
    session.commit()
    assert calls == [1]


def test_counters_and_stats_are_applied_at_commit(harness: Harness) -> None:
    harness.enqueue("in1", b"12345")
    harness.enqueue("in2", b"678")
    session = harness.session()
    session.adjust_counter("records", 10)
    session.adjust_counter("records", 5)
    session.adjust_counter("bad", 1)
    assert harness.node.stats.counters == {}
    batch = session.get_batch(10)
    session.transfer(batch[0], "success")
    session.remove(batch[1])
    session.commit()
    stats = harness.node.stats
    assert stats.counters == {"records": 15, "bad": 1}
    assert (stats.flowfiles_in, stats.bytes_in) == (2, 8)
    assert stats.flowfiles_out == 1 and stats.bytes_out == batch[0].size
    assert stats.flowfiles_removed == 1
    session.adjust_counter("records", 1)
    session.commit()
    assert stats.counters["records"] == 16


def test_commit_acknowledges_the_source_queue(harness: Harness) -> None:
    harness.enqueue("in1", b"abc")
    queue = harness.queues["in1"]
    session = harness.session()
    ff = session.get()
    assert ff is not None
    assert (queue.count, queue.bytes) == (1, 3), "in flight still counts"
    session.transfer(ff, "success")
    session.commit()
    assert (queue.count, queue.bytes) == (0, 0)


# -- batches of FlowFiles (site-to-site) ------------------------------------------------


def test_receive_many_keeps_uuids_and_writes_every_content_in_one_claim(
    harness: Harness,
) -> None:
    items = [(f"{i:08d}-0000-7000-8000-000000000000", {"n": str(i)}, b"x" * i) for i in range(3)]
    session = harness.session()
    received = session.receive_many(items)
    assert [ff.uuid for ff in received] == [uuid for uuid, _, _ in items]
    assert received[0].claim == 0 and received[1].claim == received[2].claim != 0
    with pytest.raises(FlowFileHandlingError, match="already part of this session"):
        session.receive_many(items[1:2])
    session.provenance.receive_many(received, "http://agent/t/1", ["a", "b", "c"], millis=7)
    session.transfer_all(received, "success")
    session.commit()
    out = harness.take("out")
    assert [harness.content(ff) for ff in out] == [b"", b"x", b"xx"]
    assert [ff.attributes["filename"] for ff in out] == [uuid for uuid, _, _ in items]
    events = harness.events()
    assert [(e.event_type, e.size, e.source_system_flowfile_id) for e in events] == [
        ("RECEIVE", 0, "a"),
        ("RECEIVE", 1, "b"),
        ("RECEIVE", 2, "c"),
    ]
    assert {e.transit_uri for e in events} == {"http://agent/t/1"}
    assert {e.event_duration for e in events} == {7}


def test_a_batch_whose_flowfiles_changed_describes_them_as_committed(harness: Harness) -> None:
    items = [(f"{i:08d}-0000-7000-8000-000000000000", {"n": str(i)}, b"ab") for i in range(2)]
    session = harness.session()
    received = session.receive_many(items)
    session.provenance.receive_many(received, "http://agent/t/2", ["a", "b"])
    changed = session.put_attribute(received[1], "checked", "yes")
    session.transfer_all([received[0], changed], "success")
    session.commit()
    events = harness.events()
    assert [(e.flowfile_uuid, e.event_type) for e in events] == [
        (items[0][0], "RECEIVE"),
        (items[1][0], "RECEIVE"),
    ], "one RECEIVE each: no ATTRIBUTES_MODIFIED for a FlowFile made in the session"
    assert "checked" not in events[0].attributes
    assert events[1].attributes["checked"] == "yes"
    assert [e.source_system_flowfile_id for e in events] == ["a", "b"]


def test_a_rollback_keeps_a_batch_of_sends(harness: Harness) -> None:
    made = [harness.enqueue("in1", b"reading", n=str(i)) for i in range(2)]
    session = harness.session()
    batch = session.get_batch(10)
    session.provenance.send_many(batch, "http://hub/t/3", millis=2)
    session.rollback()
    assert [(e.event_type, e.flowfile_uuid, e.transit_uri) for e in harness.events()] == [
        ("SEND", ff.uuid, "http://hub/t/3") for ff in made
    ]
    assert len(harness.take("in1")) == 2, "the FlowFiles themselves went back"


def test_send_many_then_remove_all_records_send_and_drop_per_flowfile(
    harness: Harness,
) -> None:
    made = [harness.enqueue("in1", b"reading", n=str(i)) for i in range(3)]
    session = harness.session()
    batch = session.get_batch(10)
    session.provenance.send_many(batch, "http://hub/t/9", details="Remote Host=hub", millis=3)
    session.remove_all(batch)
    session.commit()
    assert harness.stored("in1") == []
    events = harness.events()
    assert [(e.event_type, e.flowfile_uuid) for e in events] == [
        *(("SEND", ff.uuid) for ff in made),
        *(("DROP", ff.uuid) for ff in made),
    ]
    sends, drops = events[:3], events[3:]
    assert {(e.transit_uri, e.details, e.event_duration, e.size) for e in sends} == {
        ("http://hub/t/9", "Remote Host=hub", 3, 7)
    }
    assert [(e.claim, e.offset, e.size) for e in drops] == [
        (ff.claim, ff.offset, ff.size) for ff in made
    ]
    assert [(e.previous_claim, e.previous_offset, e.previous_size) for e in drops] == [
        (ff.claim, ff.offset, ff.size) for ff in made
    ], "a FlowFile dropped as it was taken: its content before is its content"
    assert {(e.details, e.transit_uri) for e in drops} == {(None, None)}
    assert [e.attributes for e in drops] == [ff.attributes for ff in made]
