"""The CDSW Jobs API v1 over a ``JobsService`` (FastAPI).

HTTP Basic authentication with the user's API key as the user name and an empty
password, as CDSW does; a user may act on the projects they own. Every refusal is
JSON ``{"message": ..., "status": ...}`` with a 4xx code and the reason: a wrong key
is 401, another's project 403, an unknown or deleted job 404, a malformed body 400.

::

    GET  /api/v1/users/{user}                              the user
    GET  /api/v1/users/{user}/projects                     their projects
    POST /api/v1/users/{user}/projects                     {"name": ..., "slug": ...}
    GET  /api/v1/projects/{user}/{project}                 a project
    GET  /api/v1/projects/{user}/{project}/jobs            its jobs
    POST /api/v1/projects/{user}/{project}/jobs            a new job (CDSW's settings)
    GET|DELETE .../jobs/{id}                               a job (with its latest run)
    POST .../jobs/{id}/start   {"environment": {...}}?     the job with its new run
    POST .../jobs/{id}/stop                                stop the latest run in flight
    GET  .../jobs/{id}/runs[/{run}[/log]]                  run history, one run, its log
    GET  /api/v1/projects/{user}/{project}/dashboards/{run}  the job with that run as latest
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater.errors import ApiError
from headwater.jobs.config import NAME
from headwater.jobs.service import JobsService
from headwater.jobs.shapes import job_json, project_json, run_json, user_json
from headwater.jobs.spec import parse_job
from headwater.jobs.store import IN_FLIGHT, JobRow, ProjectRow, RunRow, UserRow

PREFIX = "/api/v1"


def create_app(service: JobsService) -> FastAPI:
    """The jobs service's ASGI app."""
    app = FastAPI(title="headwater jobs", description=__doc__, version="1")

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return _error(404 if "path" in where else 400, f"bad request: {where}")

    def base(request: Request) -> str:
        return service.base_url or str(request.base_url).rstrip("/")

    def user_of(request: Request) -> UserRow:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic" or not token:
            raise ApiError(401, "authenticate with HTTP Basic: your API key as the user name")
        try:
            key, _, _ = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "the Authorization header is not valid HTTP Basic") from None
        user = service.store.user_by_key(key)
        if user is None:
            raise ApiError(401, "unknown API key")
        return user

    def project_of(request: Request, owner: str, slug: str) -> tuple[UserRow, ProjectRow]:
        user = user_of(request)
        project = service.store.project(owner, slug)
        if project is None:
            raise ApiError(404, f"no project {owner}/{slug}")
        if project.owner != user.username:
            raise ApiError(403, f"{user.username} may not use {owner}/{slug}")
        return user, project

    def job_of(request: Request, owner: str, slug: str, job_id: int) -> tuple[ProjectRow, JobRow]:
        _, project = project_of(request, owner, slug)
        job = service.store.job(job_id, deleted=True) if 0 < job_id < 2**63 else None
        if job is None or job.project_id != project.id:
            raise ApiError(404, f"no job {job_id} in {owner}/{slug}")
        if job.deleted:
            raise ApiError(404, f"job {job_id} of {owner}/{slug} was deleted")
        return project, job

    def whole_job(
        request: Request, project: ProjectRow, job: JobRow, latest: RunRow | None
    ) -> dict[str, Any]:
        fresh = service.store.job(job.id, deleted=True) or job
        owner = service.store.user(project.owner) or _ghost(project.owner)
        creator = service.store.user(fresh.creator) or _ghost(fresh.creator)
        return job_json(fresh, project, owner, creator, latest, base(request))

    @app.get(PREFIX + "/users/{username}")
    def get_user(request: Request, username: str) -> dict[str, Any]:
        user_of(request)
        user = service.store.user(username)
        if user is None:
            raise ApiError(404, f"no user {username}")
        return user_json(user, base(request))

    @app.get(PREFIX + "/users/{username}/projects")
    def list_projects(request: Request, username: str) -> list[dict[str, Any]]:
        user = user_of(request)
        if username != user.username:
            raise ApiError(403, f"{user.username} may not list the projects of {username}")
        return [project_json(p, user, base(request)) for p in service.store.projects(username)]

    @app.post(PREFIX + "/users/{username}/projects", status_code=201)
    async def create_project(request: Request, username: str) -> dict[str, Any]:
        user = user_of(request)
        if username != user.username:
            raise ApiError(403, f"{user.username} may not make projects for {username}")
        body = await _body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "name: is required (the project's name)")
        slug = body.get("slug") or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if not isinstance(slug, str) or not NAME.match(slug):
            raise ApiError(400, f"slug: expected letters, digits, '.', '_' or '-', got {slug!r}")
        if service.store.project(username, slug) is not None:
            raise ApiError(409, f"project {username}/{slug} exists already")
        project = service.ensure_project(username, slug, name)
        return project_json(project, user, base(request))

    @app.get(PREFIX + "/projects/{owner}/{slug}")
    def get_project(request: Request, owner: str, slug: str) -> dict[str, Any]:
        user, project = project_of(request, owner, slug)
        return project_json(project, user, base(request))

    @app.get(PREFIX + "/projects/{owner}/{slug}/jobs")
    def list_jobs(request: Request, owner: str, slug: str) -> list[dict[str, Any]]:
        _, project = project_of(request, owner, slug)
        return [
            whole_job(request, project, job, service.store.latest_run(job.id))
            for job in service.store.jobs(project.id)
        ]

    @app.post(PREFIX + "/projects/{owner}/{slug}/jobs", status_code=201)
    async def create_job(request: Request, owner: str, slug: str) -> dict[str, Any]:
        user, project = project_of(request, owner, slug)
        spec, problems = parse_job(await _body(request))
        if spec is None:
            raise ApiError(400, "; ".join(str(p) for p in problems))
        if not (Path(project.directory) / spec.script).is_file():
            raise ApiError(400, f"script: no such file in the project: {spec.script}")
        job = service.create_job(project, spec, user.username)
        return whole_job(request, project, job, None)

    @app.get(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}")
    def get_job(request: Request, owner: str, slug: str, job_id: int) -> dict[str, Any]:
        project, job = job_of(request, owner, slug, job_id)
        return whole_job(request, project, job, service.store.latest_run(job.id))

    @app.delete(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}", status_code=204)
    def delete_job(request: Request, owner: str, slug: str, job_id: int) -> Response:
        _, job = job_of(request, owner, slug, job_id)
        service.delete_job(job)
        return Response(status_code=204)

    @app.post(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}/start")
    async def start_job(request: Request, owner: str, slug: str, job_id: int) -> dict[str, Any]:
        project, job = job_of(request, owner, slug, job_id)
        body = await _body(request)
        unknown = sorted(set(body) - {"environment"})
        if unknown:
            raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; a start takes environment")
        environment = body.get("environment") or {}
        if not isinstance(environment, dict) or not all(
            isinstance(v, str | int | float | bool) for v in environment.values()
        ):
            raise ApiError(400, "environment: expected a mapping of names to text")
        run = service.start_job(job, {str(k): str(v) for k, v in environment.items()})
        return whole_job(request, project, job, run)

    @app.post(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}/stop")
    def stop_job(request: Request, owner: str, slug: str, job_id: int) -> dict[str, Any]:
        project, job = job_of(request, owner, slug, job_id)
        running = [r for r in service.store.runs(job.id, 1000) if r.status in IN_FLIGHT]
        if not running:
            raise ApiError(409, f"job {job_id} has no run in flight to stop")
        for run in running:
            service.runner.stop(run.id)
        return whole_job(request, project, job, service.store.run(running[0].id))

    @app.get(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}/runs")
    def list_runs(
        request: Request, owner: str, slug: str, job_id: int, limit: int = 100
    ) -> list[dict[str, Any]]:
        project, job = job_of(request, owner, slug, job_id)
        return [run_json(r, project, base(request)) for r in service.store.runs(job.id, limit)]

    def run_of(
        request: Request, owner: str, slug: str, job_id: int, run_id: str
    ) -> tuple[ProjectRow, RunRow]:
        project, job = job_of(request, owner, slug, job_id)
        run = service.store.run(run_id)
        if run is None or run.job_id != job.id:
            raise ApiError(404, f"no run {run_id} of job {job_id}")
        return project, run

    @app.get(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}/runs/{run_id}")
    def get_run(
        request: Request, owner: str, slug: str, job_id: int, run_id: str
    ) -> dict[str, Any]:
        project, run = run_of(request, owner, slug, job_id, run_id)
        return run_json(run, project, base(request))

    @app.get(PREFIX + "/projects/{owner}/{slug}/jobs/{job_id}/runs/{run_id}/log")
    def get_log(request: Request, owner: str, slug: str, job_id: int, run_id: str) -> Response:
        _, run = run_of(request, owner, slug, job_id, run_id)
        try:
            text = Path(run.log_path).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            text = ""
        return PlainTextResponse(text)

    @app.get(PREFIX + "/projects/{owner}/{slug}/dashboards/{run_id}")
    def get_dashboard(request: Request, owner: str, slug: str, run_id: str) -> dict[str, Any]:
        _, project = project_of(request, owner, slug)
        run = service.store.run(run_id)
        job = None if run is None else service.store.job(run.job_id, deleted=True)
        if run is None or job is None or job.project_id != project.id:
            raise ApiError(404, f"no run {run_id} in {owner}/{slug}")
        return whole_job(request, project, job, run)

    return app


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent, ``{}`` for an empty body; 400 for anything else."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"expected a JSON object, got {type(body).__name__}")
    return body


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "status": status}, status_code=status)


def _ghost(username: str) -> UserRow:
    """A user no longer in the configuration, still named by old jobs."""
    return UserRow(0, username, "", username, "")
