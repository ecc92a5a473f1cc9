"""InvokeHTTP over HTTPS, trusting the server through StandardSSLContextService."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from headwater.processors.http_invoke import InvokeHTTP
from headwater.services.ssl import StandardSSLContextService
from headwater.testing import TestRunner


class _Hello(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture()
def https_url(ca: trustme.CA) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/hello"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_call_trusting_the_servers_authority(
    ca: trustme.CA, https_url: str, tmp_path: Path
) -> None:
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with TestRunner(InvokeHTTP, {"Remote URL": https_url, "SSL Context Service": "tls"}) as runner:
        trust = {"Truststore Filename": str(tmp_path / "ca.pem"), "Truststore Type": "PEM"}
        runner.add_service("tls", StandardSSLContextService(), trust)
        runner.enqueue(b"")
        runner.run()
        runner.assert_transferred("Response", 1)
        runner.assert_transferred("Original", 1)
        assert runner.transferred("Response")[0].content == b"hello"


def test_https_call_without_trust_fails_with_the_reason(https_url: str) -> None:
    with TestRunner(InvokeHTTP, {"Remote URL": https_url}) as runner:
        runner.enqueue(b"")
        runner.run()
        runner.assert_all_transferred("Failure", 1)
        failed = runner.transferred("Failure")[0]
        assert "CERTIFICATE_VERIFY_FAILED" in failed.attributes["invokehttp.java.exception.message"]
