"""The JSON the Jobs API answers with, in CDSW's shapes.

``job_json`` is the shape of ``seed/cdsw_job_start_response.json`` key for key, in
its order and with its types: clients written for CDSW (the seed's flow flattens it
and puts it through a Jolt spec into the ``jobstatus`` Avro schema) read it unchanged.
So ``latest`` carries only CDSW's keys; the run history (``run_json``) has the rest:
timings, duration, exit code, reason and the log's address. CDSW counts ``memory``
in whole GB and ``timeout`` in whole minutes: finer settings are rounded up here.
"""

from __future__ import annotations

from typing import Any

from headwater.jobs.scheduler import english_schedule
from headwater.jobs.spec import whole
from headwater.jobs.store import JobRow, ProjectRow, RunRow, UserRow, seconds_between

ENGINE_IMAGE_ID = 1


def user_json(user: UserRow, base: str) -> dict[str, Any]:
    """A user as CDSW's ``creator``."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "url": f"{base}/api/v1/users/{user.username}",
        "html_url": f"{base}/{user.username}",
    }


def owner_json(user: UserRow, base: str) -> dict[str, Any]:
    """A user as CDSW's project ``owner`` (its keys in another order than ``creator``)."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "url": f"{base}/api/v1/users/{user.username}",
        "html_url": f"{base}/{user.username}",
    }


def project_json(project: ProjectRow, owner: UserRow, base: str) -> dict[str, Any]:
    slug = f"{project.owner}/{project.slug}"
    return {
        "id": project.id,
        "slug": slug,
        "name": project.name,
        "owner": owner_json(owner, base),
        "url": f"{base}/api/v1/projects/{slug}",
        "html_url": f"{base}/{slug}",
    }


def latest_json(run: RunRow, project: ProjectRow, base: str) -> dict[str, Any]:
    """A run as a job's ``latest``."""
    slug = f"{project.owner}/{project.slug}"
    return {
        "id": run.id,
        "batch": True,
        "job_id": run.job_id,
        "status": run.status,
        "oomKilled": run.oom_killed,
        "created_at": run.created_at,
        "scheduling_at": run.created_at,
        "url": f"{base}/api/v1/projects/{slug}/dashboards/{run.id}",
        "html_url": f"{base}/{slug}/engines/{run.id}",
        "shared_view_visibility": "private",
        "k8s": {},
    }


def run_json(run: RunRow, project: ProjectRow, base: str) -> dict[str, Any]:
    """A run in the history: ``latest``'s keys, then timings, exit code, reason, log."""
    slug = f"{project.owner}/{project.slug}"
    return {
        **latest_json(run, project, base),
        "starting_at": run.starting_at,
        "running_at": run.running_at,
        "finished_at": run.finished_at,
        "duration": run.duration,
        "run_duration": seconds_between(run.running_at, run.finished_at),
        "exit_code": run.exit_code,
        "reason": run.reason,
        "log_url": f"{base}/api/v1/projects/{slug}/jobs/{run.job_id}/runs/{run.id}/log",
    }


def job_json(
    job: JobRow,
    project: ProjectRow,
    owner: UserRow,
    creator: UserRow,
    latest: RunRow | None,
    base: str,
) -> dict[str, Any]:
    """The whole job, with its ``latest`` run (``None`` before its first)."""
    spec = job.spec
    slug = f"{project.owner}/{project.slug}"
    return {
        "id": job.id,
        "name": spec.name,
        "script": spec.script,
        "cpu": whole(spec.cpu),
        "memory": whole(spec.memory),
        "nvidia_gpu": spec.nvidia_gpu,
        "engine_image_id": ENGINE_IMAGE_ID,
        "kernel": spec.kernel,
        "englishSchedule": english_schedule(spec.schedule),
        "timezone": spec.timezone,
        "total_runs": job.total_runs,
        "total_failures": job.total_failures,
        "paused": spec.paused,
        "type": spec.type,
        "creator": user_json(creator, base),
        "project": project_json(project, owner, base),
        "environment": dict(spec.environment),
        "latest": None if latest is None else latest_json(latest, project, base),
        "report": {
            "attachments": list(spec.attachments),
            "include_logs": spec.include_logs,
            "send_from_creator": spec.send_from_creator,
        },
        "timeout": whole(None if spec.timeout is None else spec.timeout / 60),
        "timeout_kill": spec.timeout_kill,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "shared_view_visibility": "private",
        "url": f"{base}/api/v1/projects/{slug}/jobs/{job.id}",
        "html_url": f"{base}/{slug}/jobs/{job.id}",
        "engine_id": None if latest is None else latest.id,
    }
