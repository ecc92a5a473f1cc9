"""Fixtures the end-to-end tests share: a hub running a flow (``run_flow``) and one
Spark session per test run (``spark``); helpers are in flowharness.py."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from flowharness import Hub, RunFlow

from headwater.api.app import create_app
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow, load_flow_dict


@pytest.fixture
def run_flow(tmp_path: Path) -> Iterator[RunFlow]:
    """Start a flow (YAML text, or a dict as the YAML would parse; ``parameters``
    override its own) over a fresh data directory; every flow started is stopped when
    the test ends."""
    started: list[tuple[FlowController, TestClient]] = []

    def run(
        flow: str | Mapping[str, Any],
        *,
        parameters: Mapping[str, str] | None = None,
        start: bool = True,
    ) -> Hub:
        definition = (
            load_flow(flow, parameters=parameters)
            if isinstance(flow, str)
            else load_flow_dict(flow, parameters=parameters)
        )
        controller = FlowController(definition, tmp_path / f"data{len(started)}")
        client = TestClient(create_app(controller))
        started.append((controller, client))
        client.__enter__()
        if start:
            controller.start()
        return Hub(controller, client)

    try:
        yield run
    finally:
        for controller, client in reversed(started):
            client.__exit__(None, None, None)
            controller.stop()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole run (it takes about 10 s to start)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("headwater-e2e")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
