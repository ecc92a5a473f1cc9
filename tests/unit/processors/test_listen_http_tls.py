"""ListenHTTP over HTTPS with StandardSSLContextService and trustme certificates."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import trustme

from headwater.processors.http_listen import ListenHTTP
from headwater.services.ssl import StandardSSLContextService
from headwater.testing import TestRunner


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def stores(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tls")
    paths = {name: folder / f"{name}.pem" for name in ("server", "ca")}
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(paths["server"]))
    ca.cert_pem.write_to_path(str(paths["ca"]))
    return paths


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def https_runner(stores: dict[str, Path], **properties: str) -> TestRunner:
    runner = TestRunner(
        ListenHTTP, {"Listening Port": "0", "SSL Context Service": "tls", **properties}
    )
    runner.add_service(
        "tls",
        StandardSSLContextService(),
        {
            "Keystore Filename": str(stores["server"]),
            "Keystore Type": "PEM",
            "Truststore Filename": str(stores["ca"]),
            "Truststore Type": "PEM",
        },
    )
    runner.run(stop=False)
    return runner


def client(ca: trustme.CA, cert_for: str | None = None) -> httpx.Client:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    if cert_for is not None:
        ca.issue_cert(cert_for, common_name=cert_for).configure_cert(context)
    return httpx.Client(verify=context, timeout=10)


def post_and_run(
    runner: TestRunner, pool: ThreadPoolExecutor, http: httpx.Client
) -> httpx.Response:
    port = runner.processor.server.port  # type: ignore[attr-defined]
    answer = pool.submit(http.post, f"https://127.0.0.1:{port}/contentListener", content=b"r")
    deadline = time.monotonic() + 5
    while not runner.processor.has_pending_work() and not answer.done():
        assert time.monotonic() < deadline, "the request never arrived"
        time.sleep(0.005)
    runner.run(stop=False)
    return answer.result(10)


def test_https_with_a_client_certificate_records_its_dns(
    ca: trustme.CA, stores: dict[str, Path], pool: ThreadPoolExecutor
) -> None:
    runner = https_runner(stores)  # AUTO with a truststore: REQUIRED
    try:
        with client(ca, "device-1") as http:
            response = post_and_run(runner, pool, http)
        assert response.status_code == 200
        (out,) = runner.transferred(ListenHTTP.SUCCESS)
        assert "CN=device-1" in out.attributes["restlistener.remote.user.dn"]
        assert "O=trustme" in out.attributes["restlistener.remote.issuer.dn"]
        (event,) = runner.provenance_events()
        assert event.transit_uri is not None and event.transit_uri.startswith("https://")
    finally:
        runner.close()


def test_required_client_auth_refuses_a_client_without_a_certificate(
    ca: trustme.CA, stores: dict[str, Path]
) -> None:
    runner = https_runner(stores, **{"client-authentication": "REQUIRED"})
    try:
        port = runner.processor.server.port  # type: ignore[attr-defined]
        with client(ca) as http, pytest.raises(httpx.TransportError):
            http.post(f"https://127.0.0.1:{port}/contentListener", content=b"r")
        assert not runner.processor.has_pending_work()
    finally:
        runner.close()


def test_one_way_tls_and_the_subject_pattern(
    ca: trustme.CA, stores: dict[str, Path], pool: ThreadPoolExecutor
) -> None:
    runner = https_runner(
        stores, **{"client-authentication": "WANT", "Authorized DN Pattern": ".*CN=gateway.*"}
    )
    try:
        with client(ca) as http:  # no certificate: allowed with WANT, DN "none"
            assert post_and_run(runner, pool, http).status_code == 200
        port = runner.processor.server.port  # type: ignore[attr-defined]
        with client(ca, "intruder") as http:
            url = f"https://127.0.0.1:{port}/contentListener"
            assert http.post(url, content=b"r").status_code == 403
        (out,) = runner.transferred(ListenHTTP.SUCCESS)
        out.assert_attribute_equals("restlistener.remote.user.dn", "none")
    finally:
        runner.close()
