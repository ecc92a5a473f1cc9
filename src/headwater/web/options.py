"""What the web UI needs to know beyond the flow: the lake the dashboards read, the
image store, and the jobs service it proxies to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigurationError

DEFAULT_PROJECT = "tspann/edge-to-ai"
_PROJECT = re.compile(r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class JobsLink:
    """A jobs service (CDSW Jobs API v1) and the project whose jobs the UI shows.

    ``api_key`` is sent as the HTTP Basic user name, as CDSW clients do."""

    url: str
    api_key: str
    project: str = DEFAULT_PROJECT

    def __post_init__(self) -> None:
        problems = []
        if not self.url.startswith(("http://", "https://")):
            problems.append(f"jobs url: expected http:// or https://, got {self.url!r}")
        if not self.api_key:
            problems.append("jobs api key: is empty; give the key of the project's owner")
        if not _PROJECT.match(self.project):
            problems.append(f"jobs project: expected OWNER/SLUG, got {self.project!r}")
        if problems:
            raise ConfigurationError("; ".join(problems))
        object.__setattr__(self, "url", self.url.rstrip("/"))

    @property
    def owner(self) -> str:
        return self.project.split("/", 1)[0]

    @property
    def slug(self) -> str:
        return self.project.split("/", 1)[1]


@dataclass(frozen=True)
class WebOptions:
    """``lake``: the Parquet lake (dashboards off without it); ``images``: the folder
    of the image store's JPEGs; ``jobs``: the jobs service (the Jobs page answers 404
    without it)."""

    lake: Path | None = None
    images: Path | None = None
    jobs: JobsLink | None = None
