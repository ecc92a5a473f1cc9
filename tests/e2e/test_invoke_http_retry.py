"""InvokeHTTP's Retry and Failure looped back to it in a running flow, against a real
server on 127.0.0.1: a 5xx is retried after the penalty until the server answers 200;
a refused connection is retried until a server listens on that port. Each request
FlowFile ends once in Original, with one Response, and the server sees no extra call."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flowharness import RunFlow, poll

pytestmark = pytest.mark.e2e

PENALTY = 0.3  # seconds


class _Flaky(ThreadingHTTPServer):
    """Answers 503 to the first ``failures`` requests, then 200."""

    daemon_threads = True

    def __init__(self, port: int = 0, failures: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _FlakyHandler)
        self.failures = failures
        self.calls: list[float] = []  # monotonic times of the requests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v1/jobs/4/start"


class _FlakyHandler(BaseHTTPRequestHandler):
    server: _Flaky
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.calls.append(time.monotonic())
        busy = len(self.server.calls) <= self.server.failures
        body = b"busy, try later" if busy else b'{"status": "scheduling"}'
        self.send_response(503 if busy else 200)
        self.send_header("Content-Type", "text/plain" if busy else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Servers:
    def __init__(self) -> None:
        self.running: list[tuple[_Flaky, threading.Thread]] = []

    def start(self, port: int = 0, failures: int = 0) -> _Flaky:
        server = _Flaky(port, failures)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.running.append((server, thread))
        return server


@pytest.fixture
def http_servers() -> Iterator[_Servers]:
    servers = _Servers()
    try:
        yield servers
    finally:
        for server, thread in servers.running:
            server.shutdown()
            server.server_close()
            thread.join(5)


def retry_flow(url: str) -> dict[str, Any]:
    return {
        "flow": "invoke-retry",
        "processors": {
            "trigger": {
                "type": "GenerateFlowFile",
                "properties": {"File Size": "0 B"},
                "schedule": {"period": "1 hour"},
            },
            "start-job": {
                "type": "InvokeHTTP",
                "properties": {
                    "HTTP Method": "POST",
                    "Remote URL": url,
                    "Connection Timeout": "1 sec",
                    "Read Timeout": "2 sec",
                },
                "schedule": {"penalty": f"{int(PENALTY * 1000)} millis"},
                "auto-terminate": ["No Retry"],
            },
            "responses": {"type": "UpdateAttribute", "enabled": False},
            "originals": {"type": "UpdateAttribute", "enabled": False},
        },
        "connections": [
            {"from": "trigger", "relationships": ["success"], "to": "start-job"},
            {"id": "retry", "from": "start-job", "relationships": ["Retry"], "to": "start-job"},
            {"id": "failed", "from": "start-job", "relationships": ["Failure"], "to": "start-job"},
            {
                "id": "responses",
                "from": "start-job",
                "relationships": ["Response"],
                "to": "responses",
            },
            {
                "id": "originals",
                "from": "start-job",
                "relationships": ["Original"],
                "to": "originals",
            },
            {"from": "responses", "relationships": ["success"], "to": "responses"},
            {"from": "originals", "relationships": ["success"], "to": "originals"},
        ],
    }


def test_5xx_is_retried_after_the_penalty_until_the_server_answers(
    run_flow: RunFlow, http_servers: _Servers
) -> None:
    server = http_servers.start(failures=2)
    hub = run_flow(retry_flow(server.url))
    poll(lambda: hub.queued("originals") == 1, what="the request to succeed")
    assert len(server.calls) == 3, "two 503s, then the 200"
    gaps = [b - a for a, b in itertools.pairwise(server.calls)]
    assert all(gap >= PENALTY * 0.9 for gap in gaps), f"retried before the penalty: {gaps}"
    (original,) = hub.flowfiles("originals")
    assert original["attributes"]["invokehttp.status.code"] == "200"
    (response,) = hub.flowfiles("responses")
    assert hub.content(response["uuid"]) == b'{"status": "scheduling"}'
    assert hub.queued("retry") == 0 and hub.queued("failed") == 0
    assert len(hub.events(type="REMOTE_INVOCATION", component="start-job")) == 3


def test_refused_connection_is_retried_until_a_server_listens(
    run_flow: RunFlow, http_servers: _Servers, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/api/v1/jobs/4/start"
    hub = run_flow(retry_flow(url))

    def failed_penalized() -> bool:
        listed = hub.flowfiles("failed")
        return bool(listed) and listed[0]["penalized"]

    poll(failed_penalized, what="the refused request in the Failure loop, penalized")
    (waiting,) = hub.flowfiles("failed")
    assert waiting["attributes"]["invokehttp.java.exception.class"].endswith("ConnectError")
    assert hub.queued("originals") == 0

    server = http_servers.start(port=closed_port)
    poll(lambda: hub.queued("originals") == 1, what="the request to go through")
    assert len(server.calls) == 1
    assert hub.queued("failed") == 0 and hub.queued("responses") == 1
