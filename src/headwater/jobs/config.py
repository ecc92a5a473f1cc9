"""The jobs service's configuration (``jobs.yaml``) and a job's settings, checked whole.

::

    data-dir: ./headwater-data/jobs     # the SQLite store and the runs' logs (relative
                                        # paths are relative to this file's folder)
    base-url: http://jobs.example:8082  # for the url/html_url fields (default: where it listens)
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

A job's settings use CDSW's names: ``cpu`` (vCPUs: Spark's ``local[n]`` and the cores
the run may use), ``memory`` (GB, or a size such as ``512 MB``), ``timeout`` (minutes,
or a period such as ``90 sec``), ``timeout_kill``, ``schedule`` (cron), ``timezone``,
``environment``. Like the flow file, loading collects every problem, each with its
path, before failing (``ConfigurationError``); the API checks a posted job with the
same code, so a file and a request are held to the same rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import croniter

from headwater.errors import ConfigurationError, Problem
from headwater.units import parse_data_size, parse_duration

KERNELS = ("python3", "pyspark")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
GB = 1024**3


@dataclass(frozen=True)
class JobSpec:
    """What a job runs and how; ``timeout`` in seconds (``None``: none), ``memory`` in GB."""

    name: str
    script: str
    kernel: str = "python3"
    cpu: float = 1.0
    memory: float = 1.0
    nvidia_gpu: int = 0
    timeout: float | None = None
    timeout_kill: bool = False
    schedule: str = ""
    timezone: str = "UTC"
    environment: dict[str, str] = field(default_factory=dict)
    recipients: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    include_logs: bool = True
    send_from_creator: bool = False
    paused: bool = False

    @property
    def type(self) -> str:
        """CDSW's job type: ``cron`` when scheduled, else ``manual``."""
        return "cron" if self.schedule else "manual"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        values = dict(data)
        values["recipients"] = tuple(values.get("recipients", ()))
        values["attachments"] = tuple(values.get("attachments", ()))
        return cls(**values)


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


JOB_KEYS = (
    *("name", "script", "kernel", "cpu", "memory", "nvidia_gpu", "timeout", "timeout_kill"),
    *("schedule", "timezone", "environment", "report", "recipients", "attachments"),
    *("include_logs", "send_from_creator", "paused", "type"),
)


