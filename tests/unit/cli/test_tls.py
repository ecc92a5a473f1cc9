"""``headwater tls init``: a chain that verifies, in a real TLS handshake, through
StandardSSLContextService, with keys only their owner can read."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from headwater.cli import main
from headwater.context import ServiceContext
from headwater.errors import ConfigurationError
from headwater.security.certificates import TlsInitError, TlsMaterial, agent_names, init_tls
from headwater.services.ssl import StandardSSLContextService


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return init_tls(
        tmp_path_factory.mktemp("tls"), hub_hosts=["hub.example.org", "10.1.2.3"], agents=["pi-1"]
    )


def service(properties: dict[str, str]) -> StandardSSLContextService:
    ssl_service = StandardSSLContextService()
    ssl_service.on_enabled(ServiceContext("ssl", StandardSSLContextService, properties))
    return ssl_service


def handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, hostname: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One TLS connection on 127.0.0.1: what each side saw of the other (or its error)."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen_by_server: dict[str, Any] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                seen_by_server["peer"] = tls.getpeercert()
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            seen_by_server["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    seen_by_client: dict[str, Any] = {}
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            client.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            seen_by_client["peer"] = tls.getpeercert()
            seen_by_client["data"] = tls.recv(2)
    except (ssl.SSLError, OSError) as exc:
        seen_by_client["error"] = exc
    finally:
        thread.join(10)
        listener.close()
    return seen_by_server, seen_by_client


def common_name(cert: dict[str, Any]) -> str:
    return next(v for rdn in cert["subject"] for k, v in rdn if k == "commonName")


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1", "hub.example.org", "10.1.2.3"])
def test_an_agent_and_the_hub_shake_hands_with_mutual_tls(
    material: TlsMaterial, hostname: str
) -> None:
    hub = service(material.hub.ssl_properties(material.ca_certificate))
    agent = service(material.agents[0].ssl_properties(material.ca_certificate))
    at_hub, at_agent = handshake(
        hub.create_server_context("REQUIRED"), agent.create_client_context(), hostname
    )
    assert at_agent.get("data") == b"ok", at_agent
    assert common_name(at_hub["peer"]) == "pi-1"
    assert common_name(at_agent["peer"]) == "hub.example.org"


def test_the_pkcs12_keystores_load_with_their_passwords(material: TlsMaterial) -> None:
    hub = service(material.hub.ssl_properties(material.ca_certificate, pkcs12=True))
    agent = service(material.agents[0].ssl_properties(material.ca_certificate, pkcs12=True))
    at_hub, at_agent = handshake(
        hub.create_server_context("REQUIRED"), agent.create_client_context(), "localhost"
    )
    assert at_agent.get("data") == b"ok", at_agent
    assert common_name(at_hub["peer"]) == "pi-1"
    assert material.hub.password_file.read_text().strip() == material.hub.password
    wrong = material.hub.ssl_properties(material.ca_certificate, pkcs12=True)
    with pytest.raises(ConfigurationError):
        service({**wrong, "Keystore Password": "not-it"})


def test_an_agent_of_another_ca_is_refused(material: TlsMaterial, tmp_path: Path) -> None:
    stranger = init_tls(tmp_path / "other", agents=["pi-1"]).agents[0]
    hub = service(material.hub.ssl_properties(material.ca_certificate))
    intruder = service(
        {**stranger.ssl_properties(material.ca_certificate)}  # trusts our hub, not trusted
    )
    at_hub, at_agent = handshake(
        hub.create_server_context("REQUIRED"), intruder.create_client_context(), "localhost"
    )
    assert "error" in at_hub
    assert "data" not in at_agent or at_agent["data"] != b"ok"


def test_the_hub_certificate_verifies_with_cryptography(material: TlsMaterial) -> None:
    ca = x509.load_pem_x509_certificate(material.ca_certificate.read_bytes())
    hub, issuer = x509.load_pem_x509_certificates(material.hub.certificate.read_bytes())
    assert issuer == ca
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("localhost"))
    chain = verifier.verify(hub, [])
    assert chain[-1] == ca
    assert material.agents[0].subject == "CN=pi-1,O=headwater"


def test_keys_are_readable_by_their_owner_only(material: TlsMaterial) -> None:
    secret = [material.ca_key]
    for who in (material.hub, *material.agents):
        secret += [who.key, who.keystore_pem, who.keystore_p12, who.password_file]
    for path in secret:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(material.ca_certificate.stat().st_mode) == 0o644


def test_an_existing_ca_is_kept_unless_forced(tmp_path: Path) -> None:
    first = init_tls(tmp_path, agents=[])
    with pytest.raises(TlsInitError, match="--force"):
        init_tls(tmp_path)
    assert first.ca_certificate.read_bytes() == (tmp_path / "ca.crt").read_bytes()
    again = init_tls(tmp_path, force=True)
    assert again.ca_certificate.read_bytes() != b"" and len(again.agents) == 1


def test_agent_names_from_a_count_or_a_list() -> None:
    assert agent_names(["3"]) == ["agent-1", "agent-2", "agent-3"]
    assert agent_names(["pi-a,pi-b", "pi-c"]) == ["pi-a", "pi-b", "pi-c"]
    with pytest.raises(TlsInitError, match=r"'\.\./x'"):
        init_tls(Path("unused"), agents=["../x"])


def test_the_command_writes_and_prints_the_service_properties(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "tls"
    assert main(["tls", "init", "--dir", str(target), "--agents", "2"]) == 0
    out = capsys.readouterr().out
    assert f"Keystore Filename: {target / 'hub.pem'}" in out
    assert f"Truststore Filename: {target / 'ca.crt'}" in out
    assert "agent-2.pem" in out and (target / "agent-2.p12").is_file()
    assert main(["tls", "init", "--dir", str(target)]) == 1
    assert "--force" in capsys.readouterr().err
