"""Site-to-site over HTTPS with mutual TLS and a bearer token: the RemoteProcessGroup's
SSL Context Service trusts the hub and presents the device's certificate; a sender
without the token, or without a certificate, is refused and keeps its FlowFiles."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
import uvicorn

from headwater.api.app import create_app
from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict
from headwater.s2s.remote import RemoteProcessGroup
from headwater.services.ssl import StandardSSLContextService
from headwater.testing import TestRunner

TOKEN = "device-token-1"


@pytest.fixture
def secure_hub(tmp_path: Path) -> Iterator[tuple[str, FlowController, trustme.CA]]:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1")
    server_cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "hub.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    flow = load_flow_dict(
        {
            "flow": "secure-hub",
            "processors": {
                "in": {"type": "InputPort", "properties": {"Port Name": "readings"}},
                "hold": {
                    "type": "UpdateAttribute",
                    "enabled": "false",
                    "auto-terminate": ["success"],
                },
            },
            "connections": [{"from": "in", "relationships": ["success"], "to": "hold"}],
        }
    )
    controller = FlowController(flow, tmp_path / "hub")
    config = uvicorn.Config(
        create_app(controller, token=TOKEN),
        log_level="warning",
        lifespan="off",
        ssl_keyfile=str(tmp_path / "hub.pem"),
        ssl_certfile=str(tmp_path / "hub.pem"),
        ssl_ca_certs=str(tmp_path / "ca.pem"),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    server = uvicorn.Server(config)
    sock = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the TLS hub did not start"
        time.sleep(0.01)
    controller.start()
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}", controller, ca
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        controller.stop()


def tls_sender(
    url: str, tmp_path: Path, ca: trustme.CA, client_cert: bool, token: str
) -> TestRunner:
    properties = {"Target URLs": url, "Port Name": "readings", "SSL Context Service": "tls"}
    if token:
        properties["Bearer Token"] = token
    runner = TestRunner(RemoteProcessGroup, properties)
    tls = {"Truststore Filename": str(tmp_path / "ca.pem"), "Truststore Type": "PEM"}
    if client_cert:
        ca.issue_cert("device-1").private_key_and_cert_chain_pem.write_to_path(
            str(tmp_path / "device.pem")
        )
        tls |= {"Keystore Filename": str(tmp_path / "device.pem"), "Keystore Type": "PEM"}
    runner.add_service("tls", StandardSSLContextService(), tls)
    return runner


def test_mutual_tls_and_token_deliver(
    secure_hub: tuple[str, FlowController, trustme.CA], tmp_path: Path
) -> None:
    url, controller, ca = secure_hub
    with tls_sender(url, tmp_path, ca, client_cert=True, token=TOKEN) as runner:
        runner.enqueue(b"over tls", filename="r.json")
        runner.run()
        assert runner.queue_size() == 0
        assert runner.provenance_types() == ["SEND", "DROP"]
    queue = controller.connections["in/success/hold"].queue
    assert [ff.attributes["filename"] for ff in queue.listing()] == ["r.json"]


@pytest.mark.parametrize(
    ("client_cert", "token", "reason"), [(True, "", "401"), (False, TOKEN, "")]
)
def test_a_sender_without_token_or_certificate_is_refused(
    secure_hub: tuple[str, FlowController, trustme.CA],
    tmp_path: Path,
    client_cert: bool,
    token: str,
    reason: str,
) -> None:
    url, controller, ca = secure_hub
    with tls_sender(url, tmp_path, ca, client_cert=client_cert, token=token) as runner:
        runner.enqueue(b"reading")
        runner.run()
        assert runner.queue_size() == 1
        (bulletin,) = runner.node.bulletins
        assert "no hub took the transaction" in bulletin.message and reason in bulletin.message
    assert controller.connections["in/success/hold"].queue.count == 0
