"""Component state: a small string map a processor keeps across runs and restarts.

ListFile remembers what it already listed; NiFi calls this the state manager (local
scope). It lives in the FlowFile repository's database, so it is as durable as the
queues.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from headwater.repository.flowfile import SqliteFlowFileRepository


class StateMap:
    """Get and set one component's state; ``replace`` only if nobody changed it since."""

    def __init__(self, component_id: str, repository: SqliteFlowFileRepository) -> None:
        self.component_id = component_id
        self._repository = repository
        self._lock = threading.Lock()
        self._state = repository.load_state(component_id)

    def get(self) -> dict[str, str]:
        with self._lock:
            return dict(self._state)

    def set(self, state: Mapping[str, str]) -> None:
        with self._lock:
            self._repository.save_state(self.component_id, dict(state))
            self._state = dict(state)

    def replace(self, expected: Mapping[str, str], state: Mapping[str, str]) -> bool:
        with self._lock:
            if dict(expected) != self._state:
                return False
            self._repository.save_state(self.component_id, dict(state))
            self._state = dict(state)
            return True

    def clear(self) -> None:
        self.set({})
