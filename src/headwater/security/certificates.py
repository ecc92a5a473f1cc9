"""A private certificate authority for one hub and its agents, as NiFi's TLS toolkit makes.

``init_tls`` (``headwater tls init``) creates a CA, a hub certificate whose names cover
127.0.0.1, localhost, this host and any hub host given, and one client certificate per
agent, each subject ``CN=<name>, O=headwater`` so an Authorized DN Pattern can tell
agents apart. Every holder gets its files in the forms StandardSSLContextService reads:

- ``NAME.pem``: certificate, CA certificate and private key in one file (Keystore Type
  PEM, no password; mode 0600);
- ``NAME.p12``: the same as PKCS12 (Keystore Type PKCS12), with a generated password in
  ``NAME.p12.password`` (both 0600);
- ``NAME.crt`` and ``NAME.key``: certificate chain and key apart, for other tools.

``ca.crt`` is the truststore of hub and agents (Truststore Type PEM); ``ca.key`` signs
new certificates and belongs on no device. Keys are ECDSA P-256: small and quick on a
Raspberry Pi. An existing CA is never replaced unless asked, as every certificate it
signed would stop being trusted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.errors import HeadwaterError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

ORGANIZATION = "headwater"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_RESERVED = {"ca", "hub"}


class TlsInitError(HeadwaterError, ValueError):
    """The CA already exists (and ``force`` was not given), or a name is unusable."""


@dataclass(frozen=True)
class Identity:
    """The files of one certificate holder (the hub or an agent)."""

    name: str
    subject: str  # as RFC 4514 writes it: CN=agent-1,O=headwater
    keystore_pem: Path
    keystore_p12: Path
    password: str  # of the PKCS12 keystore; also in ``password_file``
    password_file: Path
    certificate: Path
    key: Path

    def ssl_properties(self, truststore: Path, *, pkcs12: bool = False) -> dict[str, str]:
        """StandardSSLContextService properties presenting this identity."""
        if pkcs12:
            keystore = {
                "Keystore Filename": str(self.keystore_p12),
                "Keystore Type": "PKCS12",
                "Keystore Password": self.password,
            }
        else:
            keystore = {"Keystore Filename": str(self.keystore_pem), "Keystore Type": "PEM"}
        return {**keystore, "Truststore Filename": str(truststore), "Truststore Type": "PEM"}


@dataclass(frozen=True)
class TlsMaterial:
    """What ``init_tls`` wrote."""

    directory: Path
    ca_certificate: Path  # the truststore
    ca_key: Path
    hub: Identity
    agents: tuple[Identity, ...]


def agent_names(values: Iterable[str]) -> list[str]:
    """``["3"]`` → agent-1..agent-3; otherwise names, comma-separated or not."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if len(names) == 1 and names[0].isdigit():
        return [f"agent-{i}" for i in range(1, int(names[0]) + 1)]
    return names


def init_tls(
    directory: Path,
    *,
    hub_hosts: Sequence[str] = (),
    agents: Sequence[str] = ("agent-1",),
    force: bool = False,
    days: int = 825,
    ca_days: int = 3650,
) -> TlsMaterial:
    """Create the CA, the hub's certificate and each agent's under ``directory``."""
    directory = directory.resolve()
    _check_names(agents)
    ca_crt, ca_key = directory / "ca.crt", directory / "ca.key"
    if not force and (ca_crt.exists() or ca_key.exists()):
        raise TlsInitError(
            f"a CA already exists in {directory}; certificates it signed would no longer be"
            " trusted if it were replaced. Use --force to replace it and every certificate,"
            " or choose another --dir"
        )
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # allow for clock skew
    key = _new_key()
    ca = _ca_certificate(key, now, ca_days)
    _write(ca_crt, _pem(ca), 0o644)
    _write(ca_key, _key_pem(key), 0o600)
    host = socket.gethostname()
    hub_names = _unique(["localhost", "127.0.0.1", "::1", host, *hub_hosts])
    hub = _issue(
        directory, "hub", hub_hosts[0] if hub_hosts else host, hub_names, True, ca, key, now, days
    )
    issued = tuple(
        _issue(directory, name, name, [name], False, ca, key, now, days) for name in agents
    )
    return TlsMaterial(directory, ca_crt, ca_key, hub, issued)


def _check_names(agents: Sequence[str]) -> None:
    problems = [n for n in agents if not _NAME.match(n) or n.lower() in _RESERVED]
    if problems:
        raise TlsInitError(
            f"agent names must be letters, digits, '.', '_' or '-' (and not ca or hub);"
            f" got {', '.join(map(repr, problems))}"
        )
    if len(set(agents)) != len(agents):
        raise TlsInitError(f"agent names repeat: {', '.join(agents)}")


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _new_key() -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _ca_certificate(
    key: ec.EllipticCurvePrivateKey, now: dt.datetime, days: int
) -> x509.Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name(  # most significant first, so it reads CN=...,O=headwater
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, "headwater CA"),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue(
    directory: Path,
    name: str,
    common_name: str,
    alt_names: Sequence[str],
    server: bool,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
    days: int,
) -> Identity:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectAlternativeName(_general_names(alt_names)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = _pem(certificate) + _pem(ca)
    password = secrets.token_urlsafe(18)
    p12 = pkcs12.serialize_key_and_certificates(
        name.encode(),
        key,
        certificate,
        [ca],
        serialization.BestAvailableEncryption(password.encode()),
    )
    identity = Identity(
        name=name,
        subject=subject.rfc4514_string(),
        keystore_pem=directory / f"{name}.pem",
        keystore_p12=directory / f"{name}.p12",
        password=password,
        password_file=directory / f"{name}.p12.password",
        certificate=directory / f"{name}.crt",
        key=directory / f"{name}.key",
    )
    _write(identity.certificate, chain, 0o644)
    _write(identity.key, _key_pem(key), 0o600)
    _write(identity.keystore_pem, chain + _key_pem(key), 0o600)
    _write(identity.keystore_p12, p12, 0o600)
    _write(identity.password_file, password.encode() + b"\n", 0o600)
    return identity


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    from cryptography import x509

    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _pem(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` with ``mode`` from the first byte (a key is never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(fd, mode)  # O_CREAT's mode is cut by the umask, and ignored if it existed
        handle.write(data)
