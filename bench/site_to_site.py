"""Site-to-site throughput: 1 KB FlowFiles from a sender to a hub on loopback.

The hub runs in a process of its own (as it would on another machine): its API with an
InputPort whose FlowFiles queue up durably (SQLite, synchronous=FULL, a row and a
receipt per FlowFile, a transaction's RECEIVE events one block row). The sender is a
flow of its own: a queue filled beforehand (as store-and-forward leaves it) drained by
a RemoteProcessGroup with --tasks concurrent transactions; each transaction is one
request of up to --batch FlowFiles, confirmed after the hub's commit, then a SEND and
a DROP per FlowFile (a block row each) and one commit on the sender's side. The
sender's provenance is set up as an agent's (flows/agent.yaml): no secondary indexes,
since an agent's events are searched on the hub.

In the same run, the same bytes (the very streams the sender made, the same size per
request) are POSTed raw to a bare ASGI endpoint in the hub process that reads the body
and answers 200: the ratio says what the protocol, the framing and both durable
commits cost over moving the bytes. Goal: at least 50,000 FlowFiles/s.

    python bench/site_to_site.py [--flowfiles 100000] [--batch 10000] [--size 1024] [--tasks 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from headwater.engine.controller import FlowController
from headwater.engine.repositories import Repositories
from headwater.engine.runtime import tune_for_throughput
from headwater.flowfile import FlowFile, now_millis
from headwater.s2s.protocol import StreamEncoder


def hub(data_dir: Path, ready: Path) -> None:
    """The hub process: the API with an InputPort, and a raw endpoint, until killed."""
    from headwater.api.app import create_app
    from headwater.api.server import ApiServer
    from headwater.flow.loader import load_flow_dict

    flow = load_flow_dict(
        {
            "flow": "bench-hub",
            "processors": {
                "in": {"type": "InputPort", "properties": {"Port Name": "bench"}},
                "hold": {
                    "type": "UpdateAttribute",
                    "enabled": "false",
                    "auto-terminate": ["success"],
                },
            },
            "connections": [
                {
                    "from": "in",
                    "relationships": ["success"],
                    "to": "hold",
                    "back-pressure": {"objects": "0", "size": "0"},
                }
            ],
        }
    )
    tune_for_throughput()
    controller = FlowController(flow, data_dir)
    api = ApiServer(create_app(controller), "127.0.0.1", 0)
    raw = ApiServer(_raw_app, "127.0.0.1", 0)
    api.start()
    raw.start()
    controller.start()
    ready.write_text(f"{api.url} {raw.url}")
    while True:
        time.sleep(3600)


async def _raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, answer 200: the floor any protocol over HTTP stands on."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


SOURCE_QUEUE = "source/success/send"


def sender_flow(hub_url: str, batch: int, tasks: int) -> Any:
    """A device's flow: a queue (filled beforehand, as store-and-forward leaves it)
    drained by a RemoteProcessGroup with ``tasks`` concurrent transactions."""
    from headwater.flow.loader import load_flow_dict

    return load_flow_dict(
        {
            "flow": "bench-sender",
            "settings": {"provenance-indexed-fields": "none"},  # as flows/agent.yaml
            "processors": {
                "source": {"type": "GenerateFlowFile", "enabled": "false"},
                "send": {
                    "type": "RemoteProcessGroup",
                    "properties": {
                        "Target URLs": hub_url,
                        "Port Name": "bench",
                        "Batch Count": str(batch),
                        "Batch Size": "1 GB",
                    },
                    "schedule": {"concurrent-tasks": str(tasks)},
                },
            },
            "connections": [
                {
                    "from": "source",
                    "relationships": ["success"],
                    "to": "send",
                    "back-pressure": {"objects": "0", "size": "0"},
                }
            ],
        }
    )


def fill(data_dir: Path, count: int, size: int) -> None:
    """Queue ``count`` FlowFiles of ``size`` bytes for the sender, durably, in bulk."""
    repos = Repositories.open(data_dir)
    try:
        block = os.urandom(size * 64)
        rows = []
        writer = repos.content.acquire_writer()
        seqs = iter(repos.flowfiles.next_seqs(count))
        now = now_millis()
        for i in range(count):
            start = (i * 131) % (len(block) - size)
            ff = FlowFile.create({"filename": f"reading-{i}.bin", "host": "device-1"})
            ff.claim, ff.size = writer.claim, size
            ff.offset = writer.append(block[start : start + size])
            if writer.length > 64 * 1024 * 1024:
                writer.flush()
                repos.content.release_writer(writer)
                writer = repos.content.acquire_writer()
            ff.seq, ff.queued_at = next(seqs), now
            rows.append(repos.flowfiles.row(SOURCE_QUEUE, ff))
        writer.flush()
        repos.content.release_writer(writer)
        repos.flowfiles.commit(rows, [])
    finally:
        repos.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flowfiles", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tasks", type=int, default=2, help="the sender's concurrent tasks")
    parser.add_argument("--hub", nargs=2, metavar=("DATA", "READY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hub:
        hub(Path(args.hub[0]), Path(args.hub[1]))
        return
    tune_for_throughput()
    with tempfile.TemporaryDirectory(prefix="headwater-s2s-bench-") as tmp:
        ready = Path(tmp) / "ready"
        process = subprocess.Popen(
            [sys.executable, __file__, "--hub", str(Path(tmp) / "hub"), str(ready)]
        )
        try:
            deadline = time.monotonic() + 30
            while not ready.exists() or not ready.read_text():
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the hub process did not start")
                time.sleep(0.05)
            hub_url, raw_url = ready.read_text().split()
            run(args, Path(tmp), hub_url, raw_url)
        finally:
            process.terminate()
            process.wait(10)


def run(args: argparse.Namespace, tmp: Path, hub_url: str, raw_url: str) -> None:
    data_dir = tmp / "sender"
    fill(data_dir, args.flowfiles, args.size)
    controller = FlowController(sender_flow(hub_url, args.batch, args.tasks), data_dir)
    queue = controller.connections[SOURCE_QUEUE].queue
    print(f"sender queue: {queue.count:,} FlowFiles of {args.size} bytes", flush=True)
    started = time.perf_counter()
    controller.start()
    try:
        while queue.count:
            if controller.stopped.wait(0.005):
                raise SystemExit(f"the sender stopped: {controller.scheduler.fault}")
        s2s = time.perf_counter() - started
        status = controller.nodes["send"].status()
    finally:
        controller.stop()
    sent = status["counters"].get("FlowFiles sent", 0)
    assert sent == args.flowfiles, f"sent {sent}, expected {args.flowfiles}: {status}"
    port = next(
        p
        for p in httpx.get(f"{hub_url}/api/v1/status", trust_env=False).json()["processors"]
        if p["id"] == "in"
    )
    received = port["counters"].get("FlowFiles received", 0)
    assert received == args.flowfiles, f"the hub stored {received}, expected {args.flowfiles}"

    streams = _streams(args)
    started = time.perf_counter()
    with httpx.Client(timeout=60, trust_env=False) as client:
        for stream in streams:
            client.post(raw_url, content=stream).raise_for_status()
    raw = time.perf_counter() - started
    megabytes = sum(len(s) for s in streams) / 1e6
    s2s_rate, raw_rate = args.flowfiles / s2s, args.flowfiles / raw
    print(
        f"site-to-site: {s2s_rate:,.0f} FlowFiles/s ({megabytes / s2s:,.0f} MB/s),"
        f" {args.flowfiles:,} in {s2s:.2f} s, transactions of {args.batch:,},"
        f" {args.tasks} concurrent"
    )
    print(
        f"raw HTTP POST of the same bytes: {raw_rate:,.0f} FlowFiles/s"
        f" ({megabytes / raw:,.0f} MB/s)"
    )
    print(
        "task time per FlowFile (concurrent tasks summed): sender"
        f" {status['taskMillis'] * 1000 / sent:.1f} us (take, read, frame, wait for the hub,"
        f" SEND + DROP, commit), hub InputPort {port['taskMillis'] * 1000 / sent:.1f} us"
        " (FlowFiles, RECEIVE, receipts, commit; parsing the stream is outside it)"
    )
    print(
        f"ratio site-to-site / raw POST: {s2s_rate / raw_rate:.2f}   (goal: >= 50,000 FlowFiles/s)"
    )


def _streams(args: argparse.Namespace) -> list[bytes]:
    """The streams a sender makes for the same FlowFiles, batch by batch."""
    encoder = StreamEncoder()
    block = os.urandom(args.size * 64)
    streams = []
    for first in range(0, args.flowfiles, args.batch):
        packets = []
        for i in range(first, min(first + args.batch, args.flowfiles)):
            start = (i * 131) % (len(block) - args.size)
            attributes = FlowFile.create({"filename": f"reading-{i}.bin", "host": "device-1"})
            packets.append((attributes.attributes, block[start : start + args.size]))
        streams.append(encoder.encode(packets))
    return streams


if __name__ == "__main__":
    main()
