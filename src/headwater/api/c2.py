"""C2 for agents: MiNiFi's C2 protocol resources, at the root as NiFi serves them.

``POST /c2-protocol/heartbeat`` takes a C2Heartbeat (the agent's id in
``agentInfo.identifier``; its flow, queues and resource use — see
``headwater.agent.heartbeat``), records it in the AgentRegistry and answers a
C2HeartbeatResponse whose ``requestedOperations`` hold what was queued for the agent
(``UPDATE configuration`` with args ``flow`` and ``version``). ``POST
/c2-protocol/acknowledge`` takes a C2OperationAck (``operationId``,
``operationState: {state, details}``) and records how the operation ended. Who may
call is decided by the AgentAuthenticator (per-agent token or client certificate, see
``agents_identity``); a malformed message is a 400 naming what was wrong.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from headwater.api.dependencies import Authenticator, Registry
from headwater.errors import ApiError

log = logging.getLogger("headwater.api.c2")

router = APIRouter(prefix="/c2-protocol", tags=["c2"])

ACK_STATES = (
    "FULLY_APPLIED",
    "PARTIALLY_APPLIED",
    "OPERATION_NOT_UNDERSTOOD",
    "NOT_APPLIED",
    "IN_PROGRESS",
)

JsonBody = Annotated[dict[str, Any], Body()]


def _claimed_id(body: dict[str, Any]) -> str | None:
    info = body.get("agentInfo")
    if info is None:
        return None
    identifier = info.get("identifier") if isinstance(info, dict) else None
    if not isinstance(identifier, str) or not identifier.strip():
        raise ApiError(400, "agentInfo.identifier: expected the agent's id as a string")
    return identifier


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/heartbeat", summary="An agent's heartbeat, answered with its operations")
def heartbeat(
    body: JsonBody, request: Request, registry: Registry, authenticator: Authenticator
) -> dict[str, Any]:
    claimed = _claimed_id(body)
    agent = authenticator.identify(request, claimed, agent_only=True)
    if agent is None:
        raise ApiError(400, "the heartbeat names no agent: send agentInfo.identifier")
    body.setdefault("agentInfo", {})["identifier"] = agent
    if not registry.known(agent):
        log.info("agent %r: first heartbeat, from %s", agent, _address(request))
    operations = registry.heartbeat(agent, _address(request), body)
    for operation in operations:
        log.info(
            "agent %r: sending operation %s (%s %s)",
            agent,
            operation["identifier"],
            operation["operation"],
            operation["operand"],
        )
    return {"operation": "heartbeat", "requestedOperations": operations}


@router.post("/acknowledge", summary="How an operation ended on the agent")
def acknowledge(
    body: JsonBody, request: Request, registry: Registry, authenticator: Authenticator
) -> dict[str, Any]:
    operation_id = body.get("operationId")
    if not isinstance(operation_id, str) or not operation_id:
        raise ApiError(400, "operationId: expected the id of the operation acknowledged")
    state_info = body.get("operationState")
    state = state_info.get("state") if isinstance(state_info, dict) else None
    if state not in ACK_STATES:
        raise ApiError(
            400, f"operationState.state: expected one of {', '.join(ACK_STATES)}, got {state!r}"
        )
    assert isinstance(state_info, dict)
    details = str(state_info.get("details") or "")
    agent = authenticator.identify(request, _claimed_id(body), agent_only=True)
    if agent is None:
        raise ApiError(400, "the acknowledgement names no agent: send agentInfo.identifier")
    flow = body.get("flowInfo")
    flow = flow if isinstance(flow, dict) else None
    if not registry.acknowledge(agent, operation_id, str(state), details, flow):
        raise ApiError(404, f"agent {agent!r} has no operation {operation_id!r}")
    level = logging.INFO if state == "FULLY_APPLIED" else logging.WARNING
    log.log(level, "agent %r: operation %s %s: %s", agent, operation_id, state, details)
    return {"operationId": operation_id, "state": state}
