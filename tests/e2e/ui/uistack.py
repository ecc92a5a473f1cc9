"""What the UI tests look at: a hub running a small flow on a free port, with a lake
fabricated like flows/edge-to-ai.yaml's (readings and images of two devices, their
JPEGs), a real jobs service running a quick Python job, and an agent's heartbeat."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from headwater.api.app import close_app, create_app
from headwater.api.server import ApiServer
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow
from headwater.jobs.config import parse_config
from headwater.jobs.server import JobsServer
from headwater.web.options import JobsLink, WebOptions

TOKEN = "ui-e2e-token"
JOBS_KEY = "ui-e2e-jobs-key"
PROJECT = "tspann/edge-to-ai"
HOSTS = ("pi-north", "pi-south")
AGENT = "pi-north"
JOB = "hello"

# Readings are made, JSON'd, cloned by a two-way route (a lineage of several FlowFiles)
# and stored as files; the clones wait before a disabled processor (back pressure).
FLOW = """\
flow: ui-e2e
parameters: {out: ./out}
processors:
  sense:
    type: GenerateFlowFile
    properties: {Batch Size: 2, device: "pi-${random():mod(2)}"}
    schedule: {period: 500 ms}
  to-json:
    type: ReplaceText
    properties:
      Replacement Strategy: Always Replace
      Evaluation Mode: Entire text
      Replacement Value: '{"device": "${device}"}'
  route:
    type: RouteOnAttribute
    properties: {archive: "true", keep: "true"}
    auto-terminate: [unmatched]
  store:
    type: PutFile
    properties: {Directory: "#{out}", Conflict Resolution Strategy: replace}
    auto-terminate: [success, failure]
  tag:
    type: UpdateAttribute
    properties: {kept: "yes"}
  held:
    type: UpdateAttribute
    enabled: false
    auto-terminate: [success]
connections:
  - {from: sense, relationships: [success], to: to-json}
  - {from: to-json, relationships: [success, failure], to: route}
  - {from: route, relationships: [archive], to: store}
  - {from: route, relationships: [keep], to: tag, back-pressure: {objects: 1000, size: 10 MB}}
  - {from: tag, relationships: [success], to: held, back-pressure: {objects: 3}}
