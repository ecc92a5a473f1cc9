"""``ModelRunner``: one model's queue, its dynamic batcher and its replicas.

A request waits in the queue; the dispatcher takes an idle replica, then the requests
waiting (up to ``max-batch-size``, and its fair share when other replicas are idle too),
first giving the oldest until ``max-wait-ms`` after it arrived for more to join. Under
load the replicas are busy, requests pile up, and the next batch is full the moment a
replica frees: the batch size follows the load with no tuning. The wait ends early when
no other request for the model is on its way (``arriving``: its body or image still
being read), so a lone request at low load leaves at once.

Past ``queue-limit`` waiting requests, ``submit`` refuses at once (``Overloaded``: 429
with a Retry-After from the recent time per request), so a burst costs the clients a
retry rather than the server its memory. A batch that overruns the model's ``timeout``
fails (504) and its replica is killed. A replica that dies fails its batch
(``WorkerDied``, 503) and is started again while the others go on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from headwater.errors import ApiError
from headwater.models.serve.config import ModelSpec
from headwater.models.serve.metrics import ServeMetrics
from headwater.models.serve.workers import Replica, Result, WorkerDied, WorkerError

log = logging.getLogger(__name__)
RESTART_DELAY = 1.0  # seconds between attempts to start a replica that failed to start


class Overloaded(ApiError):
    """The queue is at its limit: answer 429 with ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, message)
        self.retry_after = retry_after


@dataclass
class _Pending:
    payload: Any
    future: asyncio.Future[Result]
    arrived: float


