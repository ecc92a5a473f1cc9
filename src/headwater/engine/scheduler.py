"""The scheduler: a pool of worker threads triggering processors when they may run.

A processor may run when it is started, has a free concurrent task, its run schedule
(timer period or Quartz cron) has come, it is not yielded, none of its outgoing
queues is full (back pressure), and it has input, unless it is a source. Workers sleep
on a condition that every commit signals, so work is picked up at once and an idle
flow costs nothing. A source fed from outside (ListenHTTP) says whether it has work
through ``Processor.has_pending_work`` and wakes the workers with the callback it got
from ``Processor.attach_wake`` (``Scheduler.wake``) when work arrives: once scheduled,
it is triggered only then, neither polled nor kept waiting for a period.

A processor that raises is rolled back (inputs penalized and returned to their queue),
gets a bulletin and is administratively yielded; a repository failure is an engine
fault: every worker stops and the queues stay as the repositories hold them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from headwater.engine.cron import QuartzCron
from headwater.engine.node import ProcessorNode, ScheduledState
from headwater.engine.repositories import Repositories
from headwater.engine.session import ProcessSession
from headwater.errors import RepositoryError
from headwater.flow.model import SchedulingStrategy

log = logging.getLogger("headwater.scheduler")

_IDLE_WAIT = 0.5


class Scheduler:
    """Runs the nodes' triggers on ``threads`` worker threads."""

    def __init__(
        self,
        nodes: Sequence[ProcessorNode],
        repositories: Repositories,
        *,
        threads: int = 4,
        administrative_yield: float = 30.0,
        on_fault: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.nodes = list(nodes)
        self.repositories = repositories
        self.threads = max(1, threads)
        self.administrative_yield = administrative_yield
        self._on_fault = on_fault
        self._cond = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._running = False
        self._rotation = 0
        self._crons = {
            n.id: QuartzCron(n.schedule.cron)
            for n in self.nodes
            if n.schedule.strategy is SchedulingStrategy.CRON_DRIVEN and n.schedule.cron
        }
        self.fault: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
        for node in self.nodes:
            if node.state is ScheduledState.STOPPED:
                self.start_node(node)
        for index in range(self.threads):
            worker = threading.Thread(
                target=self._work, name=f"headwater-worker-{index}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling, let running triggers finish, then call ``on_stopped``."""
        with self._cond:
            self._running = False
            for node in self.nodes:
                if node.state is ScheduledState.RUNNING:
                    node.state = ScheduledState.STOPPED
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        self._workers.clear()
        for node in self.nodes:
            self._stopped(node)

    def start_node(self, node: ProcessorNode) -> None:
        with self._cond:
            if node.state is not ScheduledState.DISABLED:
                node.state = ScheduledState.RUNNING
                node.next_run = self._first_run(node)
            self._cond.notify_all()

    def stop_node(self, node: ProcessorNode, timeout: float = 30.0) -> None:
        with self._cond:
            if node.state is ScheduledState.RUNNING:
                node.state = ScheduledState.STOPPED
            deadline = time.monotonic() + timeout
            while node.active_tasks and time.monotonic() < deadline:
                self._cond.wait(0.05)
        self._stopped(node)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    @property
    def running(self) -> bool:
        return self._running

    # -- choosing work -----------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                node = None
                while self._running:
                    node, wait = self._next_ready()
                    if node is not None:
                        node.active_tasks += 1
                        break
                    self._cond.wait(wait)
                if node is None:
                    return
            try:
                self._trigger(node)
            finally:
                with self._cond:
                    node.active_tasks -= 1
                    self._cond.notify_all()

    def _next_ready(self) -> tuple[ProcessorNode | None, float]:
        now = time.monotonic()
        wait = _IDLE_WAIT
        nodes = self.nodes
        count = len(nodes)
        for step in range(count):
            node = nodes[(self._rotation + step) % count]
            if node.state is not ScheduledState.RUNNING:
                continue
            if node.active_tasks >= node.schedule.concurrent_tasks:
                continue
            due = max(node.next_run, node.yield_until)
            if due > now:
                wait = min(wait, due - now)
                continue
            if node.is_back_pressured():
                continue
            if node.is_source:
                if node.scheduled and not node.processor.has_pending_work():
                    continue
            elif not node.has_work(now):
                continue
            self._rotation = (self._rotation + step + 1) % count
            node.next_run = self._following_run(node, now)
            return node, 0.0
        return None, max(wait, 0.001)

    def _first_run(self, node: ProcessorNode) -> float:
        return self._following_run(node, time.monotonic()) if node.id in self._crons else 0.0

    def _following_run(self, node: ProcessorNode, now: float) -> float:
        cron = self._crons.get(node.id)
        if cron is not None:
            wall = datetime.now(UTC)
            return now + (cron.next_after(wall) - wall).total_seconds()
        return now + node.schedule.period if node.schedule.period else 0.0

    # -- running a trigger -------------------------------------------------------------

    def _trigger(self, node: ProcessorNode) -> None:
        context = node.context
        if context is None:
            return
        if not node.scheduled and not self._schedule(node):
            return
        session = ProcessSession(node, self.repositories, self.wake)
        started = time.perf_counter_ns()
        try:
            node.processor.on_trigger(context, session)
            session.commit()
        except RepositoryError as exc:
            self._engine_fault(node, session, exc)
        except Exception as exc:
            _safe_rollback(session)
            message = f"{type(exc).__name__}: {exc}"
            log.exception("%s (%s) failed; rolled back and yielding", node.id, node.type_name)
            node.bulletin("ERROR", message)
            with node.lock:
                node.stats.errors += 1
            node.yield_until = time.monotonic() + self.administrative_yield
        finally:
            with node.lock:
                node.stats.tasks += 1
                node.stats.task_nanos += time.perf_counter_ns() - started
        if context.yield_requested:
            context.yield_requested = False
            node.yield_until = max(
                node.yield_until, time.monotonic() + node.schedule.yield_duration
            )

    def _schedule(self, node: ProcessorNode) -> bool:
        """Call ``on_scheduled`` once; on failure, retry after the administrative yield."""
        with node.lock:
            if node.scheduled:
                return True
            assert node.context is not None
            try:
                node.processor.attach_wake(self.wake)
                node.processor.on_scheduled(node.context)
            except Exception as exc:
                node.bulletin("ERROR", f"could not be scheduled: {type(exc).__name__}: {exc}")
                node.yield_until = time.monotonic() + self.administrative_yield
                log.exception("%s (%s) could not be scheduled", node.id, node.type_name)
                return False
            node.scheduled = True
            return True

    def _stopped(self, node: ProcessorNode) -> None:
        with node.lock:
            if not node.scheduled or node.context is None:
                return
            node.scheduled = False
        try:
            node.processor.on_stopped(node.context)
        except Exception:
            log.exception("%s (%s) failed to stop cleanly", node.id, node.type_name)

    def _engine_fault(
        self, node: ProcessorNode, session: ProcessSession, exc: BaseException
    ) -> None:
        log.error("engine fault in %s: %s; stopping with queues intact", node.id, exc)
        node.bulletin("ERROR", f"engine fault: {exc}")
        self.fault = exc
        with self._cond:  # stop scheduling first, so nothing takes what the rollback returns
            self._running = False
            self._cond.notify_all()
        _safe_rollback(session)
        if self._on_fault is not None:
            self._on_fault(exc)


def _safe_rollback(session: ProcessSession) -> None:
    try:
        session.rollback(penalize=True)
    except Exception:
        log.exception("rollback failed")