def parse_job(data: Any, path: str = "") -> tuple[JobSpec | None, list[Problem]]:
    """A job's settings from a mapping (YAML or a request body), with every problem."""
    at = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    if not isinstance(data, Mapping):
        return None, [Problem(path, f"expected a mapping of job settings, got {_kind(data)}")]
    problems = [
        Problem(at(key), "unknown job setting", f"known: {', '.join(JOB_KEYS)}")
        for key in data
        if key not in JOB_KEYS and key != "project"
    ]
    values: dict[str, Any] = {}

    def text(key: str, required: bool = False) -> None:
        value = data.get(key)
        if value is None:
            if required:
                problems.append(Problem(at(key), "is required"))
        elif not isinstance(value, str) or (required and not value.strip()):
            problems.append(Problem(at(key), f"expected text, got {value!r}"))
        else:
            values[key] = value

    def flag(key: str) -> None:
        if key in data:
            if isinstance(data[key], bool):
                values[key] = data[key]
            else:
                problems.append(Problem(at(key), f"expected true or false, got {data[key]!r}"))

    text("name", required=True)
    text("script", required=True)
    text("schedule")
    text("timezone")
    for key in ("timeout_kill", "include_logs", "send_from_creator", "paused"):
        flag(key)
    script = values.get("script", "")
    if script and (Path(script).is_absolute() or ".." in Path(script).parts):
        problems.append(Problem(at("script"), "must be a path inside the project's folder"))
    kernel = data.get("kernel", "python3")
    if kernel not in KERNELS:
        problems.append(
            Problem(at("kernel"), f"expected one of {', '.join(KERNELS)}, got {kernel!r}")
        )
    values["kernel"] = kernel
    cpu = data.get("cpu", 1)
    if isinstance(cpu, bool) or not isinstance(cpu, int | float) or not 0 < cpu <= 256:
        problems.append(Problem(at("cpu"), f"expected a number of vCPUs above 0, got {cpu!r}"))
    else:
        values["cpu"] = float(cpu)
    memory = _memory_gb(data.get("memory", 1))
    if memory is None:
        problems.append(
            Problem(
                at("memory"),
                f"expected GB above 0 or a size such as '512 MB', got {data.get('memory')!r}",
            )
        )
    else:
        values["memory"] = memory
    gpus = data.get("nvidia_gpu", 0)
    if gpus != 0:
        problems.append(
            Problem(at("nvidia_gpu"), f"this service has no GPUs; expected 0, got {gpus!r}")
        )
    if data.get("timeout") not in (None, "", 0):
        seconds = _timeout_seconds(data["timeout"])
        if seconds is None:
            problems.append(
                Problem(
                    at("timeout"),
                    f"expected minutes or a period such as '90 sec', got {data['timeout']!r}",
                )
            )
        values["timeout"] = seconds
    schedule = values.get("schedule", "")
    if schedule and not croniter.is_valid(schedule):
        problems.append(
            Problem(at("schedule"), f"not a cron expression: {schedule!r}", "e.g. '*/5 * * * *'")
        )
    zone = values.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem(at("timezone"), f"unknown time zone {zone!r}", "e.g. 'America/New_York'")
        )
    environment = data.get("environment", {})
    if not isinstance(environment, Mapping) or not all(isinstance(k, str) for k in environment):
        problems.append(
            Problem(at("environment"), "expected a mapping of variable names to values")
        )
    else:
        values["environment"] = {k: _env_value(v) for k, v in environment.items()}
    report = data.get("report", {})
    if not isinstance(report, Mapping):
        problems.append(Problem(at("report"), f"expected a mapping, got {_kind(report)}"))
        report = {}
    for key in ("recipients", "attachments"):
        items = report.get(key, data.get(key, []))
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            problems.append(Problem(at(f"report.{key}"), "expected a list of text"))
        else:
            values[key] = tuple(items)
    for key in ("include_logs", "send_from_creator"):
        if key in report:
            if isinstance(report[key], bool):
                values[key] = report[key]
            else:
                problems.append(Problem(at(f"report.{key}"), "expected true or false"))
    if problems:
        return None, problems
    return JobSpec(**values), []


def _memory_gb(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    try:
        size = parse_data_size(str(value))
    except ValueError:
        return None
    return size / GB if size > 0 else None


def _timeout_seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) * 60 if value > 0 else None
    try:
        return parse_duration(str(value)) or None
    except ValueError:
        return None


def whole(number: float | None) -> int:
    """A GB or minute figure as CDSW's whole number (rounded up: a cap is never hidden)."""
    return 0 if not number else max(1, math.ceil(number - 1e-9))


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


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
        raise ConfigurationError(f"expected a mapping at the top, got {_kind(data)}")
    problems: list[Problem] = []
    known = ("data-dir", "base-url", "spark", "smtp", "users", "projects", "jobs")
    for key in data:
        if key not in known:
            problems.append(Problem(str(key), "unknown setting", f"known: {', '.join(known)}"))
    data_dir = base / str(data.get("data-dir", "headwater-data/jobs"))
    spark = _section(data, "spark", ("master", "local-ip", "conf"), problems)
    conf = spark.get("conf", {})
    if not isinstance(conf, Mapping):
        problems.append(Problem("spark.conf", "expected a mapping of Spark settings"))
        conf = {}
    spark_settings = SparkSettings(
        str(spark.get("master", "local[*]")),
        str(spark.get("local-ip", "127.0.0.1")),
        {str(k): _env_value(v) for k, v in conf.items()},
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
    )


def _section(
    data: Mapping[str, Any], key: str, known: tuple[str, ...] | None, problems: list[Problem]
) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(Problem(key, f"expected a mapping, got {_kind(value)}"))
        return {}
    for name in value:
        if known is not None and name not in known:
            hint = f"known: {', '.join(known)}"
            problems.append(Problem(f"{key}.{name}", "unknown setting", hint))
    return value
