"""The seed's devices and hub, as shipped: `headwater run flows/hub.yaml` and three
`headwater agent` processes running `flows/agent.yaml` (simulated sensors, a folder of
sample photos for the camera, the int8 classifier on the device), each with its own
token, on 127.0.0.1.

For two minutes the agents read every second and take an image every 10 s; the hub is
stopped for 60 s in the middle, and the agents keep their data meanwhile. Then C2
pushes each agent its flow without sources (the queues must survive the swap) and the
agents drain. Every reading and image each agent made (its own provenance: CREATE
events) reached the hub exactly once (the hub's RECEIVE events), the Parquet rows carry
each agent's host once per reading, and the hub's lineage of a stored reading starts at
the device's CREATE.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pyarrow.dataset as ds
import pytest
import yaml

from headwater.models.testing import prepared_cache
from headwater.repository.provenance import SqliteProvenanceRepository
from ports import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
AGENTS = ("agent-1", "agent-2", "agent-3")
SECONDS = float(os.environ.get("HEADWATER_AGENTS_SECONDS", "120"))
OUTAGE = float(os.environ.get("HEADWATER_OUTAGE_SECONDS", "60"))
HUB_TOKEN = "hub-token-for-tests"
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Site:
    """The hub and agents of one test, each a process with its log in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub: subprocess.Popen[bytes] | None = None
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        self.api = httpx.Client(headers={"Authorization": f"Bearer {HUB_TOKEN}"}, timeout=10)
        self.photos = root / "photos"
        self.lake = root / "lake"

    def token(self, agent: str) -> str:
        return f"token-of-{agent}-0123456789"

    def spawn(self, name: str, *arguments: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        environment = {**os.environ, "HEADWATER_MODELS": str(prepared_cache())}
        command = [sys.executable, "-m", "headwater", *arguments]
        return subprocess.Popen(command, stdout=log, stderr=log, env=environment)

    def start_hub(self) -> None:
        agents = {"agents": {a: {"token": self.token(a)} for a in AGENTS}}
        (self.root / "agents.yaml").write_text(yaml.safe_dump(agents))
        self.hub = self.spawn(
            "hub",
            *("run", str(REPO / "flows" / "hub.yaml"), "--data-dir", str(self.root / "hub")),
            *("--api", f"127.0.0.1:{self.port}", "--token", HUB_TOKEN),
            *("--agents", str(self.root / "agents.yaml"), "-p", f"lake={self.lake}"),
        )
        wait_for(self.healthy, "the hub to answer")

    def healthy(self) -> bool:
        try:
            return self.api.get(f"{self.url}/api/v1/health").status_code == 200
        except httpx.TransportError:
            return False

    def stop_hub(self) -> None:
        assert self.hub is not None
        stop(self.hub)

    def start_agent(self, agent: str) -> None:
        config = {
            "agent": {"id": agent},
            "flow": str(REPO / "flows" / "agent.yaml"),
            "data-dir": str(self.root / agent),
            "parameters": {
                "hub_url": self.url,
                "agent_token": self.token(agent),
                "agent_id": agent,
                "host_name": f"{agent}.local",
                "sample_images": str(self.photos),
            },
            "c2": {"urls": [self.url], "heartbeat-period": "1 sec", "token": self.token(agent)},
        }
        path = self.root / f"{agent}.yaml"
        path.write_text(yaml.safe_dump(config))
        self.agents[agent] = self.spawn(agent, "agent", "--config", str(path))

    def agent_status(self, agent: str) -> dict[str, Any] | None:
        answer = self.api.get(f"{self.url}/api/v1/agents/{agent}")
        return answer.json() if answer.status_code == 200 else None

    def close(self) -> None:
        for process in [*self.agents.values(), *([self.hub] if self.hub else [])]:
            stop(process)
        self.api.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = Site(tmp_path)
    write_photos(site.photos)
    yield site
    site.close()


def write_photos(folder: Path) -> None:
    """Three sample photos, as a device without a camera would be given."""
    from PIL import Image
    from skimage import data

    folder.mkdir()
    for name in ("coffee", "chelsea", "astronaut"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.jpg", quality=90)


def drain_flow() -> str:
    """flows/agent.yaml with its sources switched off: what C2 sends to let an agent
    deliver what it holds and make nothing new."""
    flow = yaml.safe_load((REPO / "flows" / "agent.yaml").read_text())
    for source in ("sensors", "camera"):
        flow["processors"][source]["enabled"] = False
    return yaml.safe_dump(flow, sort_keys=False)


def device_events(site: Site, agent: str) -> dict[str, list[str]]:
    """The uuids of the readings and images the agent made (CREATE events of its
    ``sensors`` and ``camera``, and the camera's processed copies: FORK children), and
    of what it dropped past its caps."""
    with SqliteProvenanceRepository(site.root / agent / "provenance_repository") as repository:
        events = repository.query(limit=1_000_000, newest_first=False)
    out: dict[str, list[str]] = {"sensors": [], "camera": [], "lost": []}
    for event in events:
        if event.event_type == "CREATE" and event.component_id in out:
            out[event.component_id].append(event.flowfile_uuid)
        elif event.event_type == "FORK" and event.component_id == "camera":
            out["camera"] += event.child_uuids
        elif event.event_type == "DROP" and "cap" in (event.details or ""):
            out["lost"].append(event.flowfile_uuid)
    return out


def test_three_agents_deliver_everything_exactly_once_across_a_hub_outage(site: Site) -> None:
    site.start_hub()
    for agent in AGENTS:
        site.start_agent(agent)
    started = time.monotonic()
    wait_for(lambda: all(site.agent_status(a) for a in AGENTS), "a heartbeat from each agent")

    time.sleep(max(0.0, (SECONDS - OUTAGE) / 2 - (time.monotonic() - started)))
    site.stop_hub()  # the agents keep reading and taking pictures, into their queues
    time.sleep(OUTAGE)
    site.start_hub()
    time.sleep(max(0.0, SECONDS - (time.monotonic() - started)))

    drain = drain_flow()
    for agent in AGENTS:
        pushed = site.api.post(f"{site.url}/api/v1/agents/{agent}/flow", content=drain)
        assert pushed.status_code == 202, pushed.text

    def drained(agent: str) -> bool:
        status = site.agent_status(agent)
        if status is None or (status["lastOperation"] or {}).get("state") != "FULLY_APPLIED":
            return False
        return status["queuedCount"] == 0 and status["secondsSinceHeartbeat"] < 2

    for agent in AGENTS:
        wait_for(lambda agent=agent: drained(agent), f"{agent} to apply the flow and drain", 90)
    for process in site.agents.values():
        stop(process)

    # Each agent's readings and images, as it recorded them itself.
    made = {agent: device_events(site, agent) for agent in AGENTS}
    for agent, events in made.items():
        assert not events["lost"], f"{agent} dropped data past its caps"
        assert len(events["sensors"]) >= SECONDS * 0.8, f"{agent}: {len(events['sensors'])}"
        assert len(events["camera"]) >= SECONDS / 10, f"{agent}: {len(events['camera'])}"

    # The hub took every one of them exactly once (settled once its queues are empty).
    def received() -> Counter[str] | None:
        status = site.api.get(f"{site.url}/api/v1/status").json()
        if any(c["queuedCount"] for c in status["connections"]):
            return None
        answer = site.api.get(
            f"{site.url}/api/v1/provenance/events", params={"type": "RECEIVE", "limit": 10_000}
        )
        ports = ("readings", "images")
        return Counter(
            e["flowFileUuid"] for e in answer.json()["events"] if e["componentId"] in ports
        )

    counts = wait_for(received, "the hub to store what it received")
    everything = {u for events in made.values() for u in events["sensors"] + events["camera"]}
    assert set(counts) == everything
    assert counts.most_common(1)[0][1] == 1, "a FlowFile was received twice"

    # Parquet: one row per reading, each agent's host on its own readings; the images.
    table = ds.dataset(site.lake / "sensors", format="parquet").to_table()
    hosts = Counter(table.column("host").to_pylist())
    assert hosts == {f"{agent}.local": len(made[agent]["sensors"]) for agent in AGENTS}
    uuids = table.column("uuid").to_pylist()
    assert len(uuids) == len(set(uuids))
    images = [p.name for p in (site.lake / "images").iterdir()]
    assert len(images) == sum(len(events["camera"]) for events in made.values())
    assert all(name.startswith("bog_image_") and name.endswith(".jpg") for name in images)

    # The lineage of a stored reading starts at the device's CREATE.
    stored = site.api.get(
        f"{site.url}/api/v1/provenance/events",
        params={"component": "merge-readings", "type": "JOIN", "limit": 1},
    ).json()["events"][0]
    parent = stored["parentUuids"][0]
    lineage = site.api.get(f"{site.url}/api/v1/provenance/lineage/{parent}").json()
    first = next(n for n in lineage["nodes"] if n["type"] == "EVENT")
    assert first["eventType"] == "CREATE"
    assert first["componentId"].split("/")[0] in AGENTS
