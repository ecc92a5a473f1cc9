"""Response shapes, for the OpenAPI document and for clients that read it.

The engine builds these dictionaries (``ProvenanceEvent.to_json``, ``node.status()``,
``connection.status()``); the models describe them and allow extra fields, so a field
the engine adds later reaches clients before this file is updated.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(BaseModel):
    status: str = Field(description="Always `ok` while the API answers.")


class Bulletin(_Open):
    time: int = Field(description="When, in milliseconds since the epoch.")
    componentId: str
    componentType: str
    level: str = Field(description="ERROR or WARNING.")
    message: str


class ProcessorStatus(_Open):
    id: str
    name: str
    type: str = Field(description="The processor type, e.g. RouteOnAttribute.")
    state: str = Field(description="RUNNING, STOPPED or DISABLED.")
    activeTasks: int
    flowFilesIn: int
    bytesIn: int
    flowFilesOut: int
    bytesOut: int
    flowFilesRemoved: int
    tasks: int
    taskMillis: int
    errors: int
    counters: dict[str, int]
    yielded: bool
    lastError: Bulletin | None = Field(description="The newest bulletin, if any.")
    bulletins: list[Bulletin] = Field(description="The newest bulletins, oldest first.")


class ConnectionStatus(_Open):
    id: str
    name: str | None
    source: str
    destination: str
    relationships: list[str]
    queuedCount: int
    queuedBytes: int
    swappedCount: int = Field(description="Queued FlowFiles swapped out to disk.")
    backPressureObjects: int = Field(description="Object threshold; 0 means none.")
    backPressureBytes: int = Field(description="Size threshold in bytes; 0 means none.")
    backPressured: bool = Field(description="Whether a threshold is reached (source paused).")
    overflowBytes: int = Field(0, description="Store-and-forward cap in bytes; 0 means none.")
    overflowObjects: int = Field(0, description="Store-and-forward cap in FlowFiles; 0: none.")
    droppedCount: int = Field(0, description="FlowFiles the cap dropped, oldest first.")
    droppedBytes: int = Field(0, description="Their bytes.")


class FlowStatus(_Open):
    flow: str
    running: bool
    fault: str | None = Field(description="The engine fault that stopped the flow, if any.")
    dataDir: str
    droppedCount: int = Field(0, description="FlowFiles every overflow cap dropped.")
    droppedBytes: int = Field(0, description="Their bytes.")
    processors: list[ProcessorStatus]
    connections: list[ConnectionStatus]


class ConnectionList(BaseModel):
    connections: list[ConnectionStatus]


class QueuedFlowFile(BaseModel):
    position: int = Field(description="1 for the FlowFile that leaves the queue next.")
    uuid: str
    filename: str
    size: int
    attributes: dict[str, str]
    entryDate: int = Field(description="When it entered the flow, millis since the epoch.")
    lineageStartDate: int
    queuedAt: int = Field(description="When it entered this queue, millis since the epoch.")
    penalized: bool


class QueueListing(BaseModel):
    connectionId: str
    queuedCount: int
    queuedBytes: int
    swappedCount: int = Field(description="FlowFiles on disk, not listed until swapped in.")
    flowFiles: list[QueuedFlowFile]


class Event(_Open):
    eventId: int
    eventType: str
    eventTime: int = Field(description="Millis since the epoch.")
    flowFileUuid: str
    componentId: str
    componentType: str
    fileSize: int
    entryDate: int
    lineageStartDate: int
    attributes: dict[str, str] = Field(description="The FlowFile's attributes after the event.")
    previousAttributes: dict[str, str] = Field(
        description="Only the attributes the event changed, with their old values."
    )
    parentUuids: list[str]
    childUuids: list[str]
    relationship: str | None
    details: str | None
    transitUri: str | None
    sourceSystemFlowFileId: str | None
    alternateIdentifierUri: str | None
    eventDuration: int
    contentAvailable: bool
    origin: str | None = Field(
        None, description="The agent that recorded the event, for events shipped from one."
    )


class EventList(BaseModel):
    events: list[Event] = Field(description="Newest first.")


class Lineage(BaseModel):
    nodes: list[dict[str, Any]] = Field(
        description="FLOWFILE nodes (id = uuid) and EVENT nodes (id = event id)."
    )
    links: list[dict[str, Any]] = Field(description="`source` → `target` node ids.")


class ErrorDetail(BaseModel):
    detail: str = Field(description="What was wrong and what to do about it.")


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description='Where: e.g. `["query", "limit"]`.')
    msg: str
    type: str


class ValidationProblem(BaseModel):
    detail: str = Field(description="Every invalid parameter, what was wrong, what came.")
    errors: list[ValidationIssue] = Field(description="The same, one item per parameter.")


INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationProblem, "description": "A parameter was invalid."}
}
"""The 422 answer of every route with parameters, as ``create_app`` shapes it."""
