"""Lineage graphs through CLONE, FORK and JOIN, as NiFi draws them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.provenance import ProvenanceEvent, ProvenanceEventType
from headwater.repository.provenance import SqliteProvenanceRepository

T0 = 1_700_000_000_000
E = ProvenanceEventType


def ev(
    uuid: str,
    kind: ProvenanceEventType,
    at: int,
    *,
    parents: tuple[str, ...] = (),
    children: tuple[str, ...] = (),
    component: str = "proc",
) -> ProvenanceEvent:
    return ProvenanceEvent(
        event_type=kind,
        flowfile_uuid=uuid,
        component_id=component,
        component_type="Processor",
        timestamp=T0 + at,
        attributes={"uuid": uuid},
        parent_uuids=parents,
        child_uuids=children,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteProvenanceRepository]:
    repository = SqliteProvenanceRepository(tmp_path)
    yield repository
    repository.close()


def flowfiles(graph: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {n["id"] for n in graph["nodes"] if n["type"] == "FLOWFILE"}


def links(graph: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str, str]]:
    return {(link["source"], link["target"], link["flowFileUuid"]) for link in graph["links"]}


def node_ids(graph: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {n["id"] for n in graph["nodes"]}


def test_clone_then_route(repo: SqliteProvenanceRepository) -> None:
    receive = ev("orig", E.RECEIVE, 0, component="listen")
    clone = ev("orig", E.CLONE, 1, parents=("orig",), children=("copy",), component="route")
    route_orig = ev("orig", E.ROUTE, 2, component="route")
    route_copy = ev("copy", E.ROUTE, 2, component="route")
    send = ev("copy", E.SEND, 3, component="put")
    repo.register([receive, clone, route_orig, route_copy])
    repo.register([send])
    r, c, ro, rc, s = (str(e.event_id) for e in (receive, clone, route_orig, route_copy, send))

    graph = repo.lineage("orig")
    assert flowfiles(graph) == {"orig", "copy"}
    events = {n["id"]: n for n in graph["nodes"] if n["type"] == "EVENT"}
    assert {n["eventType"] for n in events.values()} == {"RECEIVE", "CLONE", "ROUTE", "SEND"}
    assert events[c] == {
        "id": c,
        "type": "EVENT",
        "eventType": "CLONE",
        "timestamp": T0 + 1,
        "componentId": "route",
        "componentType": "Processor",
        "flowFileUuid": "orig",
    }
    assert links(graph) == {
        ("orig", r, "orig"),
        (r, c, "orig"),
        (c, ro, "orig"),
        ("copy", rc, "copy"),
        (rc, s, "copy"),
        (c, rc, "copy"),  # the CLONE leads to the clone's first event
    }
    every = node_ids(graph)
    assert all(link["source"] in every and link["target"] in every for link in graph["links"])
    # The same graph from the clone's side.
    assert links(repo.lineage("copy")) == links(graph)
    assert node_ids(repo.lineage("copy")) == every


def test_fork_with_several_children(repo: SqliteProvenanceRepository) -> None:
    kids = ("k1", "k2", "k3")
    receive = ev("parent", E.RECEIVE, 0)
    fork = ev("parent", E.FORK, 1, parents=("parent",), children=kids, component="split")
    drop = ev("parent", E.DROP, 2)
    firsts = [ev(k, E.ROUTE, 3) for k in kids]
    seconds = [ev(k, E.SEND, 4) for k in kids]
    repo.register([receive, fork, drop, *firsts, *seconds])

    graph = repo.lineage("k2")  # from one child: the parent and the siblings
    assert flowfiles(graph) == {"parent", *kids}
    got = links(graph)
    f = str(fork.event_id)
    for kid, first, second in zip(kids, firsts, seconds, strict=True):
        assert (f, str(first.event_id), kid) in got
        assert (kid, str(first.event_id), kid) in got
        assert (str(first.event_id), str(second.event_id), kid) in got
    assert (str(receive.event_id), f, "parent") in got
    assert (f, str(drop.event_id), "parent") in got
    assert len(got) == 3 + 3 * 3
    assert sum(n["type"] == "EVENT" for n in graph["nodes"]) == 3 + 6


def test_join_of_several_parents(repo: SqliteProvenanceRepository) -> None:
    parents = ("p1", "p2", "p3")
    receives = [ev(p, E.RECEIVE, i) for i, p in enumerate(parents)]
    join = ev("merged", E.JOIN, 10, parents=parents, children=("merged",), component="merge")
    drops = [ev(p, E.DROP, 10) for p in parents]  # after the JOIN: not linked to it
    send = ev("merged", E.SEND, 11)
    repo.register([*receives, join, *drops, send])
    j = str(join.event_id)

    graph = repo.lineage("p1")  # from one parent: the child and its other parents
    assert flowfiles(graph) == {"merged", *parents}
    got = links(graph)
    for parent, receive, drop in zip(parents, receives, drops, strict=True):
        assert (str(receive.event_id), j, parent) in got
        assert (str(receive.event_id), str(drop.event_id), parent) in got
        assert (str(drop.event_id), j, parent) not in got
    assert ("merged", j, "merged") in got
    assert (j, str(send.event_id), "merged") in got
    assert links(repo.lineage("merged")) == got


def test_walk_is_transitive_and_bounded(repo: SqliteProvenanceRepository) -> None:
    # a --CLONE--> b ; a, x --JOIN--> m ; m --FORK--> y, z
    repo.register(
        [
            ev("a", E.CREATE, 0),
            ev("a", E.CLONE, 1, parents=("a",), children=("b",)),
            ev("b", E.DROP, 2),
            ev("x", E.CREATE, 0),
            ev("m", E.JOIN, 3, parents=("a", "x"), children=("m",)),
            ev("m", E.FORK, 4, parents=("m",), children=("y", "z")),
            ev("y", E.SEND, 5),
            ev("z", E.SEND, 5),
            ev("unrelated", E.CREATE, 0),
        ]
    )
    assert flowfiles(repo.lineage("z")) == {"a", "b", "x", "m", "y", "z"}
    assert flowfiles(repo.lineage("b")) == {"a", "b", "x", "m", "y", "z"}
    assert flowfiles(repo.lineage("unrelated")) == {"unrelated"}
    small = repo.lineage("a", max_flowfiles=3)
    assert len(flowfiles(small)) == 3 and "a" in flowfiles(small)
    every = node_ids(small)
    assert all(link["source"] in every and link["target"] in every for link in small["links"])


def test_unknown_uuid_gives_an_empty_graph(repo: SqliteProvenanceRepository) -> None:
    assert repo.lineage("nobody") == {"nodes": [], "links": []}
    repo.register([ev("a", E.CREATE, 0)])
    assert repo.lineage("nobody") == {"nodes": [], "links": []}


def test_a_child_whose_own_events_are_gone_still_shows(repo: SqliteProvenanceRepository) -> None:
    fork = ev("p", E.FORK, 0, parents=("p",), children=("gone",))
    repo.register([fork])
    graph = repo.lineage("gone")
    assert flowfiles(graph) == {"p", "gone"}
    assert (str(fork.event_id), "gone", "gone") in links(graph)
