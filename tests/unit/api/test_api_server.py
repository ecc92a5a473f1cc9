from __future__ import annotations

import socket

import httpx
import pytest

from headwater.api import ApiServer, create_app
from headwater.engine.controller import FlowController


def test_api_server_on_port_0_answers_and_stops(controller: FlowController) -> None:
    server = ApiServer(create_app(controller, token="t"), "127.0.0.1", 0)
    server.start()
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        health = httpx.get(f"{server.url}/api/v1/health", timeout=5)
        assert health.json() == {"status": "ok"}
        status = httpx.get(
            f"{server.url}/api/v1/status", headers={"Authorization": "Bearer t"}, timeout=5
        )
        assert status.status_code == 200
        assert status.json()["flow"] == "api-test"
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/v1/health", timeout=1)


def test_a_port_in_use_fails_at_start_naming_the_address(controller: FlowController) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ApiServer(create_app(controller), "127.0.0.1", port)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            server.start()
        server.stop()


def test_api_server_as_a_context_manager(controller: FlowController) -> None:
    with ApiServer(create_app(controller), port=0) as server:
        assert httpx.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200
