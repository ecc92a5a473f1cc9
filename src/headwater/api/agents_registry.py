"""AgentRegistry: what the hub knows of its agents, kept in SQLite so it outlives a restart.

Per agent: its last heartbeat (time, address, flow name and version, queue depth,
memory, CPU, dropped counts, the whole heartbeat as sent). Per operation (a C2
``UPDATE configuration`` queued by ``POST /api/v1/agents/{id}/flow``): its state,
QUEUED until a heartbeat carries it to the agent, then DELIVERED, then what the agent
acknowledged (FULLY_APPLIED, NOT_APPLIED, ...) with its details. Queuing a new flow
for an agent cancels the flows still waiting for it (CANCELLED): only the newest
matters. A DELIVERED operation not acknowledged within ``redeliver_after`` seconds is
sent again (the agent recognises it and acknowledges again, without applying twice).

The database is ``<data-dir>/c2/agents.db`` (WAL); one connection behind a lock,
since heartbeats are few and small.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from headwater.errors import RepositoryError

QUEUED, DELIVERED, CANCELLED = "QUEUED", "DELIVERED", "CANCELLED"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent (
    id TEXT PRIMARY KEY, first_seen INTEGER, last_seen INTEGER, address TEXT,
    heartbeat TEXT
);
CREATE TABLE IF NOT EXISTS operation (
    id TEXT PRIMARY KEY, agent TEXT, operation TEXT, operand TEXT, args TEXT,
    state TEXT, details TEXT, created INTEGER, updated INTEGER, delivered INTEGER
);
CREATE INDEX IF NOT EXISTS operation_agent ON operation (agent, created);
"""


def _millis() -> int:
    return int(time.time() * 1000)


