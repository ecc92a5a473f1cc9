"""StateMap: a component's string map, durable in the FlowFile repository."""

from __future__ import annotations

from pathlib import Path

from headwater.engine.state import StateMap
from headwater.repository.flowfile import SqliteFlowFileRepository


def reopen(directory: Path, component: str = "lister") -> tuple[StateMap, SqliteFlowFileRepository]:
    repo = SqliteFlowFileRepository(directory)
    return StateMap(component, repo), repo


def test_state_starts_empty_and_get_returns_a_copy(tmp_path: Path) -> None:
    state, repo = reopen(tmp_path)
    try:
        assert state.get() == {}
        state.set({"a": "1"})
        copy = state.get()
        copy["a"] = "changed"
        assert state.get() == {"a": "1"}
    finally:
        repo.close()


def test_set_replace_clear_persist_across_reopen(tmp_path: Path) -> None:
    state, repo = reopen(tmp_path)
    state.set({"last": "10", "count": "2"})
    repo.close()

    state, repo = reopen(tmp_path)
    assert state.get() == {"last": "10", "count": "2"}
    assert state.replace({"last": "10", "count": "2"}, {"last": "20"})
    repo.close()

    state, repo = reopen(tmp_path)
    assert state.get() == {"last": "20"}
    state.clear()
    repo.close()

    state, repo = reopen(tmp_path)
    try:
        assert state.get() == {}
    finally:
        repo.close()


def test_replace_refuses_when_state_changed_since(tmp_path: Path) -> None:
    state, repo = reopen(tmp_path)
    state.set({"v": "1"})
    assert not state.replace({"v": "0"}, {"v": "2"})
    assert state.get() == {"v": "1"}
    repo.close()

    state, repo = reopen(tmp_path)
    try:
        assert state.get() == {"v": "1"}, "a refused replace is not persisted"
        assert state.replace({"v": "1"}, {"v": "2"})
        assert not state.replace({"v": "1"}, {"v": "3"})
        assert state.get() == {"v": "2"}
    finally:
        repo.close()


def test_components_have_separate_state(tmp_path: Path) -> None:
    repo = SqliteFlowFileRepository(tmp_path)
    try:
        one, two = StateMap("one", repo), StateMap("two", repo)
        one.set({"k": "1"})
        two.set({"k": "2"})
        assert StateMap("one", repo).get() == {"k": "1"}
        assert StateMap("two", repo).get() == {"k": "2"}
        one.clear()
        assert StateMap("two", repo).get() == {"k": "2"}
    finally:
        repo.close()
