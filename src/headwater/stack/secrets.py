"""The stack's secrets: made once, kept in ``<data-dir>/secrets.yaml`` (mode 0600), reused.

``headwater up`` switches security on everywhere, so every part needs a key: the hub's
API token (the web UI's too), a token per agent, the jobs service's API key, the
models' access keys and the FTP store's password. They are random on the first start
and read back on every later one, so an agent's configuration, a bookmarked UI URL
and the jobs' stored settings stay valid across restarts. A device added later gets a
token of its own; nothing already made is changed.

::

    api-token: 3q2...            # Authorization: Bearer for the hub's API and UI
    jobs-api-key: ...            # the jobs service user's key (HTTP Basic user name)
    detector-key: ...            # coco-detector's access key
    classifier-key: ...          # imagenet-classifier's access key
    ftp-password: ...            # the FTP store's user `headwater`
    agents: {device-1: ..., device-2: ...}
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from headwater.errors import ConfigurationError

FILE_MODE = 0o600
_KEYS = ("api-token", "jobs-api-key", "detector-key", "classifier-key", "ftp-password")


def new_secret() -> str:
    """A URL-safe random token (32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class StackSecrets:
    api_token: str
    jobs_api_key: str
    detector_key: str
    classifier_key: str
    ftp_password: str
    agents: dict[str, str] = field(default_factory=dict)

    def as_yaml(self) -> dict[str, Any]:
        values = (
            self.api_token,
            self.jobs_api_key,
            self.detector_key,
            self.classifier_key,
            self.ftp_password,
        )
        return {**dict(zip(_KEYS, values, strict=True)), "agents": dict(self.agents)}


def load_or_create(path: Path, agents: Iterable[str] = ()) -> StackSecrets:
    """The secrets in ``path``, made (and written, 0600) where missing: the whole file
    on the first start, a token for each agent not listed yet on later ones."""
    found: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(
                f"cannot read {path}: {exc}; remove it to make new secrets"
            ) from exc
        if not isinstance(loaded, dict):
            raise ConfigurationError(f"{path}: expected a mapping; remove it to make new secrets")
        found = loaded
    values = {key: found.get(key) for key in _KEYS}
    listed = found.get("agents") or {}
    if not isinstance(listed, dict):
        raise ConfigurationError(f"{path}: agents: expected a mapping of agent ids to tokens")
    wanted = dict(listed)
    for agent_id in agents:
        wanted.setdefault(agent_id, None)
    changed = not path.exists()
    for key, value in list(values.items()):
        if not isinstance(value, str) or not value:
            values[key] = new_secret()
            changed = True
    for agent_id, token in list(wanted.items()):
        if not isinstance(token, str) or not token:
            wanted[agent_id] = new_secret()
            changed = True
    made = StackSecrets(
        api_token=str(values["api-token"]),
        jobs_api_key=str(values["jobs-api-key"]),
        detector_key=str(values["detector-key"]),
        classifier_key=str(values["classifier-key"]),
        ftp_password=str(values["ftp-password"]),
        agents={str(k): str(v) for k, v in wanted.items()},
    )
    if changed:
        write_private(path, yaml.safe_dump(made.as_yaml(), sort_keys=False))
    elif path.stat().st_mode & 0o077:
        os.chmod(path, FILE_MODE)  # someone loosened it: only this user reads secrets
    return made


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (0600 from the start, so
    there is no moment in which others could read it), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.chmod(temporary, FILE_MODE)
    os.replace(temporary, path)