"""
HELD = "held"
"""A disabled processor whose input queue fills to its back pressure (3 FlowFiles)."""


def fabricate_lake(lake: Path, images: Path, now_ms: int) -> None:
    """Readings every 30 s over the last 20 minutes from each host, and three images
    each (JPEGs in ``images``) with labels and a detection box [x, y, w, h]."""
    day = time.strftime("%Y-%m-%d", time.gmtime(now_ms / 1000))
    (lake / "sensors" / day).mkdir(parents=True)
    (lake / "images" / day).mkdir(parents=True)
    images.mkdir(parents=True)
    readings, shots = [], []
    for h, host in enumerate(HOSTS):
        for n in range(40):
            millis = now_ms - (40 - n) * 30_000
            name = f"bog_image_{host}_{n}.jpg"
            readings.append(
                {
                    "uuid": f"{host}-{n}",
                    "host": host,
                    "imgname": f"/opt/demo/images/{name}",
                    "systemtime": time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(millis / 1000)),
                    "cputemp": 45 + n % 5 + h,
                    "memory": 30.0 + n % 7,
                    "bme680_tempc": 20.0 + n / 10 + h,
                    "bme680_humidity": 40.0 + n % 3,
                    "bme680_pressure": 1000.0 + n % 4,
                    "ltr559_lux": float(n * 3 % 50),
                    "end": millis / 1000,
                }
            )
            if n >= 37:
                shots.append(_image(host, n, millis, name, images))
    pq.write_table(pa.Table.from_pylist(readings), lake / "sensors" / day / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(shots), lake / "images" / day / "part-0.parquet")


def _image(host: str, n: int, millis: int, name: str, folder: Path) -> dict[str, object]:
    picture = Image.new("RGB", (320, 240), (40 + n * 5, 90, 140))
    ImageDraw.Draw(picture).rectangle((100, 60, 180, 200), fill=(220, 200, 160))
    out = io.BytesIO()
    picture.save(out, "JPEG")
    (folder / name).write_bytes(out.getvalue())
    row: dict[str, object] = {
        "filename": name,
        "host": host,
        "uuid": f"img-{host}-{n}",
        "time": millis,
        "url": f"ftp://127.0.0.1:2121/images/{name}",
        "detections": json.dumps(
            [{"label": "person", "confidence": 0.81, "box": [100, 60, 80, 140]}]
        ),
        "person": True,
    }
    for k in range(1, 6):
        row[f"label_{k}"] = f"label {k}"
        row[f"probability_{k}"] = f"{60 / k:.2f}%"
    return row


@dataclass
class UiStack:
    """A hub the UI is checked on: its base URL and token."""

    url: str
    token: str


def heartbeat(url: str, agent: str = AGENT) -> None:
    """One C2 heartbeat, as an agent sends it, so the Agents page has someone to show."""
    body = {
        "agentInfo": {
            "identifier": agent,
            "agentClass": "simulated",
            "status": {
                "uptime": 60_000,
                "resourceConsumption": {"memoryUsage": 48_000_000, "cpuUtilization": 3.5},
            },
        },
        "flowInfo": {
            "flowId": "5f2a9c0e1b7d",
            "flowName": "agent-sensors",
            "running": True,
            "queues": {"readings": {"size": 3, "dataSize": 1200}},
            "dropped": {"total": 2, "connections": {"readings": 2}},
        },
    }
    answer = httpx.post(
        f"{url}/c2-protocol/heartbeat",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    answer.raise_for_status()


@contextlib.contextmanager
def ui_stack(base: Path) -> Iterator[UiStack]:
    """The whole stack under ``base``, all on 127.0.0.1 with free ports; stopped after."""
    scripts = base / "scripts"
    scripts.mkdir()
    (scripts / "hello.py").write_text("print('hello from the UI test', flush=True)\n")
    config = parse_config(
        {
            "data-dir": "jobs-data",
            "users": {"tspann": {"name": "T", "email": "t@example.com", "api-key": JOBS_KEY}},
            "projects": {PROJECT: {"name": "Edge to AI", "directory": str(scripts)}},
            "jobs": [{"project": PROJECT, "name": JOB, "script": "hello.py"}],
        },
        base,
    )
    lake, images = base / "data" / "lake", base / "data" / "ftp" / "images"
    fabricate_lake(lake, images, int(time.time() * 1000))
    with contextlib.ExitStack() as stack:
        jobs = stack.enter_context(JobsServer(config, "127.0.0.1", 0))
        flow = load_flow(FLOW, parameters={"out": str(base / "out")})
        controller = FlowController(flow, base / "data" / "hub")
        stack.callback(controller.stop)
        web = WebOptions(lake=lake, images=images, jobs=JobsLink(jobs.url, JOBS_KEY, PROJECT))
        app = create_app(controller, token=TOKEN, web=web)
        stack.callback(close_app, app)
        hub = ApiServer(app, "127.0.0.1", 0)
        hub.start()
        stack.callback(hub.stop)
        controller.start()
        heartbeat(hub.url)
        yield UiStack(hub.url, TOKEN)


@contextlib.contextmanager
def bare_hub(base: Path, jobs_url: str) -> Iterator[UiStack]:
    """A hub without a lake, linked to ``jobs_url`` (where nothing may listen): the
    pages' errors and notices to check."""
    controller = FlowController(load_flow(FLOW, parameters={"out": str(base / "out")}), base)
    web = WebOptions(jobs=JobsLink(jobs_url, JOBS_KEY, PROJECT))
    hub = ApiServer(create_app(controller, token=TOKEN, web=web), "127.0.0.1", 0)
    hub.start()
    try:
        yield UiStack(hub.url, TOKEN)
    finally:
        hub.stop()
        controller.stop()
