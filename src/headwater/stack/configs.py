"""The configurations ``headwater up`` generates for its parts, written where people can
read them (``<data-dir>/config/``, 0600: they hold keys) and loaded with each part's
own loader, so the stack never runs a configuration the parts would refuse alone.

- ``models.yaml``: the coco-detector and the imagenet-classifier under generated access
  keys, one replica each, with fsspec options for the FTP store so ``ftp://`` image URLs
  resolve; ``headwater models serve --config <data-dir>/config/models.yaml`` runs it.
- ``jobs.yaml``: the jobs of the repository's ``jobs/jobs.yaml`` with their paths made
  absolute into the lake and ``<data-dir>/jobs/output``, the user's key generated, no
  cron schedules (the hub's flow starts the jobs) and modest memory.
- ``agents.yaml``: the hub's list of agents and their tokens.
- ``devices/<id>/agent.yaml``: a simulated device's agent configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from headwater.errors import ConfigurationError
from headwater.stack.layout import StackLayout, StackPorts
from headwater.stack.secrets import StackSecrets, write_private

FTP_USER = "headwater"
REPOSITORY = Path(__file__).resolve().parents[3]  # src/headwater/stack -> the checkout
JOB_CPU = 1  # one core per run: the demo leaves half the machine idle
JOB_MEMORY_GB = 1  # Spark's driver gets half of it (512 MB), the watchdog holds the rest
# A short job on a small machine: the serial collector and the C1 compiler only keep the
# driver's JVM about a fifth smaller and cheaper to start than the defaults (G1, C2).
DRIVER_JAVA_OPTIONS = (
    "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=64m -Xmn48m"
)


def find_resource(path: Path) -> Path:
    """``path`` as given when it exists (relative to the working folder), else relative
    to the headwater checkout (``flows/...``, ``jobs/...`` work from anywhere)."""
    if path.is_absolute() or path.exists():
        return path.resolve()
    shipped = REPOSITORY / path
    if shipped.exists():
        return shipped
    raise ConfigurationError(
        f"{path} not found here nor in {REPOSITORY}; run from the headwater checkout"
        " or give the file's path"
    )


@dataclass(frozen=True)
class Endpoints:
    """The URLs the parts reach each other on."""

    host: str
    ports: StackPorts

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def hub(self) -> str:
        return self.url(self.ports.hub)

    @property
    def models(self) -> str:
        return self.url(self.ports.models)

    @property
    def jobs(self) -> str:
        return self.url(self.ports.jobs)

    @property
    def webhook(self) -> str:
        return self.url(self.ports.webhook) + "/hooks/alerts"

    @property
    def ftp(self) -> str:
        return f"ftp://{self.host}:{self.ports.ftp}"


def models_config(
    layout: StackLayout, secrets: StackSecrets, endpoints: Endpoints, cache: Path | None
) -> dict[str, Any]:
    one = {"replicas": 1, "threads": 1}
    config: dict[str, Any] = {
        "inputs": {
            "max-bytes": "10 MB",
            "fetch-timeout": "10 sec",
            "allowed-root": str(layout.ftp),
            "storage-options": {
                endpoints.ftp: {"username": FTP_USER, "password": secrets.ftp_password}
            },
        },
        "models": {
            "coco-detector": {
                "kind": "builtin",
                "variant": "int8",  # the same detections on the verification photos
                "access-keys": [secrets.detector_key],
                **one,
                "batching": {"max-batch-size": 4, "max-wait-ms": 2, "queue-limit": 64},
            },
            "imagenet-classifier": {
                "kind": "builtin",
                "variant": "int8",
                "access-keys": [secrets.classifier_key],
                **one,
                "batching": {"max-batch-size": 8, "max-wait-ms": 2, "queue-limit": 64},
            },
        },
    }
    if cache is not None:
        config["cache"] = str(cache)
    return config


def jobs_config(
    source: Path, layout: StackLayout, secrets: StackSecrets, endpoints: Endpoints
) -> dict[str, Any]:
    """``source`` (jobs/jobs.yaml) rewritten for this stack; its first user owns the
    jobs, under the generated key."""
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read {source}: {exc}") from exc
    if not isinstance(raw, Mapping) or not raw.get("users") or not raw.get("projects"):
        raise ConfigurationError(f"{source}: expected users, projects and jobs")
    base = source.parent
    username, user = next(iter(raw["users"].items()))
    spark = dict(raw.get("spark") or {})
    spark["conf"] = {
        **dict(spark.get("conf") or {}),
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.extraJavaOptions": DRIVER_JAVA_OPTIONS,
    }
    projects = {
        str(ident): {
            **dict(project or {}),
            "directory": str((base / str(project["directory"])).resolve()),
        }
        for ident, project in raw["projects"].items()
        if isinstance(project, Mapping) and project.get("directory") is not None
    }
    jobs = []
    for job in raw.get("jobs") or []:
        job = dict(job)
        job.pop("schedule", None)  # the hub's flow starts them
        job.pop("timezone", None)
        job["cpu"] = JOB_CPU
        job["memory"] = JOB_MEMORY_GB
        job["environment"] = _job_environment(
            job.get("environment") or {}, layout, secrets, endpoints
        )
        if "report" in job:
            job["report"] = {"recipients": [], "attachments": []}
        jobs.append(job)
    return {
        "data-dir": str(layout.jobs),
        "base-url": endpoints.jobs,
        "max-concurrent-runs": 1,
        "spark": spark,
        "users": {username: {**dict(user), "api-key": secrets.jobs_api_key}},
        "projects": projects,
        "jobs": jobs,
    }


def _job_environment(
    environment: Mapping[str, Any],
    layout: StackLayout,
    secrets: StackSecrets,
    endpoints: Endpoints,
) -> dict[str, str]:
    """Paths into the lake made absolute (``.../lake/sensors`` → ``<data>/lake/sensors``),
    the output in the jobs' data, the jobs API's URL and key this stack's."""
    found: dict[str, str] = {}
    for name, value in environment.items():
        text = str(value)
        if "/lake/" in text:
            text = str(layout.lake / text.rsplit("/lake/", 1)[1])
        elif name == "OUTPUT_DIR":
            text = str(layout.jobs / "output")
        elif name == "JOBS_API_URL":
            text = endpoints.jobs
        elif name == "JOBS_API_KEY":
            text = secrets.jobs_api_key
        found[str(name)] = text
    return found


