"""The models service's configuration file (``models.yaml``), checked whole at load.

::

    cache: ~/.cache/headwater/models     # where `headwater models prepare` put the ONNX files
    inputs:
      max-bytes: 10 MB                   # an image (or a request body) larger is refused (413)
      allowed-root: /srv/images          # file:// URLs are served only from below this folder
      fetch-timeout: 10 sec
      storage-options:                   # fsspec options by URL prefix (longest prefix wins)
        "ftp://127.0.0.1:2121": {username: camera, password: secret}
        "s3://images": {key: ..., secret: ..., client_kwargs: {endpoint_url: ...}}
    models:
      imagenet-classifier:               # the model's name, as in /v1/models/{name}/predict
        kind: builtin                    # builtin or python (a file and a function)
        variant: int8                    # builtin only: fp32 or int8
        access-keys: [mkey-1]            # CDSW access keys: each names this model in call-model
        replicas: 2                      # worker processes, each holding the model
        threads: 1                       # onnxruntime threads per replica (0: cores/replicas)
        batching: {max-batch-size: 16, max-wait-ms: 2, queue-limit: 256}
        timeout: 60 sec                  # a batch running longer: 504, its replica restarted
      echo:
        kind: python
        file: echo.py                    # relative to this file's folder
        function: predict

Like the flow file, loading collects every problem, each with its path, before
failing (``ConfigurationError``); nothing here imports numpy or onnxruntime, and a user
model's file is parsed (``ast``) but not run: its code runs only in worker processes.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from headwater.errors import ConfigurationError, Problem
from headwater.models.cache import BUILTIN
from headwater.units import parse_data_size, parse_duration

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VARIANTS = ("fp32", "int8")


@dataclass(frozen=True)
class Batching:
    """Dynamic batching: a batch leaves when it holds ``max_batch_size`` requests, its
    first request has waited ``max_wait_ms``, or no other request is on its way; past
    ``queue_limit`` waiting requests the service answers 429 (back pressure) instead of
    queueing more."""

    max_batch_size: int = 16
    max_wait_ms: float = 2.0
    queue_limit: int = 256


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "builtin" or "python"
    builtin: str = ""
    variant: str = "fp32"
    file: Path | None = None
    function: str = "predict"
    access_keys: tuple[str, ...] = ()
    replicas: int = 1
    threads: int = 0
    batching: Batching = field(default_factory=Batching)
    description: str = ""
    timeout: float = 60.0


@dataclass(frozen=True)
class Inputs:
    max_bytes: int = 10 * 1024 * 1024
    allowed_root: Path | None = None
    fetch_timeout: float = 10.0
    storage_options: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ServeConfig:
    models: dict[str, ModelSpec]
    inputs: Inputs = field(default_factory=Inputs)
    cache: Path | None = None
    source: str = "<defaults>"

    def by_access_key(self) -> dict[str, ModelSpec]:
        return {key: spec for spec in self.models.values() for key in spec.access_keys}


def load_config(path: str | os.PathLike[str]) -> ServeConfig:
    """Read and check ``models.yaml``; ConfigurationError lists every problem."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {file}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{file} is not valid YAML: {exc}") from exc
    return parse_config(raw, base=file.parent, source=str(file))


def parse_config(raw: Any, base: Path = Path(), source: str = "<dict>") -> ServeConfig:
    problems: list[Problem] = []
    if not isinstance(raw, Mapping):
        raise ConfigurationError("the models file must be a mapping with a `models:` section")
    _unknown(raw, ("cache", "inputs", "models"), "", problems)
    inputs = _inputs(raw.get("inputs") or {}, base, problems)
    cache = _path(raw["cache"], base) if raw.get("cache") else None
    models: dict[str, ModelSpec] = {}
    section = raw.get("models")
    if not isinstance(section, Mapping) or not section:
        problems.append(Problem("models", "expected a mapping of model names to models"))
    else:
        for name, entry in section.items():
            spec = _model(str(name), entry, base, problems)
            if spec is not None:
                models[spec.name] = spec
    owners: dict[str, str] = {}
    for spec in models.values():
        for key in spec.access_keys:
            if key in owners:
                problems.append(
                    Problem(
                        f"models.{spec.name}.access-keys",
                        f"the access key {key[:4]}... is also {owners[key]}'s",
                        "an access key names one model; give each model its own",
                    )
                )
            owners[key] = spec.name
    if problems:
        raise ConfigurationError(problems)
    return ServeConfig(models, inputs, cache, source)


def _inputs(raw: Any, base: Path, problems: list[Problem]) -> Inputs:
    if not isinstance(raw, Mapping):
        problems.append(Problem("inputs", "expected a mapping"))
        return Inputs()
    known = ("max-bytes", "allowed-root", "fetch-timeout", "storage-options")
    _unknown(raw, known, "inputs", problems)
    found = Inputs()
    max_bytes = _convert(raw, "max-bytes", parse_data_size, found.max_bytes, "inputs", problems)
    timeout = _convert(
        raw, "fetch-timeout", parse_duration, found.fetch_timeout, "inputs", problems
    )
    root = _path(raw["allowed-root"], base) if raw.get("allowed-root") else None
    if root is not None and not root.is_dir():
        problems.append(Problem("inputs.allowed-root", f"{root} is not a folder"))
    options = raw.get("storage-options") or {}
    if not isinstance(options, Mapping) or not all(
        isinstance(v, Mapping) for v in options.values()
    ):
        problems.append(
            Problem("inputs.storage-options", "expected URL prefixes mapped to fsspec options")
        )
        options = {}
    return Inputs(max_bytes, root, timeout, {str(k): dict(v) for k, v in options.items()})


