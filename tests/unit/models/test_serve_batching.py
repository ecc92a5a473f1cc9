"""ModelRunner's batching, back pressure, timeouts and restarts, over stand-in replicas
(threads, not processes) so each case is quick and exact."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from headwater.errors import ApiError
from headwater.models.serve.batching import ModelRunner, Overloaded
from headwater.models.serve.config import Batching, ModelSpec
from headwater.models.serve.metrics import ServeMetrics
from headwater.models.serve.workers import Result, WorkerDied


class StandIn:
    """What ModelRunner uses of a Replica; ``hold`` makes ``run`` wait, ``die`` makes it
    fail as a killed process would."""

    def __init__(self, spec: ModelSpec, index: int) -> None:
        self.spec, self.index = spec, index
        self.pid: int | None = None
        self.loaded = False
        self.batches = 0
        self.sizes: list[int] = []
        self.starts = 0
        self.hold = threading.Event()
        self.hold.set()
        self.die = False
        self.killed = threading.Event()

    def start(self) -> None:
        self.starts += 1
        self.pid, self.loaded = 1000 + self.starts, True

    def run(self, items: Sequence[Any]) -> list[Result]:
        self.sizes.append(len(items))
        while not self.hold.wait(0.01):
            if self.killed.is_set():
                raise WorkerDied("killed")
        if self.die:
            self.die = False
            raise WorkerDied(f"the worker process (pid {self.pid}) was killed by signal 9")
        self.batches += 1
        return [("ok", {"echo": item, "replica": self.index}) for item in items]

    def kill(self) -> None:
        self.killed.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.loaded = False
        self.killed.clear()


def runner(replicas: int = 1, **batching: Any) -> tuple[ModelRunner, list[StandIn]]:
    spec = ModelSpec("m", "python", replicas=replicas, batching=Batching(**batching), timeout=0.5)
    made = ModelRunner(spec, None, ServeMetrics())
    stand_ins = [StandIn(spec, i) for i in range(replicas)]
    made.replicas = stand_ins  # type: ignore[assignment]
    return made, stand_ins


def test_waiting_requests_are_shared_between_idle_replicas() -> None:
    async def scenario() -> None:
        model, replicas = runner(2, max_batch_size=16, max_wait_ms=50)
        await model.start()
        results = await asyncio.gather(*(model.submit(n) for n in range(8)))
        assert [r[1]["echo"] for r in results] == list(range(8))
        assert sorted(r.sizes[0] for r in replicas) == [4, 4]
        await model.stop()

    asyncio.run(scenario())


def test_a_batch_holds_at_most_max_batch_size() -> None:
    async def scenario() -> None:
        model, (replica,) = runner(1, max_batch_size=3, max_wait_ms=0)
        await model.start()
        await asyncio.gather(*(model.submit(n) for n in range(7)))
        assert replica.sizes == [3, 3, 1]
        await model.stop()

    asyncio.run(scenario())


def test_past_the_queue_limit_submit_is_refused_with_retry_after() -> None:
    async def scenario() -> None:
        model, (replica,) = runner(1, max_batch_size=1, max_wait_ms=0, queue_limit=2)
        await model.start()
        replica.hold.clear()
        busy = asyncio.ensure_future(model.submit("busy"))
        while not replica.sizes:
            await asyncio.sleep(0.005)
        queued = [asyncio.ensure_future(model.submit(n)) for n in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded) as refused:
            await model.submit("one too many")
        assert refused.value.status == 429 and refused.value.retry_after >= 1
        replica.hold.set()
        assert (await busy)[0] == "ok" and [(await q)[0] for q in queued] == ["ok", "ok"]
        await model.stop()

    asyncio.run(scenario())


def test_a_dead_replica_fails_its_batch_with_503_and_is_started_again() -> None:
    async def scenario() -> None:
        model, (replica,) = runner(1, max_batch_size=4, max_wait_ms=0)
        await model.start()
        replica.die = True
        with pytest.raises(ApiError) as failed:
            await model.submit("x")
        assert failed.value.status == 503 and "killed by signal 9" in str(failed.value)
        assert (await model.submit("y"))[1]["echo"] == "y"
        assert replica.starts == 2
        await model.stop()

    asyncio.run(scenario())


def test_a_batch_past_the_timeout_is_a_504_and_its_replica_restarts() -> None:
    async def scenario() -> None:
        model, (replica,) = runner(1, max_batch_size=4, max_wait_ms=0)
        await model.start()
        replica.hold.clear()
        with pytest.raises(ApiError) as late:
            await model.submit("slow")
        assert late.value.status == 504 and "took longer than 0.5 s" in str(late.value)
        replica.hold.set()
        assert (await model.submit("next"))[0] == "ok" and replica.starts == 2
        await model.stop()

    asyncio.run(scenario())


def test_stopping_fails_what_waits_with_503() -> None:
    async def scenario() -> None:
        model, (replica,) = runner(1, max_batch_size=1, max_wait_ms=0)
        await model.start()
        replica.hold.clear()
        first = asyncio.ensure_future(model.submit("a"))
        while not replica.sizes:
            await asyncio.sleep(0.005)
        waiting = asyncio.ensure_future(model.submit("b"))
        await asyncio.sleep(0.01)
        await model.stop()
        with pytest.raises(ApiError) as stopped:
            await waiting
        assert stopped.value.status == 503 and "shutting down" in str(stopped.value)
        replica.hold.set()  # lets the stand-in's thread finish
        first.cancel()

    asyncio.run(scenario())


def test_a_replica_that_failed_to_start_joins_later(monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.models.serve import batching
    from headwater.models.serve.workers import WorkerError

    monkeypatch.setattr(batching, "RESTART_DELAY", 0.01)

    class FlakyStart(StandIn):
        def start(self) -> None:
            super().start()
            if self.starts == 1:
                self.loaded = False
                raise WorkerError("could not load its model: out of memory")

    async def scenario() -> None:
        model, replicas = runner(2, max_batch_size=1, max_wait_ms=0)
        flaky = FlakyStart(model.spec, 1)
        model.replicas = [replicas[0], flaky]  # type: ignore[list-item]
        await model.start()
        assert model.ready and "out of memory" in (model.failure or "")
        while not flaky.loaded:
            await asyncio.sleep(0.01)
        await asyncio.gather(*(model.submit(n) for n in range(8)))
        assert flaky.starts == 2 and flaky.batches > 0
        await model.stop()

    asyncio.run(scenario())
