"""On-device classification: images/s and ms per image, fp32 and int8, single and batched.

Uses the prepared EfficientNet-Lite0 in the model cache (``--cache``, else
``$HEADWATER_MODELS``, else ~/.cache/headwater/models; prepared first if missing, which
needs torch). Measures, for each variant, on one onnxruntime thread by default:

- inference alone on decoded images, one image per call and batches of ``--batch``;
- decode plus inference of JPEG bytes (scikit-image's photos at 640 x 480 or so, and a
  2592 x 1944 camera frame), as ``ClassifyImage`` does it;
- ClassifyImage in a TestRunner over ``--flowfiles`` FlowFiles (repositories, session,
  provenance included);
- the RSS of a fresh process that loaded the processors and scheduled ClassifyImage
  with the model and classified one image (the agent's goal: at most 120 MB).

    python bench/classify.py [--threads 1] [--batch 16] [--seconds 2] [--flowfiles 64]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from headwater.models import IMAGENET_CLASSIFIER, ModelNotPrepared, cache_root, find_model
from headwater.models.classifier import ImageClassifier
from headwater.models.preprocess import decode
from headwater.models.verification import photo, photo_folder

MB = 1024 * 1024
RSS_PROBE = """
import sys, psutil
rss = lambda: psutil.Process().memory_info().rss
from headwater.processors.image_classify import ClassifyImage
from headwater.testing import TestRunner
engine = rss()
runner = TestRunner(ClassifyImage, {"Model": sys.argv[1], "Model Cache": sys.argv[2]})
runner.enqueue(open(sys.argv[3], "rb").read())
runner.run(stop=False)
assert runner.transferred("success"), "not classified"
classified = rss()
from headwater.processor import load_extensions
load_extensions()
print(engine, classified, rss())
"""


def ensure_prepared(cache: Path) -> None:
    try:
        find_model(IMAGENET_CLASSIFIER.name, "int8", cache)
    except ModelNotPrepared:
        print(f"preparing the classifier in {cache} first:", flush=True)
        cmd = [sys.executable, "-m", "headwater", "models", "prepare", "--cache", str(cache)]
        subprocess.run(cmd, check=True)


def jpegs() -> tuple[list[bytes], bytes]:
    """Small photos as JPEG, and one camera-sized frame."""
    names = ["coffee", "chelsea", "camera", "astronaut", "rocket", "motorcycle_left"]
    images = []
    if photo_folder() is not None:
        for name in names:
            with Image.open(photo(name)) as image:
                images.append(image.convert("RGB"))
    else:
        images = [Image.effect_mandelbrot((640, 480), (-2, -1.2, 1, 1.2), 60).convert("RGB")]
    encoded = []
    for image in images:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=90)
        encoded.append(out.getvalue())
    out = io.BytesIO()
    images[0].resize((2592, 1944), Image.Resampling.BICUBIC).save(out, "JPEG", quality=90)
    return encoded, out.getvalue()


def rate(work: Callable[[], int], seconds: float) -> tuple[float, float]:
    """(images per second, ms per image) of ``work``, which returns how many it did."""
    work()  # warm up
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done == 0:
        done += work()
    return done / elapsed, elapsed / done * 1000


def line(what: str, result: tuple[float, float]) -> None:
    print(f"  {what:<44} {result[0]:8.1f} images/s  {result[1]:7.2f} ms/image", flush=True)


def bench_variant(variant: str, args: argparse.Namespace, small: list[bytes], big: bytes) -> None:
    classifier = ImageClassifier.open(variant, args.threads, args.cache)
    decoded = [decode(data) for data in small]
    batch = (decoded * (args.batch // len(decoded) + 1))[: args.batch]
    batch_bytes = (small * (args.batch // len(small) + 1))[: args.batch]
    print(f"{variant} ({args.threads} thread{'s' if args.threads != 1 else ''}):")

    def one() -> int:
        classifier.classify(decoded[:1])
        return 1

    def many() -> int:
        classifier.classify(batch)
        return len(batch)

    def bytes_many() -> int:
        classifier.classify_bytes(batch_bytes)
        return len(batch_bytes)

    def camera_frame() -> int:
        classifier.classify_bytes([big])
        return 1

    line("inference, 1 image per call", rate(one, args.seconds))
    line(f"inference, batches of {args.batch}", rate(many, args.seconds))
    line(f"decode + inference, JPEG ~640x480, batch {args.batch}", rate(bytes_many, args.seconds))
    line("decode + inference, 2592x1944 JPEG, 1 per call", rate(camera_frame, args.seconds))
    line(f"ClassifyImage, {args.flowfiles} FlowFiles", processor_rate(variant, args, small))


def processor_rate(
    variant: str, args: argparse.Namespace, small: list[bytes]
) -> tuple[float, float]:
    from headwater.processors.image_classify import ClassifyImage
    from headwater.testing import TestRunner

    properties = {
        "Model": variant,
        "Model Cache": str(args.cache),
        "Batch Size": str(args.batch),
        "Inference Threads": str(args.threads),
    }
    with TestRunner(ClassifyImage, properties) as runner:
        for i in range(args.flowfiles):
            runner.enqueue(small[i % len(small)], filename=f"bog_image_{i}.jpg")
        runner.run(1, stop=False)  # schedules (loads the model) and warms up
        started = time.perf_counter()
        runner.run(args.flowfiles // args.batch + 1, stop=False)
        elapsed = time.perf_counter() - started
        done = len(runner.transferred(ClassifyImage.SUCCESS)) - args.batch
    return done / elapsed, elapsed / done * 1000


def rss(variant: str, cache: Path, image: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(image)
        file.flush()
        done = subprocess.run(
            [sys.executable, "-c", RSS_PROBE, variant, str(cache), file.name],
            capture_output=True,
            text=True,
            check=True,
        )
    engine, classified, everything = (int(x) / MB for x in done.stdout.split())
    print(
        f"  {variant}: engine and ClassifyImage's module {engine:.0f} MB; scheduled, one image "
        f"classified {classified:.0f} MB (+{classified - engine:.0f}); with every built-in "
        f"processor loaded too {everything:.0f} MB (agent goal: at most 120 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=None, help="the model cache")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--batch", type=int, default=16, help="images per batched call")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--flowfiles", type=int, default=64, help="FlowFiles for ClassifyImage")
    args = parser.parse_args()
    args.cache = cache_root(args.cache)
    ensure_prepared(args.cache)
    small, big = jpegs()
    print(f"model cache {args.cache}; {len(small)} photos; cores: {os.cpu_count()}")
    for variant in IMAGENET_CLASSIFIER.variants:
        bench_variant(variant, args, small, big)
    print("memory:")
    for variant in IMAGENET_CLASSIFIER.variants:
        rss(variant, args.cache, small[0])


if __name__ == "__main__":
    main()
