"""The models service against raw onnxruntime: throughput, latency, fp32 and int8.

For each variant (fp32, int8) of the built-in classifier and detector, on
scikit-image's photos as JPEG bytes:

- raw: decode plus inference in this process, batches of 8 on every core
  (``ImageClassifier(threads=cores)``), images/s; and one image at a time, ms;
- served: ``ModelServer`` (one replica per core, one thread each, batching up to 16,
  2 ms max wait), 8 concurrent clients POSTing images to /v1/models/NAME/predict from a
  process of their own, images/s and the ratio to raw (goal: at least 90%);
- served one request at a time per replica (max batch 1), CDSW's way of serving;
- low load: one client, one image at a time, p50 and p99 against raw decode plus
  inference of one image on one thread, as a replica runs it (goal: p50 within 5 ms).

    python bench/models.py [--seconds 5] [--models imagenet-classifier:fp32,...] [--clients 8]

The machine is shared: a short run (``--seconds 1``) is a smoke test, not a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import statistics
import time
from typing import Any

from PIL import Image

from headwater.models.classifier import ImageClassifier
from headwater.models.serve.config import Batching, ModelSpec, ServeConfig
from headwater.models.serve.server import ModelServer
from headwater.models.testing import prepared_cache
from headwater.models.verification import photo

PHOTOS = ("coffee", "chelsea", "camera", "astronaut", "rocket", "motorcycle_left")
CORES = os.cpu_count() or 1


def jpegs() -> list[bytes]:
    found = []
    for name in PHOTOS:
        out = io.BytesIO()
        with Image.open(photo(name)) as image:
            image.convert("RGB").save(out, "JPEG", quality=90)
        found.append(out.getvalue())
    return found


def model(builtin: str, variant: str, threads: int = CORES) -> Any:
    """The raw model (every core by default): ``run(list of JPEG bytes)`` decodes and
    infers."""
    cache = prepared_cache()
    if builtin == "coco-detector":
        from headwater.models.detector import ObjectDetector

        return ObjectDetector.open(variant, threads=threads, cache=cache).detect_bytes
    return ImageClassifier.open(variant, threads=threads, cache=cache).classify_bytes


def raw_throughput(run: Any, images: list[bytes], seconds: float, batch: int = 8) -> float:
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        run([images[(done + i) % len(images)] for i in range(batch)])
        done += batch
    return done / (time.perf_counter() - began)


def raw_latency(run: Any, images: list[bytes], count: int) -> list[float]:
    took = []
    for i in range(count):
        began = time.perf_counter()
        run([images[i % len(images)]])
        took.append(time.perf_counter() - began)
    return took


async def _clients(url: str, images: list[bytes], clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(index: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        sent = index
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            answer = await http.post(url, content=images[sent % len(images)])
            latencies.append(time.perf_counter() - began)
            errors += answer.status_code != 200
            sent += 1

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await http.post(url, content=images[0])  # connections and replicas warm
        began = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        took = time.perf_counter() - began
    return {"count": len(latencies), "seconds": took, "latencies": latencies, "errors": errors}


def _client_process(url: str, clients: int, seconds: float, out: Any) -> None:
    out.put(asyncio.run(_clients(url, jpegs(), clients, seconds)))


def served(
    builtin: str, variant: str, clients: int, seconds: float, max_batch: int
) -> dict[str, Any]:
    """Serve the model, then load it from a separate process (its GIL is its own)."""
    spec = ModelSpec(
        "bench",
        "builtin",
        builtin,
        variant,
        replicas=CORES,
        threads=1,
        batching=Batching(max_batch, 2.0, 4096),
    )
    with ModelServer(
        ServeConfig({"bench": spec}), "127.0.0.1", 0, cache=prepared_cache()
    ) as server:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        url = f"{server.url}/v1/models/bench/predict"
        process = context.Process(target=_client_process, args=(url, clients, seconds, results))
        process.start()
        found: dict[str, Any] = results.get(timeout=seconds + 120)
        process.join()
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--models",
        default="imagenet-classifier:fp32,imagenet-classifier:int8,"
        "coco-detector:fp32,coco-detector:int8",
        help="built-in model:variant, comma separated",
    )
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    images = jpegs()
    print(f"{CORES} cores; images: {', '.join(PHOTOS)} as JPEG; {args.seconds:g} s per phase")
    for name in args.models.split(","):
        builtin, _, variant = name.partition(":")
        variant = variant or "fp32"
        run = model(builtin, variant)
        raw = raw_throughput(run, images, args.seconds)
        batched = served(builtin, variant, args.clients, args.seconds, 16)
        one_by_one = served(builtin, variant, args.clients, args.seconds, 1)
        rate = batched["count"] / batched["seconds"]
        cdsw = one_by_one["count"] / one_by_one["seconds"]
        print(f"\n{builtin} {variant}")
        print(f"  raw onnxruntime, decode + batches of 8:   {raw:7.1f} images/s")
        print(
            f"  served, {args.clients} clients, batching:         {rate:7.1f} images/s "
            f"= {rate / raw:.0%} of raw (goal >= 90%), errors {batched['errors']}"
        )
        print(
            f"  served one at a time per replica (CDSW): {cdsw:7.1f} images/s; "
            f"batching is {rate / cdsw:.2f}x that"
        )
        p = batched["latencies"]
        print(
            f"  under load: p50 {percentile(p, 0.5) * 1e3:.1f} ms, "
            f"p99 {percentile(p, 0.99) * 1e3:.1f} ms"
        )
        alone = served(builtin, variant, 1, args.seconds, 16)["latencies"]
        # on one thread, as a replica runs: the difference is what serving costs
        reference = raw_latency(model(builtin, variant, 1), images, max(20, len(alone) // 4))
        raw_p50 = statistics.median(reference) * 1e3
        p50 = percentile(alone, 0.5) * 1e3
        print(
            f"  one client: p50 {p50:.1f} ms, p99 {percentile(alone, 0.99) * 1e3:.1f} ms; "
            f"raw decode + inference (1 thread) p50 {raw_p50:.1f} ms "
            f"({p50 - raw_p50:+.1f} ms, goal <= +5)"
        )


if __name__ == "__main__":
    main()
