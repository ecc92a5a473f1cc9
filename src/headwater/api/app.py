"""``create_app``: the hub's FastAPI application over one FlowController.

Routes live in one module per concept (status, processors, queues, provenance); this
module wires them under ``/api/v1``, puts the bearer-token check on every route but
health, and turns errors into ``{"detail": "..."}`` answers people can act on:
``ApiError`` keeps its 4xx, a failed or closed repository is a 503, and invalid
parameters are a 422 whose detail names each parameter and what was wrong with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse

from headwater.api import agents as agents_api
from headwater.api import c2, processors, provenance, queues, site_to_site, status
from headwater.api.agents_identity import AgentAuthenticator, KnownAgents
from headwater.api.agents_registry import AgentRegistry
from headwater.api.dependencies import BearerToken, site_to_site_sender
from headwater.engine.controller import FlowController
from headwater.errors import ApiError, ConfigurationError, RepositoryError
from headwater.web import jobs
from headwater.web.options import WebOptions
from headwater.web.static import mount_ui

API_PREFIX = "/api/v1"

_DESCRIPTION = """\
The headwater hub: the running flow's status, its queues, and provenance — search
events, draw a FlowFile's lineage, download content as it was at any event.

Errors answer `{"detail": "..."}` saying what was wrong and what to do. When the hub
runs with a token, every route except `/api/v1/health` needs
`Authorization: Bearer <token>`.
"""


def _version() -> str:
    try:
        return version("headwater")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def create_app(
    controller: FlowController,
    *,
    token: str | None = None,
    agents: KnownAgents | None = None,
    registry: AgentRegistry | None = None,
    web: WebOptions | None = None,
) -> FastAPI:
    """The API over ``controller``; with ``token``, every route but health needs it.

    ``agents`` (``headwater run --agents``) lists the agents allowed on C2 and
    site-to-site, each with its token or certificate; ``registry`` keeps their
    heartbeats (by default in ``<data-dir>/c2/agents.db``). ``web`` adds what the web
    UI shows beyond the flow: the dashboards over ``web.lake`` and the jobs of
    ``web.jobs``; the UI itself is always served at ``/ui/``."""
    app = FastAPI(
        title="headwater hub API",
        description=_DESCRIPTION,
        version=_version(),
        openapi_tags=[
            {"name": "status", "description": "Health and the status of the whole flow."},
            {"name": "processors", "description": "Start, stop and inspect processors."},
            {"name": "connections", "description": "Connections and their queues."},
            {"name": "provenance", "description": "Events, lineage and content downloads."},
            {"name": "flowfiles", "description": "FlowFiles by uuid."},
            {"name": "site-to-site", "description": "Transactions into the flow's input ports."},
            {"name": "agents", "description": "The agents, their heartbeats, new flows for them."},
            {"name": "c2", "description": "MiNiFi's C2 protocol: heartbeats and acknowledgements."},
            {"name": "jobs", "description": "The jobs service's jobs and runs (a proxy)."},
            {"name": "dashboards", "description": "Readings and images from the lake."},
        ],
    )
    if token is not None and not token.strip():
        raise ConfigurationError("the API token is empty: give a token, or none to switch auth off")
    app.state.controller = controller
    app.state.agent_registry = registry or AgentRegistry(controller.data_dir / "c2" / "agents.db")
    app.state.agent_authenticator = AgentAuthenticator(agents, token)
    guarded: Sequence[DependsParam] = [Depends(BearerToken(token))] if token else []
    senders = [Depends(site_to_site_sender)] if agents is not None else guarded
    app.include_router(status.health_router, prefix=API_PREFIX)
    for module in (status, processors, queues, provenance, agents_api, jobs):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=guarded)
    web = web or WebOptions()
    app.state.jobs_link = web.jobs
    if web.lake is not None:
        _add_dashboards(app, web, guarded)
    mount_ui(app)
    app.include_router(c2.router)  # NiFi's paths, no prefix; agents are checked by the routes
    app.include_router(site_to_site.router, dependencies=senders)  # NiFi's paths, no prefix,
    app.include_router(  # and under /nifi-api, where NiFi and MiNiFi clients look for them
        site_to_site.router, prefix="/nifi-api", dependencies=senders, include_in_schema=False
    )
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RepositoryError, _repository_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


def _add_dashboards(app: FastAPI, web: WebOptions, guarded: Sequence[DependsParam]) -> None:
    """The dashboards' routes over the lake (DuckDB: imported only when asked for)."""
    from headwater.api import dashboards
    from headwater.dashboards import Lake

    assert web.lake is not None
    app.state.lake = Lake(web.lake, images=web.images)
    app.include_router(dashboards.router, prefix=API_PREFIX, dependencies=guarded)


def close_app(app: FastAPI) -> None:
    """Release what ``create_app`` opened beyond the controller and registry (the
    dashboards' DuckDB database); for servers run without lifespan events, after they
    stop. Idempotent."""
    lake = getattr(app.state, "lake", None)
    if lake is not None:
        app.state.lake = None
        lake.close()


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


async def _repository_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": f"the hub's repositories cannot answer now: {exc}; retry, or check the hub"},
        status_code=503,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe(error) for error in exc.errors()]
    return JSONResponse(
        {
            "detail": "; ".join(problems),
            "errors": [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type")}
                for e in exc.errors()
            ],
        },
        status_code=422,
    )


_PLACES = {"query": "query parameter", "path": "path parameter", "header": "header"}


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    where = _PLACES.get(loc[0], loc[0]) if loc else "request"
    name = ".".join(loc[1:])
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    text = f"{where} {name!r}: {message}" if name else f"{where}: {message}"
    if "input" in error and error["input"] is not None:
        text += f" (got {error['input']!r})"
    return text