def _model(name: str, raw: Any, base: Path, problems: list[Problem]) -> ModelSpec | None:
    where = f"models.{name}"
    if not NAME.match(name):
        problems.append(Problem(where, "a model name is letters, digits, '.', '_' or '-'"))
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "expected a mapping with at least `kind:`"))
        return None
    known = ("kind", "builtin", "variant", "file", "function", "access-keys", "replicas")
    _unknown(raw, (*known, "threads", "batching", "description", "timeout"), where, problems)
    kind = str(raw.get("kind", ""))
    spec: dict[str, Any] = {"name": name, "kind": kind}
    if kind == "builtin":
        builtin = str(raw.get("builtin", name))
        if builtin not in BUILTIN:
            problems.append(
                Problem(f"{where}.builtin", f"no built-in model {builtin!r}", _one_of(BUILTIN))
            )
        variant = str(raw.get("variant", "fp32"))
        variants = BUILTIN[builtin].variants if builtin in BUILTIN else VARIANTS
        if variant not in variants:
            problems.append(Problem(f"{where}.variant", f"got {variant!r}", _one_of(variants)))
        spec |= {"builtin": builtin, "variant": variant}
    elif kind == "python":
        spec |= _python(raw, where, base, problems)
    else:
        problems.append(
            Problem(f"{where}.kind", f"got {kind or 'nothing'!r}", _one_of(("builtin", "python")))
        )
    keys = raw.get("access-keys", [])
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        problems.append(Problem(f"{where}.access-keys", "expected a list of non-empty strings"))
        keys = []
    spec["access_keys"] = tuple(keys)
    spec["replicas"] = _whole(raw, "replicas", 1, 1, where, problems)
    spec["threads"] = _whole(raw, "threads", 0, 0, where, problems)
    spec["batching"] = _batching(raw.get("batching") or {}, kind, f"{where}.batching", problems)
    spec["description"] = str(raw.get("description", ""))
    spec["timeout"] = _convert(raw, "timeout", parse_duration, 60.0, where, problems)
    if spec["timeout"] <= 0:
        problems.append(Problem(f"{where}.timeout", "expected a time period above 0"))
    return ModelSpec(**spec)


def _python(
    raw: Mapping[str, Any], where: str, base: Path, problems: list[Problem]
) -> dict[str, Any]:
    function = str(raw.get("function", "predict"))
    if not raw.get("file"):
        problems.append(Problem(f"{where}.file", "a python model needs `file:`, a .py file"))
        return {"function": function}
    file = _path(raw["file"], base)
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except OSError as exc:
        problems.append(Problem(f"{where}.file", f"cannot read {file}: {exc.strerror or exc}"))
    except SyntaxError as exc:
        problems.append(Problem(f"{where}.file", f"{file}:{exc.lineno}: {exc.msg}"))
    else:
        defined = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if function not in defined:
            problems.append(
                Problem(
                    f"{where}.function",
                    f"{file} defines no top-level function {function!r}",
                    f"it defines {', '.join(sorted(defined)) or 'none'}",
                )
            )
    return {"file": file, "function": function}


def _batching(raw: Any, kind: str, where: str, problems: list[Problem]) -> Batching:
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "expected a mapping"))
        return Batching()
    _unknown(raw, ("max-batch-size", "max-wait-ms", "queue-limit"), where, problems)
    default = Batching() if kind == "builtin" else Batching(max_batch_size=1, max_wait_ms=0)
    size = _whole(raw, "max-batch-size", default.max_batch_size, 1, where, problems)
    limit = _whole(raw, "queue-limit", default.queue_limit, 1, where, problems)
    wait = raw.get("max-wait-ms", default.max_wait_ms)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
        problems.append(
            Problem(f"{where}.max-wait-ms", f"expected milliseconds >= 0, got {wait!r}")
        )
        wait = default.max_wait_ms
    return Batching(size, float(wait), limit)


def _whole(
    raw: Mapping[str, Any], key: str, default: int, least: int, where: str, problems: list[Problem]
) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        problems.append(
            Problem(f"{where}.{key}", f"expected a whole number >= {least}, got {value!r}")
        )
        return default
    return value


def _convert(
    raw: Mapping[str, Any], key: str, parse: Any, default: Any, where: str, problems: list[Problem]
) -> Any:
    if key not in raw:
        return default
    try:
        return parse(str(raw[key]))
    except ValueError as exc:
        problems.append(Problem(f"{where}.{key}", str(exc)))
        return default


def _unknown(
    raw: Mapping[str, Any], known: tuple[str, ...], where: str, problems: list[Problem]
) -> None:
    for key in raw:
        if key not in known:
            path = f"{where}.{key}" if where else str(key)
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {near[0]!r}?" if near else _one_of(known)
            problems.append(Problem(path, "unknown setting", hint))


def _one_of(names: Any) -> str:
    return "expected one of " + ", ".join(str(n) for n in names)


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def default_config(access_key: str, cache: Path | None = None) -> ServeConfig:
    """Without ``--config``: the built-in classifier (fp32) under one access key."""
    spec = ModelSpec(
        "imagenet-classifier", "builtin", "imagenet-classifier", access_keys=(access_key,)
    )
    return ServeConfig({spec.name: spec}, Inputs(), cache)
