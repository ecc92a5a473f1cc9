"""A sender killed with SIGKILL in the middle of its transactions, then restarted over
the same data directory: every FlowFile arrives at the hub exactly once (nothing lost,
nothing doubled), however the kill fell between the hub's commit and the sender's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from test_site_to_site import HubProcess

from headwater.engine.repositories import Repositories
from headwater.flowfile import FlowFile, now_millis

QUEUE = "source/success/send"
COUNT = 6000

SENDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from headwater.engine.controller import FlowController
    from headwater.flow.loader import load_flow_dict

    flow = load_flow_dict({
        "flow": "device",
        "processors": {
            "source": {"type": "GenerateFlowFile", "enabled": "false"},
            "send": {
                "type": "RemoteProcessGroup",
                "properties": {"Target URLs": sys.argv[2], "Port Name": "readings",
                               "Batch Count": "200", "Communications Timeout": "5 sec"},
                "schedule": {"concurrent-tasks": "2"},
            },
        },
        "connections": [{"from": "source", "relationships": ["success"], "to": "send",
                         "back-pressure": {"objects": "0", "size": "0"}}],
    })
    controller = FlowController(flow, Path(sys.argv[1]))
    queue = controller.connections["source/success/send"].queue
    controller.start()
    while queue.count:
        time.sleep(0.01)
    controller.stop()
    print("drained", flush=True)
    """
)


def fill(data_dir: Path, count: int) -> dict[str, bytes]:
    """Queue ``count`` FlowFiles for the sender, durably; uuid → content."""
    repos = Repositories.open(data_dir)
    sent = {}
    try:
        writer = repos.content.acquire_writer()
        rows = []
        for i, seq in enumerate(repos.flowfiles.next_seqs(count)):
            content = f"reading {i} ".encode() * (i % 7 + 1)
            ff = FlowFile.create({"filename": f"r{i}.txt"})
            ff.claim, ff.offset, ff.size = writer.claim, writer.append(content), len(content)
            ff.seq, ff.queued_at = seq, now_millis()
            rows.append(repos.flowfiles.row(QUEUE, ff))
            sent[ff.uuid] = content
        writer.flush()
        repos.content.release_writer(writer)
        repos.flowfiles.commit(rows, [])
    finally:
        repos.close()
    return sent


def sender(data_dir: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, str(data_dir), url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_sender_killed_mid_transaction_loses_and_doubles_nothing(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub")
    device = tmp_path / "device"
    sent = fill(device, COUNT)
    try:
        first = sender(device, hub.url)
        deadline = time.monotonic() + 60
        while hub.count() < 1000:  # some transactions done, more in flight
            assert first.poll() is None, "the sender ended before it could be killed"
            assert time.monotonic() < deadline, "the sender sent nothing"
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert hub.count() < COUNT, "everything was sent before the kill: use more FlowFiles"

        second = sender(device, hub.url)
        out, _ = second.communicate(timeout=120)
        assert "drained" in out
        received = hub.received()
        assert hub.count() == COUNT  # nothing doubled
        assert {uuid: content for uuid, (_, content) in received.items()} == sent
        counters = hub.controller.nodes["in"].stats.counters
        assert counters["FlowFiles received"] == COUNT
        print("duplicates recognised:", counters.get("FlowFiles already received", 0))
    finally:
        hub.stop()
