"""StandardSSLContextService: PKCS12 and PEM stores, real TLS handshakes, load-time errors."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate

from headwater.context import ServiceContext
from headwater.errors import ConfigurationError
from headwater.services.ssl import StandardSSLContextService


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def stores(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A server keystore as PEM and as PKCS12, a client keystore, and the CA as truststore."""
    folder = tmp_path_factory.mktemp("tls")
    server, client = ca.issue_cert("127.0.0.1", "localhost"), ca.issue_cert("device-1")
    paths = {name: folder / f"{name}.pem" for name in ("server", "client", "ca")}
    server.private_key_and_cert_chain_pem.write_to_path(str(paths["server"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths["client"]))
    ca.cert_pem.write_to_path(str(paths["ca"]))
    key = serialization.load_pem_private_key(server.private_key_pem.bytes(), None)
    cert = load_pem_x509_certificate(server.cert_chain_pems[0].bytes())
    p12 = pkcs12.serialize_key_and_certificates(
        b"server",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(b"secret"),
    )
    paths["p12"] = folder / "server.p12"
    paths["p12"].write_bytes(p12)
    return paths


Serve = Callable[[ssl.SSLContext], tuple[int, list[BaseException]]]


def enable(**properties: str) -> StandardSSLContextService:
    service = StandardSSLContextService()
    service.on_enabled(ServiceContext("ssl", StandardSSLContextService, properties, variables={}))
    return service


def pem_keystore(path: Path, truststore: Path) -> dict[str, str]:
    return {
        "Keystore Filename": str(path),
        "Keystore Type": "PEM",
        "Truststore Filename": str(truststore),
        "Truststore Type": "PEM",
    }


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a one-connection TLS echo server; yields its port and any server-side error."""
    threads: list[threading.Thread] = []

    def start(context: ssl.SSLContext) -> tuple[int, list[BaseException]]:
        listener = socket.create_server(("127.0.0.1", 0))
        errors: list[BaseException] = []

        def accept() -> None:
            with listener:
                conn, _ = listener.accept()
                try:
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.sendall(tls.recv(64))
                except (ssl.SSLError, OSError) as exc:
                    errors.append(exc)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        threads.append(thread)
        return listener.getsockname()[1], errors

    yield start
    for thread in threads:
        thread.join(5)


def talk(context: ssl.SSLContext, port: int) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"reading")
        return tls.recv(64)


def test_a_pkcs12_server_and_a_pem_client_shake_hands(
    stores: dict[str, Path], serve: Serve
) -> None:
    server = enable(
        **{
            "Keystore Filename": str(stores["p12"]),
            "Keystore Type": "PKCS12",
            "Keystore Password": "secret",
        }
    )
    client = enable(**{"Truststore Filename": str(stores["ca"]), "Truststore Type": "PEM"})
    port, errors = serve(server.create_server_context())
    assert talk(client.create_client_context(), port) == b"reading"
    assert not errors


def test_required_client_auth_refuses_a_client_without_a_certificate(
    stores: dict[str, Path],
    serve: Serve,
) -> None:
    server = enable(**pem_keystore(stores["server"], stores["ca"]))
    device = enable(**pem_keystore(stores["client"], stores["ca"]))
    anonymous = enable(**{"Truststore Filename": str(stores["ca"]), "Truststore Type": "PEM"})
    port, errors = serve(server.create_server_context("REQUIRED"))
    assert talk(device.create_client_context(), port) == b"reading"
    port, errors = serve(server.create_server_context("REQUIRED"))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        talk(anonymous.create_client_context(), port)
    deadline = time.monotonic() + 5
    while not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert errors and "certificate" in str(errors[0]).lower()


def test_a_client_that_does_not_trust_the_server_refuses_it(
    stores: dict[str, Path],
    serve: Serve,
) -> None:
    server = enable(**pem_keystore(stores["server"], stores["ca"]))
    stranger = trustme.CA()
    other = stores["ca"].with_name("other-ca.pem")
    stranger.cert_pem.write_to_path(str(other))
    client = enable(**{"Truststore Filename": str(other), "Truststore Type": "PEM"})
    port, _ = serve(server.create_server_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        talk(client.create_client_context(), port)


def test_tls_protocol_pins_the_version(stores: dict[str, Path]) -> None:
    service = enable(**pem_keystore(stores["server"], stores["ca"]), **{"SSL Protocol": "TLSv1.3"})
    context = service.create_client_context()
    assert context.minimum_version is ssl.TLSVersion.TLSv1_3
    assert context.maximum_version is ssl.TLSVersion.TLSv1_3


def test_a_wrong_password_fails_at_enable_naming_the_keystore(stores: dict[str, Path]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        enable(
            **{
                "Keystore Filename": str(stores["p12"]),
                "Keystore Type": "PKCS12",
                "Keystore Password": "wrong",
            }
        )
    assert "Keystore Filename" in str(caught.value)


def test_a_java_keystore_is_refused_with_the_command_that_converts_it(tmp_path: Path) -> None:
    jks = tmp_path / "store.jks"
    jks.write_bytes(b"\xfe\xed\xfe\xed")
    with pytest.raises(ConfigurationError, match="keytool -importkeystore"):
        enable(**{"Keystore Filename": str(jks), "Keystore Type": "JKS"})


def test_bad_configuration_lists_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        enable(
            **{
                "Keystore Filename": str(tmp_path / "missing.p12"),
                "Keystore Type": "PKCS12",
                "Truststore Filename": str(tmp_path / "missing.pem"),
            }
        )
    text = str(caught.value)
    assert "missing.p12" in text and "missing.pem" in text
    assert "Truststore Type: required with Truststore Filename" in text


def test_a_service_with_no_store_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="neither a keystore nor a truststore"):
        enable()


def test_an_encrypted_pem_key_needs_its_password(
    ca: trustme.CA, stores: dict[str, Path], serve: Serve, tmp_path: Path
) -> None:
    issued = ca.issue_cert("127.0.0.1")
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"open sesame"),
    )
    path = tmp_path / "locked.pem"
    path.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems) + locked)
    store = {"Keystore Filename": str(path), "Keystore Type": "PEM"}
    server = enable(**store, **{"Keystore Password": "open sesame"})
    client = enable(**{"Truststore Filename": str(stores["ca"]), "Truststore Type": "PEM"})
    port, errors = serve(server.create_server_context())
    assert talk(client.create_client_context(), port) == b"reading"
    assert not errors
    with pytest.raises(ConfigurationError, match=r"Keystore Filename.*cannot be used for TLS"):
        enable(**store, **{"Keystore Password": "wrong"})


def test_pem_stores_are_read_without_the_cryptography_package(stores: dict[str, Path]) -> None:
    """Its own OpenSSL is 12 MB: an agent with PEM files never loads it."""
    script = (
        "import sys\n"
        "from headwater.context import ServiceContext\n"
        "from headwater.services.ssl import StandardSSLContextService as S\n"
        f"values = {pem_keystore(stores['client'], stores['ca'])!r}\n"
        "service = S()\n"
        "service.on_enabled(ServiceContext('ssl', S, values, variables={}))\n"
        "service.create_client_context()\n"
        "print('cryptography' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_a_broken_truststore_is_named(stores: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken-ca.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match=r"Truststore Filename.*cannot be used for TLS"):
        enable(**pem_keystore(stores["client"], broken))


@pytest.mark.parametrize("memfd", [True, False], ids=["memfd", "tempfile"])
def test_the_keystore_is_loaded_without_leaving_a_file(
    stores: dict[str, Path],
    serve: Serve,
    memfd: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PKCS12 key is plain PEM by the time ``ssl`` loads it: in an anonymous memory file
    where the system has one, else in a temporary file removed at once."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    if not memfd:
        monkeypatch.delattr("os.memfd_create", raising=False)
    server = enable(
        **{
            "Keystore Filename": str(stores["p12"]),
            "Keystore Type": "PKCS12",
            "Keystore Password": "secret",
        }
    )
    client = enable(**pem_keystore(stores["client"], stores["ca"]))
    port, errors = serve(server.create_server_context())
    assert talk(client.create_client_context(), port) == b"reading"
    assert not errors
    assert list(tmp_path.iterdir()) == []
