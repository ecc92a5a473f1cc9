"""A job's settings (``JobSpec``), checked whole: the same rules for a job in
``jobs.yaml`` and for one posted to the API.

They use CDSW's names: ``kernel`` (python3 or pyspark), ``cpu`` (vCPUs: Spark's
``local[n]`` and the cores the run may use), ``memory`` (GB, or a size such as
``512 MB``), ``nvidia_gpu`` (0: this service has no GPUs), ``timeout`` (minutes, or a
period such as ``90 sec``), ``timeout_kill``, ``schedule`` (cron), ``timezone``,
``environment``, and ``report`` (``recipients``, ``attachments``, ``include_logs``,
``send_from_creator``). Every problem is listed with its path, none stops the check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from headwater.errors import Problem
from headwater.units import parse_data_size, parse_duration

KERNELS = ("python3", "pyspark")
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


JOB_KEYS = (
    *("name", "script", "kernel", "cpu", "memory", "nvidia_gpu", "timeout", "timeout_kill"),
    *("schedule", "timezone", "environment", "report", "recipients", "attachments"),
    *("include_logs", "send_from_creator", "paused", "type"),
)


def parse_job(data: Any, path: str = "") -> tuple[JobSpec | None, list[Problem]]:
    """A job's settings from a mapping (YAML or a request body), with every problem."""
    at = (lambda key: f"{path}.{key}") if path else (lambda key: key)
    if not isinstance(data, Mapping):
        return None, [Problem(path, f"expected a mapping of job settings, got {kind_of(data)}")]
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
        values["environment"] = {k: env_value(v) for k, v in environment.items()}
    report = data.get("report", {})
    if not isinstance(report, Mapping):
        problems.append(Problem(at("report"), f"expected a mapping, got {kind_of(report)}"))
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


def env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def kind_of(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
