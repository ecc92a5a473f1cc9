"""``/api/v1/jobs...``: the jobs of one project, proxied to the jobs service.

The browser holds only the hub's token; the hub holds the jobs service's API key
(``JobsLink``) and speaks CDSW's Jobs API v1 to it (HTTP Basic, the key as the user
name). Answers keep the jobs service's shapes; its refusals come back as the hub's
``{"detail": ...}`` with the same 4xx, and a jobs service that cannot be reached is a
503 saying so. Without a ``JobsLink`` every route is a 404 "no jobs service linked".
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from headwater.errors import ApiError
from headwater.web.options import JobsLink

router = APIRouter(prefix="/jobs", tags=["jobs"])

TIMEOUT = httpx.Timeout(10.0, connect=3.0)

JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A job id of the project.")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,100}$", description="A run id.")]


def jobs_link(request: Request) -> JobsLink:
    """The app's JobsLink; 404 when the hub was started without one."""
    link: JobsLink | None = getattr(request.app.state, "jobs_link", None)
    if link is None:
        raise ApiError(
            404,
            "no jobs service linked: start the hub with --jobs-url, --jobs-key and"
            " --jobs-project (headwater up does)",
        )
    return link


Link = Annotated[JobsLink, Depends(jobs_link)]


class JobsClient:
    """One call to the jobs service, with its errors translated to the hub's."""

    def __init__(self, link: JobsLink) -> None:
        self.link = link
        basic = base64.b64encode(f"{link.api_key}:".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}"}
        self._project = f"/api/v1/projects/{link.owner}/{link.slug}"

    async def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        url = self.link.url + self._project + path
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, headers=self._headers) as client:
                response = await client.request(method, url, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise ApiError(
                503, f"the jobs service at {self.link.url} did not answer in time ({exc!r})"
            ) from exc
        except httpx.HTTPError as exc:
            raise ApiError(
                503,
                f"the jobs service at {self.link.url} cannot be reached: {exc}; is it"
                " running? (headwater jobs serve, or headwater up)",
            ) from exc
        if response.status_code >= 400:
            raise ApiError(*self._refusal(response))
        return response

    def _refusal(self, response: httpx.Response) -> tuple[int, str]:
        try:
            message = str(response.json().get("message") or response.text)
        except ValueError:
            message = response.text.strip() or response.reason_phrase
        code = response.status_code
        if code in (401, 403):
            return 502, (
                f"the jobs service refused the hub's key for {self.link.project} ({code}:"
                f" {message}); check --jobs-key and --jobs-project"
            )
        if code >= 500:
            return 502, f"the jobs service failed ({code}): {message}"
        return code, f"jobs service: {message}"


def _client(link: Link) -> JobsClient:
    return JobsClient(link)


Client = Annotated[JobsClient, Depends(_client)]


@router.get("", summary="The project's jobs, each with its latest run")
async def jobs(client: Client) -> dict[str, Any]:
    """``{"project": "owner/slug", "jobs": [...]}``, each job in CDSW's shape."""
    found = (await client.call("GET", "/jobs")).json()
    return {"project": client.link.project, "url": client.link.url, "jobs": found}


@router.get("/{job_id}/runs", summary="A job's runs, newest first")
async def runs(
    job_id: JobId,
    client: Client,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many runs.")] = 100,
) -> dict[str, Any]:
    """Each run with its status, ``created_at``, ``running_at``, ``finished_at`` and
    ``duration`` in seconds (null while in flight)."""
    found = (await client.call("GET", f"/jobs/{job_id}/runs", params={"limit": limit})).json()
    return {"job": job_id, "runs": found}


@router.post("/{job_id}/start", summary="Start a run of a job")
async def start(job_id: JobId, client: Client) -> Any:
    """The job with its new run as ``latest``."""
    return (await client.call("POST", f"/jobs/{job_id}/start", json={})).json()


@router.get(
    "/{job_id}/runs/{run_id}/log",
    summary="A run's log",
    response_class=PlainTextResponse,
)
async def log(job_id: JobId, run_id: RunId, client: Client) -> PlainTextResponse:
    answer = await client.call("GET", f"/jobs/{job_id}/runs/{run_id}/log")
    return PlainTextResponse(answer.text)
