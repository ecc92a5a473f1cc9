"""The provenance events a commit owes (NiFi's StandardProcessSession rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.processor import PROCESSOR_TYPES, Processor, Relationship
from headwater.processors.attributes import UpdateAttribute
from headwater.processors.generate import GenerateFlowFile
from headwater.processors.routing import RouteOnAttribute
from headwater.provenance import ProvenanceEvent
from headwater.testing import TestRunner

Body = Callable[[ProcessSession], None]


class ProvenanceRuleProbe(Processor):
    """Runs a test's function as its trigger."""

    SUCCESS = Relationship("success")

    def __init__(self, body: Body) -> None:
        self.body = body

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        self.body(session)


PROCESSOR_TYPES.pop(ProvenanceRuleProbe.type_name(), None)


@pytest.fixture
def run() -> Iterator[Callable[..., TestRunner]]:
    runners: list[TestRunner] = []

    def make(body: Body, *inputs: tuple[bytes, dict[str, str]]) -> TestRunner:
        runner = TestRunner(ProvenanceRuleProbe(body))
        runners.append(runner)
        for content, attributes in inputs:
            runner.enqueue(content, attributes)
        runner.run()
        return runner

    yield make
    for runner in runners:
        runner.close()


def types(runner: TestRunner) -> list[str]:
    return runner.provenance_types()


def only(runner: TestRunner, kind: str) -> ProvenanceEvent:
    (event,) = [e for e in runner.provenance_events() if e.event_type == kind]
    return event


def take(session: ProcessSession):  # type: ignore[no-untyped-def]
    ff = session.get()
    assert ff is not None
    return ff


# -- creation --------------------------------------------------------------------------


def test_new_flowfile_gets_create_with_its_committed_state(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        ff = session.create()
        ff = session.write(ff, b"hello")
        ff = session.put_attribute(ff, "made", "here")
        session.transfer(ff, "success")

    runner = run(body)
    assert types(runner) == ["CREATE"]
    create = only(runner, "CREATE")
    assert create.attributes["made"] == "here"
    assert create.size == 5 and create.claim != 0
    assert create.entry_date > 0 and create.lineage_start == create.entry_date
    assert create.previous_attributes == {}
    assert create.component_id == "ProvenanceRuleProbe"
    assert create.component_type == "ProvenanceRuleProbe"


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (lambda s, ff: s.provenance.receive(ff, "http://device/1"), ["RECEIVE"]),
        (lambda s, ff: s.provenance.fetch(ff, "file:///x"), ["FETCH"]),
        (lambda s, ff: s.provenance.create(ff, details="explicit"), ["CREATE"]),
    ],
    ids=["receive", "fetch", "create"],
)
def test_no_create_when_the_processor_reported_how_it_came(
    run: Callable[..., TestRunner],
    report: Callable[[ProcessSession, object], None],
    expected: list[str],
) -> None:
    def body(session: ProcessSession) -> None:
        ff = session.write(session.create(), b"outside data")
        report(session, ff)
        session.transfer(ff, "success")

    assert types(run(body)) == expected


