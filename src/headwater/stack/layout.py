"""Where the stack keeps its data and which ports its parts listen on.

::

    <data-dir>/
      hub/            the hub's repositories (FlowFiles, content, provenance, C2)
      lake/           the Parquet lake: sensors/, images/, jobstatus/
      ftp/images/     the FTP store's JPEGs
      jobs/           the jobs service's store, logs and the jobs' output/
      models/         nothing yet: the models come from the model cache
      devices/<id>/   each simulated agent's data (headwater demo)
      alerts/alerts.jsonl
      config/         the generated models.yaml, jobs.yaml, agents.yaml (each part can
                      be run alone with them)
      secrets.yaml    0600

Ports, from ``--port-base`` B (default 8080): hub B, models B+1, jobs B+2, alert
webhook B+3, FTP 2121 with the default base and B+4 with any other (``--ftp-port``
sets it). ``--port-base 0`` takes a free port for each part (tests).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT_BASE = 8080
DEFAULT_FTP_PORT = 2121


@dataclass(frozen=True)
class StackLayout:
    root: Path

    @classmethod
    def at(cls, data_dir: Path) -> StackLayout:
        return cls(data_dir.expanduser().resolve())

    @property
    def hub(self) -> Path:
        return self.root / "hub"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def ftp(self) -> Path:
        return self.root / "ftp"

    @property
    def images(self) -> Path:
        """The FTP store's image folder: ``ftp://host:port/images/<filename>``."""
        return self.ftp / "images"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def devices(self) -> Path:
        return self.root / "devices"

    @property
    def alerts(self) -> Path:
        return self.root / "alerts" / "alerts.jsonl"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.yaml"

    def device(self, device_id: str) -> Path:
        return self.devices / device_id

    def make(self) -> None:
        for folder in (self.hub, self.lake, self.images, self.jobs, self.alerts.parent):
            folder.mkdir(parents=True, exist_ok=True)
        self.config.mkdir(parents=True, exist_ok=True, mode=0o700)


@dataclass(frozen=True)
class StackPorts:
    hub: int
    models: int
    jobs: int
    webhook: int
    ftp: int

    @classmethod
    def from_base(cls, base: int, ftp: int | None = None) -> StackPorts:
        """The ports from ``--port-base``; 0 picks a free one for each part."""
        if base == 0:
            hub, models, jobs, webhook = (free_port() for _ in range(4))
            return cls(hub, models, jobs, webhook, ftp or free_port())
        if not 0 < base <= 65535 - 4:
            raise ValueError(f"--port-base: expected 1 to 65531 (or 0: free ports), got {base}")
        if ftp is None:
            ftp = DEFAULT_FTP_PORT if base == DEFAULT_PORT_BASE else base + 4
        return cls(base, base + 1, base + 2, base + 3, ftp)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
