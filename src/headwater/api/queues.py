"""Connections: their status and a listing of what their queues hold.

Connection ids look like ``source/relationship,relationship/destination``, so routes
take them as ``{id:path}``: ``/connections/gen/success/route/flowfiles`` and the
percent-encoded ``/connections/gen%2Fsuccess%2Froute/flowfiles`` both work.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from headwater.api.dependencies import Controller
from headwater.api.responses import JsonPassthrough
from headwater.api.schemas import (
    INVALID,
    ConnectionList,
    ConnectionStatus,
    ErrorDetail,
    QueueListing,
)
from headwater.engine.controller import FlowController
from headwater.engine.node import Connection
from headwater.errors import ApiError

router = APIRouter(prefix="/connections", tags=["connections"], responses=INVALID)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No connection has this id."}
}


def _connection(controller: FlowController, connection_id: str) -> Connection:
    try:
        return controller.connections[connection_id]
    except KeyError:
        known = ", ".join(controller.connections) or "none"
        raise ApiError(
            404, f"no connection {connection_id!r}; the flow's connections are: {known}"
        ) from None


@router.get("", summary="Every connection's status", response_model=ConnectionList)
def connections(controller: Controller) -> dict[str, Any]:
    return {"connections": [c.status() for c in controller.connections.values()]}


@router.get(
    "/{connection_id:path}/flowfiles",
    summary="List a queue",
    response_model=QueueListing,
    responses=_NOT_FOUND,
)
def queue_listing(
    connection_id: str,
    controller: Controller,
    limit: Annotated[
        int, Query(ge=1, le=10_000, description="List at most this many FlowFiles.")
    ] = 100,
) -> JsonPassthrough:
    """The FlowFiles that leave the queue next, in order (penalized ones last). Only the
    part of the queue in memory is listed; `swappedCount` says how many wait on disk."""
    queue = _connection(controller, connection_id).queue
    now = time.monotonic()
    flowfiles = [
        {
            "position": position,
            "uuid": ff.uuid,
            "filename": ff.filename,
            "size": ff.size,
            "attributes": dict(ff.attributes),
            "entryDate": ff.entry_date,
            "lineageStartDate": ff.lineage_start,
            "queuedAt": ff.queued_at,
            "penalized": ff.is_penalized(now),
        }
        for position, ff in enumerate(queue.listing(limit), 1)
    ]
    return JsonPassthrough(
        {
            "connectionId": connection_id,
            "queuedCount": queue.count,
            "queuedBytes": queue.bytes,
            "swappedCount": queue.swapped,
            "flowFiles": flowfiles,
        }
    )


@router.get(
    "/{connection_id:path}",
    summary="One connection's status",
    response_model=ConnectionStatus,
    responses=_NOT_FOUND,
)
def connection_status(connection_id: str, controller: Controller) -> dict[str, Any]:
    return _connection(controller, connection_id).status()