def test_receive_carries_the_final_content(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        ff = session.create()
        session.provenance.receive(ff, "http://device/1", source_system_flowfile_id="abc")
        ff = session.write(ff, b"12345678")
        session.transfer(ff, "success")

    receive = only(run(body), "RECEIVE")
    assert receive.size == 8 and receive.claim != 0
    assert receive.transit_uri == "http://device/1"
    assert receive.source_system_flowfile_id == "abc"


def test_no_create_for_fork_and_clone_children(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        parent = take(session)
        kids = [session.create(parent), session.create(parent)]
        copy = session.clone(parent)
        session.transfer_all([parent, *kids, copy], "success")

    runner = run(body, (b"p", {"k": "v"}))
    assert sorted(types(runner)) == ["CLONE", "FORK"]
    fork = only(runner, "FORK")
    assert len(fork.child_uuids) == 2
    assert fork.attributes["k"] == "v"


# -- ATTRIBUTES_MODIFIED ---------------------------------------------------------------


def test_changed_attributes_give_attributes_modified(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        ff = take(session)
        ff = session.put_all_attributes(ff, {"a": "9", "c": "3"})
        ff = session.remove_attribute(ff, "b")
        session.transfer(ff, "success")

    runner = run(body, (b"x", {"a": "1", "b": "2", "z": "0"}))
    assert types(runner) == ["ATTRIBUTES_MODIFIED"]
    event = only(runner, "ATTRIBUTES_MODIFIED")
    assert event.attributes["a"] == "9" and event.attributes["c"] == "3"
    assert "b" not in event.attributes
    assert event.previous_attributes == {"a": "1", "b": "2"}, "changed and removed, old values"
    assert event.size == 1 and event.claim == event.previous_claim != 0


@pytest.mark.parametrize(
    "change",
    [
        lambda s, ff: s.put_attribute(ff, "a", "1"),
        lambda s, ff: s.remove_attribute(s.put_attribute(ff, "new", "x"), "new"),
        lambda s, ff: s.remove_attribute(ff, "absent"),
        lambda s, ff: s.penalize(ff),
    ],
    ids=["same-value", "put-then-remove", "remove-absent", "penalize"],
)
def test_no_event_when_attributes_end_unchanged(
    run: Callable[..., TestRunner], change: Callable[[ProcessSession, object], object]
) -> None:
    def body(session: ProcessSession) -> None:
        session.transfer(change(session, take(session)), "success")  # type: ignore[arg-type]

    assert types(run(body, (b"x", {"a": "1"}))) == []


def test_reported_event_replaces_attributes_modified(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        ff = take(session)
        session.provenance.route(ff, "success", details="because")
        ff = session.put_attribute(ff, "routed", "yes")  # after the report: still described
        session.transfer(ff, "success")

    runner = run(body, (b"x", {}))
    assert types(runner) == ["ROUTE"]
    route = only(runner, "ROUTE")
    assert route.attributes["routed"] == "yes"
    assert route.previous_attributes == {}  # "routed" was added: absent from the delta
    assert (route.relationship, route.details) == ("success", "because")


def test_a_report_about_one_flowfile_does_not_cover_another(
    run: Callable[..., TestRunner],
) -> None:
    def body(session: ProcessSession) -> None:
        one, two = session.get_batch(2)
        session.provenance.route(one, "success")
        session.transfer(session.put_attribute(one, "k", "1"), "success")
        session.transfer(session.put_attribute(two, "k", "2"), "success")

    runner = run(body, (b"1", {}), (b"2", {}))
    assert sorted(types(runner)) == ["ATTRIBUTES_MODIFIED", "ROUTE"]


def test_attribute_and_content_change_give_only_content_modified(
    run: Callable[..., TestRunner],
) -> None:
    """NiFi adds ATTRIBUTES_MODIFIED only when no other event describes the FlowFile;
    every event carries the attributes, so a second one is redundant."""

    def body(session: ProcessSession) -> None:
        ff = take(session)
        ff = session.write(ff, b"new content")
        session.transfer(session.put_attribute(ff, "mime.type", "text/plain"), "success")

    runner = run(body, (b"old", {}))
    assert types(runner) == ["CONTENT_MODIFIED"]
    assert only(runner, "CONTENT_MODIFIED").attributes["mime.type"] == "text/plain"


def test_removed_flowfile_gets_only_drop(run: Callable[..., TestRunner]) -> None:
    """NiFi skips modification events for FlowFiles removed in the session."""

    def body(session: ProcessSession) -> None:
        ff = take(session)
        ff = session.put_attribute(ff, "why", "duplicate")
        session.remove(ff)

    runner = run(body, (b"x", {}))
    assert types(runner) == ["DROP"]
    assert only(runner, "DROP").attributes["why"] == "duplicate"


def test_send_keeps_the_attributes_as_sent(run: Callable[..., TestRunner]) -> None:
    """NiFi enriches every event with the committed attributes except SEND, which
    describes the FlowFile as it left the system."""

    def body(session: ProcessSession) -> None:
        ff = take(session)
        session.provenance.send(ff, "http://hub/data")
        session.transfer(session.put_attribute(ff, "sent.status", "200"), "success")

    runner = run(body, (b"x", {"k": "v"}))
    assert types(runner) == ["SEND"]
    send = only(runner, "SEND")
    assert (send.size, send.entry_date > 0, send.claim != 0) == (1, True, True)
    assert send.attributes["k"] == "v"
    assert "sent.status" not in send.attributes
    assert send.transit_uri == "http://hub/data"


# -- CONTENT_MODIFIED ------------------------------------------------------------------


def test_changed_content_gives_content_modified(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        session.transfer(session.write(take(session), b"longer content"), "success")

    runner = run(body, (b"short", {"k": "v"}))
    assert types(runner) == ["CONTENT_MODIFIED"]
    event = only(runner, "CONTENT_MODIFIED")
    assert (event.size, event.previous_size) == (14, 5)
    assert event.claim != 0 and event.previous_claim != 0
    assert (event.claim, event.offset) != (event.previous_claim, event.previous_offset)
    assert event.attributes["k"] == "v" and event.previous_attributes == {}
    assert runner.transferred("success")[0].content == b"longer content"


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (lambda s, ff: s.provenance.modify_content(ff, details="upper"), ["CONTENT_MODIFIED"]),
        (lambda s, ff: s.provenance.fetch(ff, "file:///data"), ["FETCH"]),
    ],
    ids=["modify_content", "fetch"],
)
def test_reported_content_event_is_not_doubled(
    run: Callable[..., TestRunner],
    report: Callable[[ProcessSession, object], None],
    expected: list[str],
) -> None:
    def body(session: ProcessSession) -> None:
        ff = session.write(take(session), b"replaced")
        report(session, ff)
        session.transfer(ff, "success")

    runner = run(body, (b"x", {}))
    assert types(runner) == expected
    event = runner.provenance_events()[0]
    assert event.size == 8 and event.previous_size == 1


def test_content_event_does_not_hide_attribute_change_reporting(
    run: Callable[..., TestRunner],
) -> None:
    """A reported ROUTE does not describe content: the rewrite still owes CONTENT_MODIFIED."""

    def body(session: ProcessSession) -> None:
        ff = session.write(take(session), b"rewritten")
        session.provenance.route(ff, "success")
        session.transfer(ff, "success")

    assert sorted(types(run(body, (b"x", {})))) == ["CONTENT_MODIFIED", "ROUTE"]


def test_shared_content_counts_as_modified(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        one, two = session.get_batch(2)
        session.transfer(session.share_content(two, one), "success")
        session.transfer(one, "success")

    runner = run(body, (b"first", {}), (b"second!", {}))
    assert types(runner) == ["CONTENT_MODIFIED"]
    assert [f.content for f in runner.transferred("success")] == [b"first", b"first"]


def test_untouched_flowfile_passing_through_has_no_event(run: Callable[..., TestRunner]) -> None:
    def body(session: ProcessSession) -> None:
        session.transfer_all(session.get_batch(5), "success")

    runner = run(body, (b"a", {}), (b"b", {}))
    assert types(runner) == []
    runner.assert_transferred("success", 2)


# -- built-in processors ---------------------------------------------------------------


def test_update_attribute_events() -> None:
    with TestRunner(UpdateAttribute, {"greeting": "hi ${name}"}) as runner:
        runner.enqueue(b"x", name="ann")
        runner.enqueue(b"y", name="bob", greeting="hi bob")  # already so: no change
        runner.run()
        assert runner.provenance_types() == ["ATTRIBUTES_MODIFIED"]
        event = runner.provenance_events()[0]
        assert event.attributes["greeting"] == "hi ann"
        assert event.previous_attributes == {}


def test_update_attribute_delete_records_the_old_value() -> None:
    with TestRunner(UpdateAttribute, {"Delete Attributes Expression": "tmp\\..*"}) as runner:
        runner.enqueue(b"x", **{"tmp.a": "1", "keep": "2"})
        runner.run()
        assert runner.provenance_types() == ["ATTRIBUTES_MODIFIED"]
        assert runner.provenance_events()[0].previous_attributes == {"tmp.a": "1"}


def test_route_on_attribute_events() -> None:
    props = {"small": "${size:lt(10)}", "even": "${size:mod(2):equals(0)}"}
    with TestRunner(RouteOnAttribute, props) as runner:
        runner.enqueue(b"", size="4")  # small and even: a clone for the second route
        runner.enqueue(b"", size="13")  # neither
        runner.run()
        assert runner.provenance_types() == ["CLONE", "ROUTE", "ROUTE", "ROUTE"]
        routes = [e for e in runner.provenance_events() if e.event_type == "ROUTE"]
        assert [e.relationship for e in routes] == ["small", "even", "unmatched"]
        assert [e.attributes["RouteOnAttribute.Route"] for e in routes] == [
            "small",
            "even",
            "unmatched",
        ]
        runner.assert_transferred("small", 1)
        runner.assert_transferred("even", 1)
        runner.assert_transferred("unmatched", 1)


def test_route_on_attribute_matched_strategy_events() -> None:
    props = {"Routing Strategy": "Route to 'matched' if all match", "a": "${a:equals('1')}"}
    with TestRunner(RouteOnAttribute, props) as runner:
        runner.enqueue(b"", a="1")
        runner.run()
        assert runner.provenance_types() == ["ROUTE"]
        assert runner.provenance_events()[0].relationship == "matched"


def test_generate_flowfile_events() -> None:
    props = {"Batch Size": "3", "generate-ff-custom-text": "reading", "sensor": "t1"}
    with TestRunner(GenerateFlowFile, props) as runner:
        runner.run()
        assert runner.provenance_types() == ["CREATE", "CREATE", "CREATE"]
        events = runner.provenance_events()
        assert all(e.size == 7 and e.attributes["sensor"] == "t1" for e in events)
        assert len({e.flowfile_uuid for e in events}) == 3
        out = runner.transferred("success")
        assert [f.content for f in out] == [b"reading"] * 3
