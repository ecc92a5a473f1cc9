"""C2Client: the agent's side of MiNiFi's C2 protocol over HTTP(S) (``s2s.hubhttp``).

``heartbeat`` posts a C2Heartbeat to ``/c2-protocol/heartbeat`` and returns the
operations the hub answers with (``requestedOperations``); ``acknowledge`` posts a
C2OperationAck to ``/c2-protocol/acknowledge``. Several hub URLs give failover: a hub
that cannot be reached, or answers 5xx, is skipped for the next, and the one that
answered is asked first next time. A refusal (401/403) is not failed over — another
hub would refuse the same credentials — but raised with the hub's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headwater.errors import HeadwaterError
from headwater.s2s.hubhttp import HubClient, HubUnreachable, Transport

if TYPE_CHECKING:
    import ssl

HEARTBEAT_PATH = "/c2-protocol/heartbeat"
ACKNOWLEDGE_PATH = "/c2-protocol/acknowledge"

FULLY_APPLIED = "FULLY_APPLIED"
NOT_APPLIED = "NOT_APPLIED"
OPERATION_NOT_UNDERSTOOD = "OPERATION_NOT_UNDERSTOOD"


class C2Error(HeadwaterError):
    """No hub took the request; ``refused`` when one answered 4xx (bad credentials)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Operation:
    """One C2Operation the hub asked for."""

    identifier: str
    operation: str
    operand: str
    args: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> Operation | None:
        if not isinstance(data, dict) or not isinstance(data.get("identifier"), str):
            return None
        args = data.get("args")
        return cls(
            data["identifier"],
            str(data.get("operation", "")).upper(),
            str(data.get("operand", "")).lower(),
            args if isinstance(args, dict) else {},
        )


class C2Client:
    """Heartbeats and acknowledgements to one or more hubs (``urls``, tried in turn)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 10.0,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        transport: Transport | None = None,
    ) -> None:
        if not urls:
            raise ValueError("a C2 client needs at least one hub URL")
        self.urls = [url.rstrip("/") for url in urls]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = HubClient(headers, timeout, ssl_context, transport)
        self._first = 0

    def close(self) -> None:
        self._client.close()

    def heartbeat(self, heartbeat: dict[str, Any]) -> list[Operation]:
        """Send ``heartbeat``; the operations the hub requested (unreadable ones skipped)."""
        answer = self._post(HEARTBEAT_PATH, heartbeat)
        requested = answer.get("requestedOperations") or []
        operations = [Operation.from_json(item) for item in requested]
        return [op for op in operations if op is not None]

    def acknowledge(
        self, operation_id: str, state: str, details: str, agent_id: str, flow: dict[str, Any]
    ) -> None:
        """Tell the hub how operation ``operation_id`` ended (a C2OperationAck)."""
        self._post(
            ACKNOWLEDGE_PATH,
            {
                "operationId": operation_id,
                "operationState": {"state": state, "details": details},
                "agentInfo": {"identifier": agent_id},
                "flowInfo": flow,
            },
        )

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        failures = []
        count = len(self.urls)
        for step in range(count):
            index = (self._first + step) % count
            url = self.urls[index] + path
            try:
                response = self._client.post(url, json_body=body)
            except HubUnreachable as exc:
                failures.append(f"{url}: {exc}")
                continue
            if response.status_code >= 500:
                failures.append(f"{url}: {response.status_code} {response.detail()}")
                continue
            if response.status_code >= 400:
                raise C2Error(
                    f"{url} refused: {response.status_code} {response.detail()}", refused=True
                )
            self._first = index
            try:
                data = response.json() if response.content else {}
            except ValueError:
                data = {}
            return data if isinstance(data, dict) else {}
        raise C2Error("no hub answered: " + "; ".join(failures))
