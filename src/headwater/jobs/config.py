"""The jobs service's configuration (``jobs.yaml``), checked whole at load.

::

    data-dir: ./headwater-data/jobs     # the SQLite store and the runs' logs (relative
                                        # paths are relative to this file's folder)
    base-url: http://jobs.example:8082  # for the url/html_url fields (default: where it listens)
    max-concurrent-runs: 2              # more runs wait in `scheduling` (default 0: no limit)
    spark:
      master: local[*]                  # or spark://host:7077, yarn, k8s://...
      local-ip: 127.0.0.1               # SPARK_LOCAL_IP of every run
      conf: {spark.ui.enabled: "false"}
    smtp: {host: 127.0.0.1, port: 25, sender: jobs@example.com}  # reports; optional
    users:
      tspann: {name: Timothy Spann, email: t@example.com, api-key: KEY}
    projects:
      tspann/edge-to-ai: {name: Edge to AI, directory: jobs}   # where the scripts live
    jobs:
      - {project: tspann/edge-to-ai, name: sensors, script: sensors.py, kernel: pyspark,
         cpu: 1, memory: 2, timeout: 30, schedule: "0 * * * *",
         report: {recipients: [ops@example.com], attachments: [out/sensors.html]}}

A job's settings are checked by ``headwater.jobs.spec`` (the API holds a posted job to
the same rules). Like the flow file, loading collects every problem, each with its
path, before failing (``ConfigurationError``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from headwater.errors import ConfigurationError, Problem
from headwater.jobs.spec import JobSpec, env_value, kind_of, parse_job

TOP_LEVEL: tuple[str, ...] = (
    *("data-dir", "base-url", "max-concurrent-runs", "spark", "smtp", "users", "projects"),
    "jobs",
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class User:
    username: str
    api_key: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class ProjectSpec:
    owner: str
    slug: str
    name: str
    directory: Path | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "headwater-jobs@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[*]"
    local_ip: str = "127.0.0.1"
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobsConfig:
    data_dir: Path
    base_url: str = ""
    spark: SparkSettings = field(default_factory=SparkSettings)
    smtp: SmtpSettings | None = None
    users: tuple[User, ...] = ()
    projects: tuple[ProjectSpec, ...] = ()
    jobs: tuple[tuple[str, JobSpec], ...] = ()  # (owner/slug, job)
    max_concurrent_runs: int = 0  # 0: no limit


def load_config(path: str | Path) -> JobsConfig:
    """``jobs.yaml``, or ``ConfigurationError`` with every problem."""
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read {source}: {exc}") from exc
    return parse_config({} if data is None else data, source.resolve().parent)


def parse_config(data: Any, base: Path) -> JobsConfig:
    """The configuration in ``data``; relative paths are relative to ``base``."""
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"expected a mapping at the top, got {kind_of(data)}")
    problems: list[Problem] = []
    known = TOP_LEVEL
    for key in data:
        if key not in known:
            problems.append(Problem(str(key), "unknown setting", f"known: {', '.join(known)}"))
    data_dir = base / str(data.get("data-dir", "headwater-data/jobs"))
    concurrent = data.get("max-concurrent-runs", 0)
    if isinstance(concurrent, bool) or not isinstance(concurrent, int) or concurrent < 0:
        hint = "0 for no limit"
        problems.append(
            Problem("max-concurrent-runs", f"expected a whole number, got {concurrent!r}", hint)
        )
        concurrent = 0
    spark = _section(data, "spark", ("master", "local-ip", "conf"), problems)
    conf = spark.get("conf", {})
    if not isinstance(conf, Mapping):
        problems.append(Problem("spark.conf", "expected a mapping of Spark settings"))
        conf = {}
    spark_settings = SparkSettings(
        str(spark.get("master", "local[*]")),
        str(spark.get("local-ip", "127.0.0.1")),
        {str(k): env_value(v) for k, v in conf.items()},
    )
    smtp_settings = None
    if "smtp" in data:
        smtp = _section(
            data, "smtp", ("host", "port", "sender", "username", "password", "starttls"), problems
        )
        port = smtp.get("port", 25)
        if not isinstance(port, int) or not 0 < port < 65536:
            problems.append(Problem("smtp.port", f"expected a port number, got {port!r}"))
            port = 25
        smtp_settings = SmtpSettings(
            str(smtp.get("host", "127.0.0.1")),
            port,
            str(smtp.get("sender", "headwater-jobs@localhost")),
            str(smtp.get("username", "")),
            str(smtp.get("password", "")),
            bool(smtp.get("starttls", False)),
        )
    users = []
    keys: set[str] = set()
    for username, user in _section(data, "users", None, problems).items():
        at = f"users.{username}"
        if not NAME.match(str(username)):
            problems.append(Problem(at, "a user name is letters, digits, '.', '_' or '-'"))
        if not isinstance(user, Mapping) or not isinstance(user.get("api-key"), str):
            problems.append(Problem(f"{at}.api-key", "is required (the user's API key)"))
            continue
        if user["api-key"] in keys:
            problems.append(Problem(f"{at}.api-key", "is already another user's key"))
        keys.add(user["api-key"])
        users.append(
            User(
                str(username),
                user["api-key"],
                str(user.get("name", "")),
                str(user.get("email", "")),
            )
        )
    names = {u.username for u in users}
    projects = []
    for ident, project in _section(data, "projects", None, problems).items():
        at = f"projects.{ident}"
        owner, _, slug = str(ident).partition("/")
        if owner not in names or not NAME.match(slug):
            problems.append(Problem(at, "expected OWNER/SLUG with OWNER one of the users"))
            continue
        project = project if isinstance(project, Mapping) else {}
        directory = project.get("directory")
        folder = None if directory is None else (base / str(directory)).resolve()
        if folder is not None and not folder.is_dir():
            problems.append(Problem(f"{at}.directory", f"no such folder: {folder}"))
        projects.append(ProjectSpec(owner, slug, str(project.get("name", slug)), folder))
    folders = {f"{p.owner}/{p.slug}": p.directory for p in projects}
    jobs: list[tuple[str, JobSpec]] = []
    listed = data.get("jobs", [])
    if not isinstance(listed, list):
        problems.append(Problem("jobs", "expected a list of jobs"))
        listed = []
    for index, item in enumerate(listed):
        at = f"jobs[{index}]"
        project_id = item.get("project") if isinstance(item, Mapping) else None
        if project_id not in folders:
            problems.append(
                Problem(f"{at}.project", f"expected one of the projects, got {project_id!r}")
            )
        spec, found = parse_job(item, at)
        problems.extend(found)
        if spec is not None and project_id in folders:
            folder = folders[project_id]
            if folder is not None and not (folder / spec.script).is_file():
                problems.append(Problem(f"{at}.script", f"no such file: {folder / spec.script}"))
            jobs.append((str(project_id), spec))
    if problems:
        raise ConfigurationError(problems)
    return JobsConfig(
        data_dir,
        str(data.get("base-url", "")).rstrip("/"),
        spark_settings,
        smtp_settings,
        tuple(users),
        tuple(projects),
        tuple(jobs),
        concurrent,
    )


def _section(
    data: Mapping[str, Any], key: str, known: tuple[str, ...] | None, problems: list[Problem]
) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(Problem(key, f"expected a mapping, got {kind_of(value)}"))
        return {}
    for name in value:
        if known is not None and name not in known:
            hint = f"known: {', '.join(known)}"
            problems.append(Problem(f"{key}.{name}", "unknown setting", hint))
    return value
