"""The models service's Prometheus metrics, in a registry of each server's own.

All requests pass through the one front process (see ``workers.py``), so plain
counters and histograms are the whole truth: no multiprocess collector, no files. A
registry per server keeps two servers in one process (tests) apart.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServeMetrics:
    """Requests, errors, latency, batch sizes, queue depth and worker restarts."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "headwater_model_requests",
            "Model requests answered, by model, endpoint and HTTP status.",
            ("model", "endpoint", "code"),
            registry=self.registry,
        )
        self.errors = Counter(
            "headwater_model_errors",
            "Model requests that failed, by model and reason.",
            ("model", "reason"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "headwater_model_request_seconds",
            "Time from a model request's arrival to its answer.",
            ("model",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "headwater_model_batch_size",
            "Requests per batch sent to a replica.",
            ("model",),
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "headwater_model_queue_depth",
            "Requests waiting for a replica.",
            ("model",),
            registry=self.registry,
        )
        self.restarts = Counter(
            "headwater_model_worker_restarts",
            "Worker processes started again after one died.",
            ("model",),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
