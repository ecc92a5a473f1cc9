"""The agents a hub knows, and new flows for them (under ``/api/v1``, the hub's token).

``GET /agents`` lists every agent with its last heartbeat (time, address, flow name and
version, queue depth, memory, CPU, dropped counts, the last operation and its state),
and the listed agents never heard from;
``GET /agents/{id}`` adds its recent operations. ``POST /agents/{id}/flow`` takes a
flow file (YAML as the body, or JSON ``{"flow": "..."}``), validates it here first —
a 422 listing every problem with its path and line — and queues an ``UPDATE
configuration`` the agent receives with its next heartbeat (202 with the operation).
``?validate=false`` skips the hub's check, for flows naming files only the agent has
(the agent always validates again, with its own parameters).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from headwater.api.dependencies import Authenticator, Registry
from headwater.digests import flow_version
from headwater.errors import ApiError, ConfigurationError
from headwater.flow.loader import FlowDefinitionError, load_flow

router = APIRouter(tags=["agents"])

MAX_FLOW_BYTES = 1024 * 1024


@router.get("/agents", summary="Every agent and its last heartbeat")
def agents(registry: Registry, authenticator: Authenticator) -> dict[str, Any]:
    """Agents that sent heartbeats, and those of the agents list that never did
    (``lastHeartbeat: null``); ``listed`` says whether each is in the list."""
    known = authenticator.known
    seen = registry.agents()
    silent = set(known.tokens if known is not None else ()) - {a["id"] for a in seen}
    out = seen + [{"id": agent_id, "lastHeartbeat": None} for agent_id in silent]
    for entry in out:
        entry["listed"] = None if known is None else entry["id"] in known
    return {"agents": sorted(out, key=lambda a: str(a["id"]))}


@router.get("/agents/{agent_id}", summary="One agent, its last heartbeat and operations")
def agent(agent_id: str, registry: Registry) -> dict[str, Any]:
    found = registry.agent(agent_id)
    if found is None:
        raise ApiError(404, f"no agent {agent_id!r} has sent a heartbeat to this hub")
    return {**found, "operations": registry.operations(agent_id)}


@router.post(
    "/agents/{agent_id}/flow",
    status_code=202,
    summary="Send an agent a new flow (validated here first)",
    response_model=None,
)
async def push_flow(
    agent_id: str,
    request: Request,
    registry: Registry,
    authenticator: Authenticator,
    validate: Annotated[bool, Query(description="check the flow on the hub first")] = True,
) -> JSONResponse:
    text = await _flow_text(request)
    listed = authenticator.known is not None and agent_id in authenticator.known
    if not listed and not registry.known(agent_id):
        raise ApiError(
            404,
            f"no agent {agent_id!r}: it has sent no heartbeat and is not in the agents list",
        )
    if validate:
        problems = await run_in_threadpool(_problems, text)
        if problems:
            return JSONResponse(
                {
                    "detail": "the flow is invalid; nothing was sent: "
                    + "; ".join(p["problem"] for p in problems),
                    "errors": problems,
                },
                status_code=422,
            )
    version = flow_version(text)  # as the agent versions it
    operation = registry.queue_operation(
        agent_id, "UPDATE", "configuration", {"flow": text, "version": version}
    )
    return JSONResponse(operation, status_code=202)


async def _flow_text(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_FLOW_BYTES:
        raise ApiError(413, f"a flow of {len(body)} bytes is over the {MAX_FLOW_BYTES} limit")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the flow is not UTF-8 text") from None
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ApiError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("flow"), str):
            raise ApiError(400, 'a JSON body is {"flow": "<the flow file as text>"}')
        text = data["flow"]
    if not text.strip():
        raise ApiError(400, "the body is empty: send the flow file (YAML) as the body")
    return text


def _problems(text: str) -> list[dict[str, Any]]:
    # A newline keeps load_flow from reading a one-line body as a path on the hub.
    try:
        load_flow(text if "\n" in text else text + "\n")
    except ConfigurationError as exc:
        lines = exc if isinstance(exc, FlowDefinitionError) else None
        return [
            {
                "path": p.path,
                "message": p.message,
                "hint": p.hint,
                "line": lines.line_of(p.path) if lines is not None else None,
                "problem": str(p),
            }
            for p in exc.problems
        ]
    return []
