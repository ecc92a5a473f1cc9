"""Provenance: events, lineage graphs, and content downloads (each one a DOWNLOAD event).

Content is served as it was at an event: ``output`` is the content after it,
``input`` the content before it (differs only for CONTENT_MODIFIED and FETCH). Content
claims are deleted once no FlowFile and no retained event points at them, so a
download of old content can find it gone: that is a 404 with the reason, not a 500.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator, WithJsonSchema

from headwater.api.dependencies import Controller
from headwater.api.responses import JsonPassthrough
from headwater.api.schemas import INVALID, ErrorDetail, Event, EventList, Lineage
from headwater.engine.controller import FlowController
from headwater.errors import ApiError, RepositoryError
from headwater.flowfile import now_millis
from headwater.provenance import ProvenanceEvent, ProvenanceEventType

router = APIRouter(tags=["provenance"], responses=INVALID)

API_COMPONENT_ID = "api"
API_COMPONENT_TYPE = "HubAPI"
_CHUNK = 256 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SQLITE_MAX = 2**63 - 1  # larger numbers cannot even be compared in SQLite
_UNSAFE_FILENAME = re.compile(r'[^\x20-\x7e]|["\\/]')


class Direction(StrEnum):
    OUTPUT = "output"
    INPUT = "input"


def _to_millis(value: object) -> object:
    """Millis since the epoch from digits or from an ISO-8601 time (UTC when no offset)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lstrip("-").isdigit():
        millis = int(text)
        if abs(millis) > _SQLITE_MAX:
            raise ValueError(f"{text} is out of range for milliseconds since the epoch")
        return millis
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "expected milliseconds since the epoch (e.g. 1714564800000) or an ISO-8601 time"
            " (e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _to_event_type(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Millis = Annotated[
    int | None,
    BeforeValidator(_to_millis),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "description": "Milliseconds since the epoch."},
                {"type": "string", "format": "date-time", "description": "ISO-8601; UTC if bare."},
            ]
        }
    ),
]
"""A time parameter: millis since the epoch or ISO-8601, validated to millis."""

EventId = Annotated[int, Path(ge=0, le=_SQLITE_MAX, description="A provenance event id.")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "Nothing of that id, or its content is gone."}
}
_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {}},
        "description": "The content bytes; the file name is in Content-Disposition.",
    },
    **_NOT_FOUND,
}