class AgentRegistry:
    """Agents' heartbeats and the operations queued for them (see module doc)."""

    def __init__(self, path: Path | str, *, redeliver_after: float = 30.0) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.redeliver_after = redeliver_after
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot open the agent registry {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._transaction([(sql, params)])[-1]

    def _transaction(
        self, statements: list[tuple[str, tuple[Any, ...]]]
    ) -> list[list[tuple[Any, ...]]]:
        """Run ``statements`` as one transaction; the rows each returned."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = [self._db.execute(sql, p).fetchall() for sql, p in statements]
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out
        except sqlite3.Error as exc:
            raise RepositoryError(f"the agent registry failed: {exc}") from exc

    # -- heartbeats ------------------------------------------------------------------

    def heartbeat(
        self, agent_id: str, address: str, heartbeat: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Record a heartbeat; the operations to send the agent in the answer."""
        now = _millis()
        stale = now - int(self.redeliver_after * 1000)
        due = "agent = ? AND (state = ? OR (state = ? AND delivered < ?))"
        _, rows, _ = self._transaction(
            [
                (
                    "INSERT INTO agent (id, first_seen, last_seen, address, heartbeat)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                    " last_seen = excluded.last_seen, address = excluded.address,"
                    " heartbeat = excluded.heartbeat",
                    (agent_id, now, now, address, json.dumps(heartbeat)),
                ),
                (
                    f"SELECT id, operation, operand, args FROM operation WHERE {due}"
                    " ORDER BY created",
                    (agent_id, QUEUED, DELIVERED, stale),
                ),
                (
                    f"UPDATE operation SET state = ?, delivered = ?, updated = ? WHERE {due}",
                    (DELIVERED, now, now, agent_id, QUEUED, DELIVERED, stale),
                ),
            ]
        )
        return [
            {"identifier": i, "operation": op, "operand": operand, "args": json.loads(args)}
            for i, op, operand, args in rows
        ]

    def known(self, agent_id: str) -> bool:
        return bool(self._execute("SELECT 1 FROM agent WHERE id = ?", (agent_id,)))

    # -- operations ------------------------------------------------------------------

    def queue_operation(
        self, agent_id: str, operation: str, operand: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        """Queue an operation for ``agent_id``, cancelling its same kind still waiting."""
        now, op_id = _millis(), str(uuid.uuid4())
        replaced = (f"replaced by operation {op_id}", agent_id, operation, operand)
        self._transaction(
            [
                (
                    "UPDATE operation SET state = ?, updated = ?, details = ? WHERE agent = ?"
                    " AND operation = ? AND operand = ? AND state IN (?, ?)",
                    (CANCELLED, now, *replaced, QUEUED, DELIVERED),
                ),
                (
                    "INSERT INTO operation (id, agent, operation, operand, args, state,"
                    " details, created, updated, delivered)"
                    " VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, 0)",
                    (op_id, agent_id, operation, operand, json.dumps(args), QUEUED, now, now),
                ),
            ]
        )
        found = self.operation(op_id)
        assert found is not None
        return found

    def acknowledge(
        self,
        agent_id: str,
        operation_id: str,
        state: str,
        details: str,
        flow: dict[str, Any] | None = None,
    ) -> bool:
        """Record the agent's answer, and the flow it runs since (``flowInfo``, so the
        listing shows a new flow before the next heartbeat); False when the agent has
        no such operation."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                "UPDATE operation SET state = ?, details = ?, updated = ?"
                " WHERE id = ? AND agent = ? RETURNING id",
                (state, details, _millis(), operation_id, agent_id),
            )
        ]
        if flow is not None:
            statements.append(
                (
                    "UPDATE agent SET heartbeat = json_set(heartbeat, '$.flowInfo', json(?))"
                    " WHERE id = ? AND EXISTS (SELECT 1 FROM operation WHERE id = ? AND agent = ?)",
                    (json.dumps(flow), agent_id, operation_id, agent_id),
                )
            )
        return bool(self._transaction(statements)[0])

    def operation(self, operation_id: str) -> dict[str, Any] | None:
        rows = self._execute(_OPERATION_SELECT + " WHERE id = ?", (operation_id,))
        return _operation_json(rows[0]) if rows else None

    def operations(self, agent_id: str, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._execute(
            _OPERATION_SELECT + " WHERE agent = ? ORDER BY created DESC LIMIT ?",
            (agent_id, limit),
        )
        return [_operation_json(row) for row in rows]

    # -- listing ---------------------------------------------------------------------

    def agents(self) -> list[dict[str, Any]]:
        rows = self._execute(
            "SELECT id, first_seen, last_seen, address, heartbeat FROM agent ORDER BY id"
        )
        return [self._agent_json(*row) for row in rows]

    def agent(self, agent_id: str) -> dict[str, Any] | None:
        rows = self._execute(
            "SELECT id, first_seen, last_seen, address, heartbeat FROM agent WHERE id = ?",
            (agent_id,),
        )
        return self._agent_json(*rows[0]) if rows else None

    def _agent_json(
        self, agent_id: str, first_seen: int, last_seen: int, address: str, heartbeat: str
    ) -> dict[str, Any]:
        beat = _mapping(json.loads(heartbeat))  # as the agent sent it: trust no shape
        agent_info = _mapping(beat.get("agentInfo"))
        status = _mapping(agent_info.get("status"))
        resources = _mapping(status.get("resourceConsumption"))
        flow = _mapping(beat.get("flowInfo"))
        queues = {k: _mapping(q) for k, q in _mapping(flow.get("queues")).items()}
        dropped = _mapping(flow.get("dropped"))
        latest = self.operations(agent_id, 1)
        return {
            "id": agent_id,
            "agentClass": agent_info.get("agentClass"),
            "address": address,
            "firstSeen": first_seen,
            "lastHeartbeat": last_seen,
            "secondsSinceHeartbeat": round((_millis() - last_seen) / 1000, 1),
            "flowName": flow.get("flowName"),
            "flowVersion": flow.get("flowId"),
            "running": flow.get("running"),
            "queuedCount": sum(_number(q.get("size")) for q in queues.values()),
            "queuedBytes": sum(_number(q.get("dataSize")) for q in queues.values()),
            "queues": queues,
            "rssBytes": resources.get("memoryUsage"),
            "cpuPercent": resources.get("cpuUtilization"),
            "uptimeMillis": status.get("uptime"),
            "droppedCount": _number(dropped.get("total")),
            "dropped": _mapping(dropped.get("connections")),
            "orphanedQueues": _mapping(flow.get("orphanedQueues")),
            "lastOperation": latest[0] if latest else None,
        }


def _mapping(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _number(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


_OPERATION_SELECT = (
    "SELECT id, agent, operation, operand, args, state, details, created, updated FROM operation"
)


def _operation_json(row: tuple[Any, ...]) -> dict[str, Any]:
    op_id, agent, operation, operand, args, state, details, created, updated = row
    version = json.loads(args).get("version")
    return {
        "identifier": op_id,
        "agent": agent,
        "operation": operation,
        "operand": operand,
        "flowVersion": version,
        "state": state,
        "details": details,
        "created": created,
        "updated": updated,
    }
