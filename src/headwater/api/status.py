"""Health and the flow's status: every processor and every connection."""

from __future__ import annotations

from fastapi import APIRouter

from headwater.api.dependencies import Controller
from headwater.api.responses import JsonPassthrough
from headwater.api.schemas import FlowStatus, Health

health_router = APIRouter(tags=["status"])
router = APIRouter(tags=["status"])


@health_router.get("/health", summary="Liveness", response_model=Health)
def health() -> dict[str, str]:
    """Answers `ok` while the API is up; needs no token, for load balancers and probes."""
    return {"status": "ok"}


@router.get("/status", summary="Flow status", response_model=FlowStatus)
def status(controller: Controller) -> JsonPassthrough:
    """Every processor (state, FlowFiles and bytes in and out, tasks, last error and
    bulletins) and every connection (queued count and bytes, back pressure)."""
    return JsonPassthrough(controller.status())
