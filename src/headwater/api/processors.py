"""Processors: one processor's status, and starting or stopping it.

Ids are taken as ``{id:path}`` so an id holding ``/`` works written plainly or
percent-encoded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from headwater.api.dependencies import Controller
from headwater.api.schemas import INVALID, ErrorDetail, ProcessorStatus

router = APIRouter(prefix="/processors", tags=["processors"], responses=INVALID)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No processor has this id."}
}


@router.post(
    "/{processor_id:path}/start",
    summary="Start a processor",
    response_model=ProcessorStatus,
    responses=_NOT_FOUND,
)
def start_processor(processor_id: str, controller: Controller) -> dict[str, Any]:
    """Schedule the processor again (a disabled one stays disabled); answers its status."""
    controller.start_processor(processor_id)
    return controller.node(processor_id).status()


@router.post(
    "/{processor_id:path}/stop",
    summary="Stop a processor",
    response_model=ProcessorStatus,
    responses=_NOT_FOUND,
)
def stop_processor(processor_id: str, controller: Controller) -> dict[str, Any]:
    """Stop scheduling the processor and wait for its running tasks to finish; its
    input queues keep what they hold. Answers its status."""
    controller.stop_processor(processor_id)
    return controller.node(processor_id).status()


@router.get(
    "/{processor_id:path}",
    summary="Processor status",
    response_model=ProcessorStatus,
    responses=_NOT_FOUND,
)
def processor_status(processor_id: str, controller: Controller) -> dict[str, Any]:
    return controller.node(processor_id).status()
