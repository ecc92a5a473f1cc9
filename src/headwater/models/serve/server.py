"""``ModelServer``: the models service, listening, with its replicas running.

It binds before it returns from ``start`` (a port in use fails there, naming the
address; port 0 gets a free one), answers ``/health`` at once and ``/ready`` once every
model has a replica with its model loaded. The shared ``AsgiServer`` serves the
Starlette app on an event loop of its own thread (uvloop where installed) and starts
the replicas on that loop beside it, so the runners' batchers live there too and a
request is one task from socket to replica and back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from headwater.http.asgi import AsgiServer
from headwater.models.cache import cache_root, find_model, read_manifest
from headwater.models.serve.app import ModelService, create_app
from headwater.models.serve.batching import ModelRunner
from headwater.models.serve.config import ServeConfig
from headwater.models.serve.metrics import ServeMetrics

log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


class ModelServer:
    """Serves ``config``'s models on ``host:port`` until ``stop``."""

    def __init__(
        self,
        config: ServeConfig,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.requested_port = port
        root = cache if cache is not None else config.cache
        self.cache = os.fspath(root) if root is not None else None
        self.metrics = ServeMetrics()
        self.runners = {
            name: ModelRunner(spec, self.cache, self.metrics)
            for name, spec in config.models.items()
        }
        self.service = ModelService(config, self.runners, self.metrics, self._manifests())
        self._server = AsgiServer(
            create_app(self.service),
            host,
            port,
            name="models",
            on_serve=self._start_replicas,
            on_stop=self._stop_replicas,
        )

    def check(self) -> None:
        """Fail now (ModelNotPrepared, saying what to run) if a built-in model is not in
        the cache, rather than in every replica later."""
        for spec in self.config.models.values():
            if spec.kind == "builtin":
                find_model(spec.builtin, spec.variant, self.cache)

    def _manifests(self) -> dict[str, dict[str, Any]]:
        """The prepared built-in models' manifests, for GET /v1/models."""
        found = {}
        for spec in self.config.models.values():
            if spec.kind == "builtin":
                manifest = read_manifest(cache_root(self.cache) / spec.builtin)
                if manifest is not None:
                    found[spec.name] = manifest
        return found

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def ready(self) -> bool:
        return all(runner.ready for runner in self.runners.values())

    def failures(self) -> dict[str, str]:
        return {n: r.failure for n, r in self.runners.items() if r.failure and not r.ready}

    def start(self, *, wait_ready: bool = True, timeout: float = 180.0) -> None:
        """Listen, start the replicas, and (by default) wait until every model is ready;
        RuntimeError names the models that could not start."""
        self.check()
        self._server.start()
        deadline = time.monotonic() + timeout
        while wait_ready and not self.ready:
            failed = self.failures()
            if failed:
                self.stop()
                raise RuntimeError("; ".join(f"{n}: {why}" for n, why in failed.items()))
            if not self._server.alive:
                raise RuntimeError(f"the models service on {self.url} exited while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"the models service on {self.url} was not ready within {timeout:g} s"
                )
            time.sleep(0.01)

    async def _start_replicas(self) -> None:
        await asyncio.gather(*(r.start() for r in self.runners.values()))

    async def _stop_replicas(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.runners.values()), return_exceptions=True)
        await self.service.images.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, answer what waits with 503, stop every replica."""
        self._server.stop(timeout)

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def describe(server: ModelServer) -> list[str]:
    """The lines the CLI prints on start: where it listens, where models come from."""
    lines = [
        f"models service listening on {server.url} "
        f"(CDSW: POST {server.url}/api/altus-ds-1/models/call-model)"
    ]
    lines.append(f"model cache: {cache_root(server.cache)}")
    for spec in server.config.models.values():
        what: Any = (
            f"{spec.builtin} {spec.variant}"
            if spec.kind == "builtin"
            else f"{spec.file}:{spec.function}"
        )
        lines.append(f"  model {spec.name}: {what}, {spec.replicas} replica(s)")
    return lines
