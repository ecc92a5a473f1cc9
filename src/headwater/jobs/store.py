"""``JobStore``: users, projects, jobs and runs in SQLite (WAL), so a restart keeps them.

A run's row is written before its process starts and updated at each status, so
whatever the service was doing when it died is visible at the next start: ``open``
marks the runs still in flight as ``failed`` with the reason, and hands back their
process ids so the service can end engines that outlived it.
"""

from __future__ import annotations

import secrets
import sqlite3
import string
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from headwater.errors import RepositoryError
from headwater.jobs.config import User
from headwater.jobs.spec import JobSpec

IN_FLIGHT = ("scheduling", "starting", "running", "stopping")
FINISHED = ("succeeded", "failed", "stopped", "timedout")
_ALPHABET = string.ascii_lowercase + string.digits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, api_key TEXT NOT NULL,
    name TEXT NOT NULL, email TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, slug TEXT NOT NULL, name TEXT NOT NULL,
    directory TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (owner, slug));
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, creator TEXT NOT NULL,
    spec TEXT NOT NULL, total_runs INTEGER NOT NULL DEFAULT 0,
    total_failures INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, job_id INTEGER NOT NULL,
    status TEXT NOT NULL, oom_killed INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    starting_at TEXT, running_at TEXT, finished_at TEXT, exit_code INTEGER,
    reason TEXT NOT NULL DEFAULT '', log_path TEXT NOT NULL, environment TEXT NOT NULL,
    pid INTEGER, pid_started REAL);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job_id, seq);
"""


def now() -> str:
    """CDSW's timestamp form: ``2019-02-13T13:04:28.961Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    api_key: str
    name: str
    email: str


@dataclass(frozen=True)
class ProjectRow:
    id: int
    owner: str
    slug: str
    name: str
    directory: str
    created_at: str


@dataclass(frozen=True)
class JobRow:
    id: int
    project_id: int
    creator: str
    spec: JobSpec
    total_runs: int
    total_failures: int
    created_at: str
    updated_at: str
    deleted: bool


@dataclass(frozen=True)
class RunRow:
    id: str
    job_id: int
    status: str
    oom_killed: bool
    created_at: str
    starting_at: str | None
    running_at: str | None
    finished_at: str | None
    exit_code: int | None
    reason: str
    log_path: str
    environment: dict[str, str]
    pid: int | None
    pid_started: float | None

    @property
    def duration(self) -> float | None:
        """Seconds from the start call to the end (``None`` while in flight)."""
        return seconds_between(self.created_at, self.finished_at)