@router.get("/provenance/events", summary="Search events", response_model=EventList)
def events(
    controller: Controller,
    flowfile: Annotated[
        str | None, Query(description="Only this FlowFile's events (uuid).")
    ] = None,
    event_type: Annotated[
        ProvenanceEventType | None,
        BeforeValidator(_to_event_type),
        Query(alias="type", description="Only events of this type (any case)."),
    ] = None,
    component: Annotated[
        str | None, Query(description="Only events of this component (processor id).")
    ] = None,
    since: Annotated[
        Millis,
        Query(description="Events at or after this time: millis since the epoch or ISO-8601."),
    ] = None,
    until: Annotated[
        Millis,
        Query(description="Events at or before this time: millis since the epoch or ISO-8601."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many events.")] = 1000,
) -> JsonPassthrough:
    """Events matching every filter given, newest first."""
    if since is not None and until is not None and until < since:
        problem = f"is before 'since' ({since}); swap them"
        raise RequestValidationError(
            [{"loc": ("query", "until"), "msg": problem, "type": "value_error", "input": until}]
        )
    found = controller.repositories.provenance.query(
        flowfile=flowfile,
        event_type=event_type,
        component=component,
        since_ms=since,
        until_ms=until,
        limit=limit,
    )
    return JsonPassthrough({"events": [event.to_json() for event in found]})


def _event(controller: FlowController, event_id: int) -> ProvenanceEvent:
    event = controller.repositories.provenance.get(event_id)
    if event is None:
        raise ApiError(
            404,
            f"no provenance event {event_id}: it never existed or has aged out of retention;"
            " search with GET /api/v1/provenance/events",
        )
    return event


@router.get(
    "/provenance/events/{event_id}",
    summary="One event",
    response_model=Event,
    responses=_NOT_FOUND,
)
def event(event_id: EventId, controller: Controller) -> dict[str, Any]:
    return _event(controller, event_id).to_json()


@router.get(
    "/provenance/lineage/{uuid}",
    summary="Lineage graph of a FlowFile",
    response_model=Lineage,
    responses=_NOT_FOUND,
)
def lineage(uuid: str, controller: Controller) -> JsonPassthrough:
    """Every FlowFile joined to this one through FORK, CLONE, JOIN and REPLAY, parents
    and children, with their events: NiFi's lineage graph."""
    graph = controller.repositories.provenance.lineage(uuid)
    if not graph["nodes"]:
        raise ApiError(
            404,
            f"no provenance events for FlowFile {uuid}: check the uuid (the FlowFile's 'uuid'"
            " attribute), or its events have aged out of retention",
        )
    return JsonPassthrough(graph)


@router.get(
    "/provenance/events/{event_id}/content",
    summary="Download an event's content",
    response_class=StreamingResponse,
    responses=_CONTENT,
)
def event_content(
    event_id: EventId,
    controller: Controller,
    request: Request,
    direction: Annotated[
        Direction,
        Query(description="`output`: the content after the event; `input`: before it."),
    ] = Direction.OUTPUT,
) -> StreamingResponse:
    """The content as it was at this event; records a DOWNLOAD event."""
    return _download(controller, _event(controller, event_id), direction, str(request.url))


@router.get(
    "/flowfiles/{uuid}/content",
    summary="Download a FlowFile's content",
    response_class=StreamingResponse,
    responses=_CONTENT,
    tags=["flowfiles"],
)
def flowfile_content(uuid: str, controller: Controller, request: Request) -> StreamingResponse:
    """The content of the FlowFile as it waits in a queue, else at its newest event that
    has content; records a DOWNLOAD event. (A FlowFile a processor made from another and
    queued has no event of its own yet: the parent's FORK names it.)"""
    queued = controller.repositories.flowfiles.find(uuid)
    if queued is not None and queued[1].claim:
        queue, ff = queued
        current = ProvenanceEvent.of(  # a DOWNLOAD only carries the FlowFile to _download
            ProvenanceEventType.DOWNLOAD, ff, API_COMPONENT_ID, API_COMPONENT_TYPE, now_millis()
        )
        return _download(controller, current, Direction.OUTPUT, str(request.url), f"queue {queue}")
    history = controller.repositories.provenance.query(flowfile=uuid, limit=10_000)
    if not history:
        raise ApiError(
            404,
            f"no provenance events for FlowFile {uuid}: check the uuid, or its events have"
            " aged out of retention",
        )
    for candidate in history:
        if candidate.claim:
            return _download(controller, candidate, Direction.OUTPUT, str(request.url))
    raise ApiError(404, f"FlowFile {uuid} never had content (every event shows it empty)")


def _download(
    controller: FlowController,
    event: ProvenanceEvent,
    direction: Direction,
    uri: str,
    where: str | None = None,
) -> StreamingResponse:
    """Stream the content at ``event`` (or, with ``where``, of the FlowFile waiting
    there) and record the DOWNLOAD."""
    source = where or f"event {event.event_id}"
    if direction is Direction.OUTPUT:
        claim, offset, size = event.claim, event.offset, event.size
    else:
        claim, offset, size = event.previous_claim, event.previous_offset, event.previous_size
    if not claim:
        hint = (
            " (only CONTENT_MODIFIED and FETCH events have input content; try direction=output)"
            if direction is Direction.INPUT
            else " (the FlowFile was empty at this event)"
        )
        raise ApiError(404, f"provenance event {event.event_id} has no {direction} content{hint}")
    try:
        stream = controller.repositories.content.open(claim, offset, size)
    except (RepositoryError, OSError) as exc:
        raise ApiError(
            404,
            f"the {direction} content of {source} is no longer"
            f" available: content claim {claim} was reclaimed ({exc}); content is kept only"
            " while a FlowFile or a retained event needs it",
        ) from exc
    download = ProvenanceEvent(
        event_type=ProvenanceEventType.DOWNLOAD,
        flowfile_uuid=event.flowfile_uuid,
        component_id=API_COMPONENT_ID,
        component_type=API_COMPONENT_TYPE,
        timestamp=now_millis(),
        attributes=dict(event.attributes),
        entry_date=event.entry_date,
        lineage_start=event.lineage_start,
        size=size,
        claim=claim,
        offset=offset,
        details=f"{direction} content of {source} downloaded",
        transit_uri=uri,
    )
    try:
        controller.repositories.record([download])
    except BaseException:
        stream.close()
        raise
    filename = event.attributes.get("filename") or event.flowfile_uuid
    headers = {
        "Content-Disposition": _content_disposition(filename),
        "Content-Length": str(size),
        "X-Provenance-Event-Id": str(download.event_id),
    }
    return StreamingResponse(
        _chunks(stream), media_type="application/octet-stream", headers=headers
    )


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def _content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = _UNSAFE_FILENAME.sub("_", filename) or "content"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
