"""Replicas: worker processes that each hold one model and run batches of requests.

Why a pool of processes behind one server process, rather than several server processes
sharing the port with SO_REUSEPORT: the batcher then sees every request, so batches fill
from all connections (the kernel would split them between servers, each batching a
fraction); the queue limit, the 429s and the Prometheus metrics are one set of numbers
with no multiprocess collector; and a replica that dies is noticed by the one process
that sent it work, which fails exactly that batch with a clear error and starts another.
The front process only parses HTTP, fetches images and moves bytes; decoding and
inference run in the replicas, one batch at a time each, in parallel across cores.

Processes are started with ``spawn``: the server has threads (uvicorn, executors) and
forking a threaded process can copy a held lock. A user's model (``kind: python``) is
imported only here, in the worker, so its import-time code and its crashes stay there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import orjson

from headwater.errors import HeadwaterError
from headwater.models.serve.config import ModelSpec

Result = tuple[Any, ...]
"""``("ok", response)`` or ``("error", status, message)``: one per request of a batch."""

Runner = Callable[[Sequence[Any]], list[Result]]


class WorkerError(HeadwaterError):
    """A replica could not start, or died while it held a batch."""


class WorkerDied(WorkerError):
    """The replica's process ended while running a batch (killed, crashed, exited)."""


def _load_builtin(spec: ModelSpec, cache: str | None) -> Runner:
    threads = spec.threads or max(1, (os.cpu_count() or 1) // spec.replicas)
    model: Any
    if spec.builtin == "coco-detector":
        from headwater.models.detector import ObjectDetector

        model = ObjectDetector.open(spec.variant, threads=threads, cache=cache)
        infer = model.detect_bytes
    else:
        from headwater.models.classifier import ImageClassifier

        model = ImageClassifier.open(spec.variant, threads=threads, cache=cache)
        infer = model.classify_bytes

    def run(images: Sequence[Any]) -> list[Result]:
        found = infer(list(images))
        return [
            ("ok", result) if isinstance(result, dict) else ("error", 422, result)
            for result in found
        ]

    return run


def _load_python(spec: ModelSpec) -> Runner:
    assert spec.file is not None
    module_name = f"headwater_user_model_{spec.name.replace('-', '_').replace('.', '_')}"
    loader = importlib.util.spec_from_file_location(module_name, spec.file)
    if loader is None or loader.loader is None:
        raise WorkerError(f"cannot import {spec.file}")
    module = importlib.util.module_from_spec(loader)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up there
    sys.path.insert(0, os.fspath(spec.file.parent))  # its sibling modules, as on CDSW
    loader.loader.exec_module(module)
    function = getattr(module, spec.function)

    def run(requests: Sequence[Any]) -> list[Result]:
        out: list[Result] = []
        for args in requests:
            try:
                response = function(args)
                orjson.dumps(response)
            except orjson.JSONEncodeError as exc:
                out.append(("error", 500, f"{spec.function} returned what JSON cannot hold: {exc}"))
            except Exception as exc:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                out.append(
                    (
                        "error",
                        500,
                        f"{spec.function} raised {type(exc).__name__}: {exc} "
                        f"({os.path.basename(where.filename)}:{where.lineno})",
                    )
                )
            else:
                out.append(("ok", response))
        return out

    return run


def worker_main(conn: Connection, spec: ModelSpec, cache: str | None) -> None:
    """A replica's process: load the model, say ready, then answer batches until told
    to stop (``None``) or the server's end of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its replicas itself
    try:
        run = _load_builtin(spec, cache) if spec.kind == "builtin" else _load_python(spec)
    except BaseException as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        number, items = message
        conn.send((number, run(items)))


class Replica:
    """One worker process and the server's end of its pipe; used by one thread at a time."""

    _numbers = itertools.count(1)

    def __init__(self, spec: ModelSpec, cache: str | None, index: int) -> None:
        self.spec = spec
        self.cache = cache
        self.index = index
        self.process: Any = None
        self._conn: Connection | None = None
        self.batches = 0
        self.loaded = False  # the model is in memory and the process answers

    @property
    def pid(self) -> int | None:
        pid = None if self.process is None else self.process.pid
        return None if pid is None else int(pid)

    def start(self, timeout: float = 120.0) -> None:
        """Start the process and wait until its model is loaded (WorkerError if not)."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(
            target=worker_main,
            args=(theirs, self.spec, self.cache),
            name=f"headwater-model-{self.spec.name}-{self.index}",
            daemon=True,
        )
        self.process.start()
        theirs.close()  # so that the replica's death reads as EOF here
        self._conn = ours
        what = f"replica {self.index} of model {self.spec.name!r} (pid {self.pid})"
        if not ours.poll(timeout):
            self.stop()
            raise WorkerError(f"{what} did not load its model within {timeout:g} s")
        try:
            state, detail = ours.recv()
        except (EOFError, OSError) as exc:
            self.stop()
            raise WorkerError(f"{what} exited while loading its model") from exc
        if state != "ready":
            self.stop()
            raise WorkerError(f"{what} could not load its model: {detail}")
        self.loaded = True

    def run(self, items: Sequence[Any]) -> list[Result]:
        """Send one batch and wait for its results (WorkerDied if the process ends)."""
        conn = self._conn
        if conn is None:
            raise WorkerDied(f"replica {self.index} of model {self.spec.name!r} is not running")
        number = next(self._numbers)
        try:
            conn.send((number, list(items)))
            answer, results = conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            self.loaded = False
            raise WorkerDied(self._death()) from exc
        if answer != number or len(results) != len(items):
            raise WorkerDied(
                f"replica {self.index} of model {self.spec.name!r} answered out of turn"
            )
        self.batches += 1
        return list(results)

    def _death(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        how = (
            f"was killed by signal {-code}"
            if code is not None and code < 0
            else f"exited with code {code}"
            if code is not None
            else "stopped answering"
        )
        return (
            f"the worker process (pid {self.pid}) of model {self.spec.name!r} {how} while "
            "running this request; it is being restarted, retry the request"
        )

    def kill(self) -> None:
        """End the process at once (a batch that overran): ``run`` then raises WorkerDied."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the process to finish, then terminate (and kill) it if it will not."""
        self.loaded = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
            conn.close()
        if self.process is not None:
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout)