class JobStore:
    """One SQLite file; every method is one short transaction under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise RepositoryError(f"cannot open the jobs store {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise RepositoryError(f"the jobs store {self.path} failed: {exc}") from exc

    def fail_in_flight(self, reason: str) -> list[RunRow]:
        """Mark every run left in flight by a previous service ``failed``; return them."""
        with self._tx() as db:
            rows = db.execute(
                f"SELECT * FROM runs WHERE status IN ({','.join('?' * len(IN_FLIGHT))})", IN_FLIGHT
            ).fetchall()
            stamp = now()
            for row in rows:
                db.execute(
                    "UPDATE runs SET status='failed', finished_at=?, reason=? WHERE id=?",
                    (stamp, reason, row["id"]),
                )
                db.execute(
                    "UPDATE jobs SET total_failures = total_failures + 1 WHERE id=?",
                    (row["job_id"],),
                )
        return [_run(row) for row in rows]

    # users and projects
    def sync_users(self, users: Iterable[User]) -> None:
        with self._tx() as db:
            for user in users:
                db.execute(
                    "INSERT INTO users (username, api_key, name, email) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (username) DO UPDATE SET api_key=excluded.api_key,"
                    " name=excluded.name, email=excluded.email",
                    (user.username, user.api_key, user.name, user.email),
                )

    def user_by_key(self, api_key: str) -> UserRow | None:
        row = self._one("SELECT * FROM users WHERE api_key=?", (api_key,))
        return None if row is None else UserRow(**dict(row))

    def user(self, username: str) -> UserRow | None:
        row = self._one("SELECT * FROM users WHERE username=?", (username,))
        return None if row is None else UserRow(**dict(row))

    def ensure_project(self, owner: str, slug: str, name: str, directory: str) -> ProjectRow:
        with self._tx() as db:
            db.execute(
                "INSERT INTO projects (owner, slug, name, directory, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, slug) DO UPDATE SET"
                " name=excluded.name, directory=excluded.directory",
                (owner, slug, name, directory, now()),
            )
        project = self.project(owner, slug)
        assert project is not None
        return project

    def project(self, owner: str, slug: str) -> ProjectRow | None:
        row = self._one("SELECT * FROM projects WHERE owner=? AND slug=?", (owner, slug))
        return None if row is None else ProjectRow(**dict(row))

    def project_by_id(self, project_id: int) -> ProjectRow | None:
        row = self._one("SELECT * FROM projects WHERE id=?", (project_id,))
        return None if row is None else ProjectRow(**dict(row))

    def projects(self, owner: str) -> list[ProjectRow]:
        rows = self._all("SELECT * FROM projects WHERE owner=? ORDER BY id", (owner,))
        return [ProjectRow(**dict(row)) for row in rows]

    # jobs
    def create_job(self, project_id: int, spec: JobSpec, creator: str) -> JobRow:
        stamp = now()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO jobs (project_id, creator, spec, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (project_id, creator, orjson.dumps(spec.to_dict()).decode(), stamp, stamp),
            )
            job_id = cursor.lastrowid
        job = self.job(int(job_id or 0))
        assert job is not None
        return job

    def put_job(self, project_id: int, spec: JobSpec, creator: str) -> JobRow:
        """Create the job named ``spec.name`` in the project, or update its settings."""
        row = self._one(
            "SELECT id FROM jobs WHERE project_id=? AND deleted=0"
            " AND json_extract(spec, '$.name')=? ORDER BY id LIMIT 1",
            (project_id, spec.name),
        )
        if row is None:
            return self.create_job(project_id, spec, creator)
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET spec=?, updated_at=? WHERE id=?",
                (orjson.dumps(spec.to_dict()).decode(), now(), row["id"]),
            )
        job = self.job(row["id"])
        assert job is not None
        return job

    def job(self, job_id: int, *, deleted: bool = False) -> JobRow | None:
        row = self._one("SELECT * FROM jobs WHERE id=?", (job_id,))
        if row is None or (row["deleted"] and not deleted):
            return None
        return _job(row)

    def jobs(self, project_id: int | None = None) -> list[JobRow]:
        if project_id is None:
            rows = self._all("SELECT * FROM jobs WHERE deleted=0 ORDER BY id", ())
        else:
            rows = self._all(
                "SELECT * FROM jobs WHERE project_id=? AND deleted=0 ORDER BY id", (project_id,)
            )
        return [_job(row) for row in rows]

    def delete_job(self, job_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET deleted=1, updated_at=? WHERE id=?", (now(), job_id))

    # runs
    def create_run(self, job_id: int, environment: dict[str, str], log_dir: Path) -> RunRow:
        """A new run in ``scheduling``; ``total_runs`` counts it."""
        run_id = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        log_path = str(log_dir / f"{run_id}.log")
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, job_id, status, created_at, log_path, environment)"
                " VALUES (?, ?, 'scheduling', ?, ?, ?)",
                (run_id, job_id, now(), log_path, orjson.dumps(environment).decode()),
            )
            db.execute("UPDATE jobs SET total_runs = total_runs + 1 WHERE id=?", (job_id,))
        run = self.run(run_id)
        assert run is not None
        return run

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of a run (status, timings, pid...); a ``failed`` or ``timedout``
        end counts in the job's ``total_failures``."""
        columns = ", ".join(f"{name}=?" for name in fields)
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {columns} WHERE id=?", (*fields.values(), run_id))
            if fields.get("status") in ("failed", "timedout"):
                db.execute(
                    "UPDATE jobs SET total_failures = total_failures + 1"
                    " WHERE id=(SELECT job_id FROM runs WHERE id=?)",
                    (run_id,),
                )

    def mark_stopping(self, run_id: str) -> None:
        """``stopping``, unless the run has already ended."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status='stopping' WHERE id=? AND status IN"
                " ('scheduling', 'starting', 'running')",
                (run_id,),
            )

    def run(self, run_id: str) -> RunRow | None:
        row = self._one("SELECT * FROM runs WHERE id=?", (run_id,))
        return None if row is None else _run(row)

    def runs(self, job_id: int, limit: int = 100) -> list[RunRow]:
        """The job's runs, newest first."""
        rows = self._all(
            "SELECT * FROM runs WHERE job_id=? ORDER BY seq DESC LIMIT ?", (job_id, limit)
        )
        return [_run(row) for row in rows]

    def latest_run(self, job_id: int) -> RunRow | None:
        found = self.runs(job_id, 1)
        return found[0] if found else None

    def _one(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()


def _job(row: sqlite3.Row) -> JobRow:
    values = dict(row)
    values["spec"] = JobSpec.from_dict(orjson.loads(values["spec"]))
    values["deleted"] = bool(values["deleted"])
    return JobRow(**values)


def _run(row: sqlite3.Row) -> RunRow:
    values = dict(row)
    del values["seq"]
    values["oom_killed"] = bool(values["oom_killed"])
    values["environment"] = orjson.loads(values["environment"])
    return RunRow(**values)
