"""``JobsService``: the store, the runner, the cron scheduler and the reports, together.

Opening it settles what a previous service left: runs still in flight are marked
``failed`` with the reason (and engines that outlived it are ended), the users and
projects of the configuration are written, and its jobs are created or updated by
name. Nothing here imports the flow engine: the jobs service is a server of its own.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from pathlib import Path
from typing import IO

from headwater.errors import RepositoryError
from headwater.jobs.config import JobsConfig
from headwater.jobs.reports import Reporter
from headwater.jobs.runner import Runner, find_java, kill_leftover
from headwater.jobs.scheduler import CronScheduler
from headwater.jobs.spec import JobSpec
from headwater.jobs.store import JobRow, JobStore, ProjectRow, RunRow, now

log = logging.getLogger(__name__)


class JobsService:
    """Everything behind the API; ``base_url`` fills the url fields of its answers."""

    def __init__(self, config: JobsConfig, base_url: str = "") -> None:
        self.config = config
        self.base_url = config.base_url or base_url
        self.data_dir = config.data_dir
        self._lock_file = _lock(self.data_dir)
        self.store = JobStore(self.data_dir / "jobs.sqlite")
        left = self.store.fail_in_flight(
            f"the jobs service stopped while this run was in flight (found at its restart, {now()})"
        )
        for run in left:
            kill_leftover(run)
        self.recovered = len(left)
        self.java, self.java_message = find_java()
        self.store.sync_users(config.users)
        for project in config.projects:
            self.ensure_project(project.owner, project.slug, project.name, project.directory)
        for ident, spec in config.jobs:
            owner, _, slug = ident.partition("/")
            found = self.store.project(owner, slug)
            assert found is not None
            self.store.put_job(found.id, spec, owner)
        self.reporter = Reporter(config.smtp) if config.smtp is not None else None
        self.runner = Runner(
            self.store,
            config.spark,
            self.data_dir / "logs",
            self._finished,
            max_concurrent=config.max_concurrent_runs,
        )
        self.scheduler = CronScheduler(self.store, lambda job: self._scheduled(job))
        self._stopped = False

    def ensure_project(
        self, owner: str, slug: str, name: str, directory: Path | None = None
    ) -> ProjectRow:
        """The project, made if new; its scripts live in ``directory`` (default: a
        folder of its own under the data directory)."""
        folder = directory or self.data_dir / "projects" / owner / slug
        folder.mkdir(parents=True, exist_ok=True)
        return self.store.ensure_project(owner, slug, name, str(folder))

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        """Stop the schedules and every run in flight (each recorded ``stopped``); once."""
        if self._stopped:
            return
        self._stopped = True
        self.scheduler.stop()
        self.runner.shutdown()
        if self.reporter is not None:
            self.reporter.flush()
        self.store.close()
        self._lock_file.close()

    def create_job(self, project: ProjectRow, spec: JobSpec, creator: str) -> JobRow:
        job = self.store.create_job(project.id, spec, creator)
        self.scheduler.changed()
        return job

    def delete_job(self, job: JobRow) -> None:
        for run in self.store.runs(job.id, 1000):
            self.runner.stop(run.id)
        self.store.delete_job(job.id)
        self.scheduler.changed()

    def start_job(self, job: JobRow, environment: dict[str, str] | None = None) -> RunRow:
        project = self.store.project_by_id(job.project_id)
        assert project is not None
        return self.runner.start(job, project, environment or {})

    def _scheduled(self, job: JobRow) -> None:
        run = self.start_job(job)
        log.info("cron started job %s (%s): run %s", job.id, job.spec.name, run.id)

    def _finished(self, run: RunRow) -> None:
        duration = "" if run.duration is None else f" after {run.duration:.1f} s"
        reason = f": {run.reason}" if run.reason else ""
        log.info("run %s of job %s %s%s%s", run.id, run.job_id, run.status, duration, reason)
        if self.reporter is None:
            return
        job = self.store.job(run.job_id, deleted=True)
        project = None if job is None else self.store.project_by_id(job.project_id)
        if job is None or project is None:
            return
        self.reporter.report(job, project, run, self.store.user(job.creator))

    def describe(self) -> list[str]:
        """One line each: where the data lives, Java and Spark, what was recovered."""
        spark = self.config.spark
        lines = [
            f"jobs data: {self.data_dir} (store {self.store.path})",
            f"spark master: {spark.master}; SPARK_LOCAL_IP={spark.local_ip}",
            self.java_message,
        ]
        if not python_has_pyspark():
            lines.append(f"pyspark is not installed for {sys.executable}: pyspark jobs will fail")
        if self.recovered:
            lines.append(
                f"{self.recovered} run(s) left in flight by the last service marked failed"
            )
        jobs = self.store.jobs()
        listed = ", ".join(f"{j.id} {j.spec.name} ({j.spec.kernel})" for j in jobs)
        lines.append(f"jobs: {listed or 'none yet (create them over the API)'}")
        if self.java is None and any(j.spec.kernel == "pyspark" for j in jobs):
            lines.append("warning: pyspark jobs will fail until Java is installed")
        return lines


def _lock(data_dir: Path) -> IO[str]:
    """Hold ``data_dir/jobs.lock``: a second service on the same data would take the
    first one's runs for leftovers of a crash and end them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "jobs.lock", "a+", encoding="utf-8")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RepositoryError(
            f"another jobs service ({holder}) uses {data_dir}; stop it, or give this one"
            " another data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def python_has_pyspark() -> bool:
    """Whether the engines' Python can import pyspark (found, not imported: it is slow)."""
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None