def jobs_identity(config: Mapping[str, Any]) -> tuple[str, str]:
    """The user and the project (``owner/slug``) of a generated jobs config."""
    username = next(iter(config["users"]))
    project = next(iter(config["projects"]))
    return str(username), str(project)


def agents_list(secrets: StackSecrets) -> dict[str, Any]:
    return {"agents": {agent_id: {"token": token} for agent_id, token in secrets.agents.items()}}


def agent_config(
    device_id: str,
    layout: StackLayout,
    secrets: StackSecrets,
    endpoints: Endpoints,
    flow: Path,
    sample_images: Path | None,
) -> dict[str, Any]:
    """One simulated device: the agent flow, its own data, its token and host name."""
    folder = layout.device(device_id)
    return {
        "agent": {"id": device_id, "class": "edge-device"},
        "flow": str(flow),
        "data-dir": str(folder / "data"),
        "parameters": {
            "host_name": device_id,
            "sample_images": str(sample_images) if sample_images else "",
            "image_dir": str(folder / "images"),
            "classifier": "int8",
        },
        "c2": {
            "urls": [endpoints.hub],
            "heartbeat-period": "5 sec",
            "token": secrets.agents[device_id],
        },
    }


def write_config(path: Path, config: Mapping[str, Any], comment: str) -> Path:
    """``config`` as YAML under a comment line, 0600 (it holds keys)."""
    text = f"# {comment}\n" + yaml.safe_dump(dict(config), sort_keys=False)
    write_private(path, text)
    return path