class ModelRunner:
    """Serves one model: ``submit`` a payload, get its ``Result``."""

    def __init__(self, spec: ModelSpec, cache: str | None, metrics: ServeMetrics) -> None:
        self.spec = spec
        self.cache = cache
        self.metrics = metrics
        self.replicas = [Replica(spec, cache, i) for i in range(spec.replicas)]
        self.failure: str | None = None  # why the model could not start, once it could not
        self._queue: deque[_Pending] = deque()
        self._arrived: asyncio.Event | None = None
        self._idle: asyncio.Queue[Replica] | None = None
        self._executor = ThreadPoolExecutor(spec.replicas, thread_name_prefix=f"model-{spec.name}")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seconds_per_request = 0.05  # a moving average, for Retry-After
        self._running = False
        self.arriving = 0  # requests for this model whose input is still being read

    @contextlib.contextmanager
    def expecting(self) -> Iterator[None]:
        """While a request's input is read: the batcher may wait for it."""
        self.arriving += 1
        try:
            yield
        finally:
            self.arriving -= 1

    @property
    def ready(self) -> bool:
        """At least one replica holds the model."""
        return self._idle is not None and any(r.loaded for r in self.replicas)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        """Start every replica (together), then dispatch; a replica that cannot start
        makes ``failure`` say why."""
        loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._idle = asyncio.Queue()
        self._running = True
        started = await asyncio.gather(
            *(loop.run_in_executor(self._executor, r.start) for r in self.replicas),
            return_exceptions=True,
        )
        failed = []
        for replica, outcome in zip(self.replicas, started, strict=True):
            if isinstance(outcome, BaseException):
                self.failure = str(outcome)
                log.error("%s", outcome)
                failed.append(replica)
            else:
                self._idle.put_nowait(replica)
        if self._idle.qsize() == 0:
            self._fail_waiting(503, f"model {self.spec.name!r} could not start: {self.failure}")
            return
        self._spawn(self._dispatch())
        for replica in failed:  # the others serve; these keep trying
            self._spawn(self._rejoin(replica))

    async def _rejoin(self, replica: Replica) -> None:
        assert self._idle is not None
        await asyncio.sleep(RESTART_DELAY)
        if await self._restart(replica):
            self._idle.put_nowait(replica)

    async def submit(self, payload: Any) -> Result:
        if not self._running:
            raise ApiError(503, f"model {self.spec.name!r} is not running")
        if self.failure is not None and not self.ready:
            raise ApiError(503, f"model {self.spec.name!r} could not start: {self.failure}")
        if len(self._queue) >= self.spec.batching.queue_limit:
            busy = max(1, sum(r.loaded for r in self.replicas))
            seconds = len(self._queue) * self._seconds_per_request / busy
            raise Overloaded(
                f"model {self.spec.name!r} has {len(self._queue)} requests waiting, its "
                f"queue limit; retry after {max(1, math.ceil(seconds))} s",
                max(1, math.ceil(seconds)),
            )
        loop = asyncio.get_running_loop()
        pending = _Pending(payload, loop.create_future(), loop.time())
        self._queue.append(pending)
        self.metrics.queue_depth.labels(self.spec.name).set(len(self._queue))
        assert self._arrived is not None
        self._arrived.set()
        return await pending.future

    async def _dispatch(self) -> None:
        assert self._idle is not None and self._arrived is not None
        loop = asyncio.get_running_loop()
        limit = self.spec.batching.max_batch_size
        wait = self.spec.batching.max_wait_ms / 1000.0
        while True:
            replica = await self._idle.get()
            while not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            deadline = self._queue[0].arrived + wait
            while (
                len(self._queue) < limit
                and self.arriving > 0
                and (remaining := deadline - loop.time()) > 0
            ):
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), remaining)
            # Other replicas idle too: share the waiting requests out rather than give
            # them all to this one while the rest wait for the next arrivals.
            share = math.ceil(len(self._queue) / (1 + self._idle.qsize()))
            batch = [self._queue.popleft() for _ in range(min(limit, share))]
            self.metrics.queue_depth.labels(self.spec.name).set(len(self._queue))
            batch = [p for p in batch if not p.future.done()]  # the caller went away
            if not batch:
                self._idle.put_nowait(replica)
                continue
            self._spawn(self._run(replica, batch))

    async def _run(self, replica: Replica, batch: list[_Pending]) -> None:
        assert self._idle is not None
        loop = asyncio.get_running_loop()
        self.metrics.batch_size.labels(self.spec.name).observe(len(batch))
        began = time.perf_counter()
        work = loop.run_in_executor(self._executor, replica.run, [p.payload for p in batch])
        try:
            results = await asyncio.wait_for(asyncio.shield(work), self.spec.timeout)
        except (WorkerDied, TimeoutError) as exc:
            failure = ApiError(503, str(exc))
            if isinstance(exc, TimeoutError):
                failure = ApiError(
                    504,
                    f"model {self.spec.name!r} took longer than {self.spec.timeout:g} s; its "
                    f"worker process (pid {replica.pid}) was stopped and is being restarted",
                )
                replica.kill()  # its thread's wait for the answer then ends
                with contextlib.suppress(WorkerDied):
                    await work
            log.warning("%s", failure)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(failure)
            self.metrics.restarts.labels(self.spec.name).inc()
            if await self._restart(replica):
                self._idle.put_nowait(replica)
            return
        took = (time.perf_counter() - began) / len(batch)
        self._seconds_per_request = 0.8 * self._seconds_per_request + 0.2 * took
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
        self._idle.put_nowait(replica)

    async def _restart(self, replica: Replica) -> bool:
        loop = asyncio.get_running_loop()
        while self._running:
            await loop.run_in_executor(self._executor, replica.stop, 1.0)
            if not self._running:
                return False
            try:
                await loop.run_in_executor(self._executor, replica.start)
                return True
            except WorkerError as exc:
                log.error("restarting: %s", exc)
                await asyncio.sleep(RESTART_DELAY)
        return False

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail_waiting(self, status: int, message: str) -> None:
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(ApiError(status, message))

    async def stop(self) -> None:
        """Fail what waits (503), stop dispatching, then stop every replica."""
        self._running = False
        self._fail_waiting(503, f"model {self.spec.name!r} is shutting down")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(None, r.stop) for r in self.replicas), return_exceptions=True
        )
        self._executor.shutdown(wait=False, cancel_futures=True)
