"""Back pressure: a fast GenerateFlowFile behind a queue of 1,000 objects, a slow PutFile.

PutFile takes 10 FlowFiles every 50 ms (about 200/s) while GenerateFlowFile could make
tens of thousands a second; the connection between them has back pressure at 1,000
objects, so the scheduler must stop triggering GenerateFlowFile whenever the queue is
full. The queue is sampled every few milliseconds in-process (``FlowController``) and
must stay at about 1,000: never above 1,000 plus one GenerateFlowFile batch (a trigger
that started just below the limit finishes its batch).

    python bench/back_pressure.py [--seconds 10] [--limit 1000] [--batch 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict


def flow(out: Path, *, limit: int, batch: int) -> dict[str, object]:
    return {
        "flow": "back-pressure",
        "processors": {
            "generate": {
                "type": "GenerateFlowFile",
                "properties": {"Batch Size": batch, "File Size": "32 B"},
                "schedule": {"period": "0 sec"},
            },
            "put": {
                "type": "PutFile",
                "properties": {
                    "Directory": str(out),
                    "Conflict Resolution Strategy": "replace",
                },
                "schedule": {"period": "50 ms", "batch-size": 10},
                "auto-terminate": ["success", "failure"],
            },
        },
        "connections": [
            {
                "id": "generate-to-put",
                "from": "generate",
                "relationships": ["success"],
                "to": "put",
                "back-pressure": {"objects": limit},
            }
        ],
    }


@dataclass
class Samples:
    counts: list[int]
    written: int
    generated: int
    seconds: float

    @property
    def steady(self) -> list[int]:
        """The samples once the queue first reached the limit (after the fill)."""
        top = max(self.counts)
        first = next(i for i, c in enumerate(self.counts) if c >= top * 0.9)
        return self.counts[first:]

    def summary(self, limit: int) -> str:
        steady = self.steady
        return (
            f"queue (limit {limit:,}): max {max(self.counts):,}, steady min {min(steady):,}"
            f" / median {statistics.median(steady):,.0f} / max {max(steady):,}"
            f" over {len(self.counts):,} samples in {self.seconds:.1f} s;"
            f" generated {self.generated:,}, written {self.written:,}"
            f" ({self.written / self.seconds:,.0f}/s)"
        )


def sample(root: Path, *, seconds: float, limit: int, batch: int, every: float = 0.005) -> Samples:
    """Run the flow for ``seconds`` and sample the queue between the two processors."""
    definition = load_flow_dict(flow(root / "out", limit=limit, batch=batch), "back-pressure")
    controller = FlowController(definition, root / "data")
    queue = controller.connections["generate-to-put"].queue
    counts: list[int] = []
    try:
        controller.start()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            counts.append(queue.count)
            time.sleep(every)
        elapsed = time.monotonic() - started
        generated = controller.nodes["generate"].stats.flowfiles_out
        written = controller.nodes["put"].stats.flowfiles_in
    finally:
        controller.stop()
    return Samples(counts, written, generated, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headwater-bp-") as tmp:
        samples = sample(Path(tmp), seconds=args.seconds, limit=args.limit, batch=args.batch)
    print(samples.summary(args.limit))
    ceiling = args.limit + args.batch
    ok = max(samples.counts) <= ceiling and min(samples.steady) >= args.limit * 0.8
    print(f"never above limit + one batch ({ceiling:,}): {'yes' if ok else 'NO'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
