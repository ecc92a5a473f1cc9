"""The hub's HTTPS: server contexts from what `headwater tls init` writes (PEM with its
key, chain and key apart, PKCS12 with its password file), and the client certificate's
subject handed to the app in the ASGI TLS extension."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from headwater.api.agents_identity import certificate_name
from headwater.api.server import ApiServer, server_ssl_context
from headwater.errors import ConfigurationError
from headwater.security.certificates import TlsMaterial, init_tls


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return init_tls(tmp_path_factory.mktemp("tls"), agents=["agent-1"], days=2)


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    await JSONResponse({"cn": certificate_name(request), "scheme": scope["scheme"]})(
        scope, receive, send
    )


@pytest.mark.parametrize("form", ["pem", "crt+key", "p12"])
def test_the_hub_serves_https_and_names_the_client_certificate(tls: TlsMaterial, form: str) -> None:
    hub = tls.hub
    if form == "pem":
        context = server_ssl_context(hub.keystore_pem, trusted=tls.ca_certificate)
    elif form == "crt+key":
        context = server_ssl_context(hub.certificate, hub.key, tls.ca_certificate)
    else:
        context = server_ssl_context(hub.keystore_p12, trusted=tls.ca_certificate)
    assert context.verify_mode == ssl.CERT_OPTIONAL
    with ApiServer(whoami, port=0, ssl_context=context) as server:
        assert server.url.startswith("https://")
        client_context = ssl.create_default_context(cafile=str(tls.ca_certificate))
        anonymous = httpx.get(server.url, verify=client_context).json()
        assert anonymous == {"cn": None, "scheme": "https"}
        client_context.load_cert_chain(str(tls.agents[0].keystore_pem))
        assert httpx.get(server.url, verify=client_context).json()["cn"] == "agent-1"


def test_a_certificate_that_cannot_be_read_is_a_configuration_error(
    tls: TlsMaterial, tmp_path: Path
) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigurationError):
        server_ssl_context(tmp_path / "junk.pem")
    with pytest.raises(ConfigurationError, match="cannot use"):
        server_ssl_context(tmp_path / "junk.pem", tls.hub.key)
