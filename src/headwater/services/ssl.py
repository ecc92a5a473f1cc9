"""StandardSSLContextService: keystore and truststore configured once, used by every
processor that speaks TLS (ListenHTTP, InvokeHTTP, site-to-site).

NiFi's property names. Keystores are PKCS12 (what ``keytool -storetype PKCS12`` and
``openssl pkcs12 -export`` write) or PEM (a certificate chain and its private key in one
file); Java's JKS and BCFKS cannot be read from Python, so they are refused at load with
the ``keytool`` command that converts them. Everything is loaded when the service is
enabled, so a wrong password or a missing file stops the flow at load, not at the first
connection.

PEM stores are read by the standard library's ``ssl`` alone; only PKCS12 needs the
``cryptography`` package, whose own OpenSSL is 12 MB resident: an agent with PEM files
(what ``headwater tls init`` writes) stays small.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.context import ServiceContext
from headwater.errors import ConfigurationError, Problem
from headwater.processor import ControllerService, Property

if TYPE_CHECKING:  # imported when a context is made: libssl is 4 MB of an agent
    import ssl

PKCS12, PEM = "PKCS12", "PEM"
NONE, WANT, REQUIRED = "NONE", "WANT", "REQUIRED"
CLIENT_AUTH = (NONE, WANT, REQUIRED)
_PROTOCOLS = {  # the lowest and highest ssl.TLSVersion, by name
    "TLS": ("TLSv1_2", "MAXIMUM_SUPPORTED"),
    "TLSv1.2": ("TLSv1_2", "TLSv1_2"),
    "TLSv1.3": ("TLSv1_3", "TLSv1_3"),
}
_JAVA_ONLY = ("JKS", "BCFKS")


def _store_type(text: str) -> str:
    kind = text.strip().upper()
    if kind in _JAVA_ONLY:
        raise ValueError(
            f"{kind} keystores are Java's own format; convert once with `keytool "
            "-importkeystore -srckeystore store.jks -destkeystore store.p12 "
            "-deststoretype PKCS12` and use PKCS12"
        )
    if kind not in (PKCS12, PEM):
        raise ValueError(f"expected PKCS12 or PEM, got {text!r}")
    return kind


@dataclass(frozen=True)
class _Material:
    """What the stores hold, as PEM text, ready for ``ssl.SSLContext``."""

    chain: bytes | None  # certificate chain and private key
    trusted: str | None  # CA certificates
    password: str | None = None  # of the chain's key, when it is encrypted


class StandardSSLContextService(ControllerService):
    """TLS keys and trusted certificates for servers and clients."""

    tags = ("ssl", "tls", "secure", "certificate", "keystore", "truststore", "pkcs12")

    keystore = Property("Keystore Filename", "The keystore: your certificate and its key")
    keystore_password = Property("Keystore Password", "The keystore's password", sensitive=True)
    key_password = Property(
        "key-password",
        "The key's password, when it differs from the keystore's",
        display_name="Key Password",
        sensitive=True,
    )
    keystore_type = Property(
        "Keystore Type", "PKCS12, or PEM (chain and key in one file)", parse=_store_type
    )
    truststore = Property(
        "Truststore Filename",
        "Certificates of the authorities to trust; without it, the system's trusted roots",
    )
    truststore_password = Property(
        "Truststore Password", "The truststore's password", sensitive=True
    )
    truststore_type = Property("Truststore Type", "PKCS12 or PEM", parse=_store_type)
    protocol = Property(
        "SSL Protocol",
        "TLS (1.2 or newer), or one version only",
        display_name="TLS Protocol",
        default="TLS",
        allowed=tuple(_PROTOCOLS),
    )

    def __init__(self) -> None:
        self._material = _Material(None, None)
        self._versions = _PROTOCOLS["TLS"]

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        problems = []
        for store, kind in (
            (cls.keystore, cls.keystore_type),
            (cls.truststore, cls.truststore_type),
        ):
            filename = values.get(store.name, "").strip()
            if not filename:
                continue
            if not Path(filename).is_file():
                problems.append(Problem(f"properties.{store.name}", f"no file {filename!r}"))
            if not values.get(kind.name, "").strip():
                problems.append(
                    Problem(
                        f"properties.{kind.name}", f"required with {store.name}", "PKCS12 or PEM"
                    )
                )
        if (
            not values.get(cls.keystore.name, "").strip()
            and not values.get(cls.truststore.name, "").strip()
        ):
            problems.append(
                Problem("properties", "neither a keystore nor a truststore is configured")
            )
        return problems

    def on_enabled(self, context: ServiceContext) -> None:
        problems: list[Problem] = []
        chain = trusted = None
        key_password = context.get(self.key_password) or context.get(self.keystore_password)
        if context.get(self.keystore):
            try:
                chain = _read_keystore(
                    Path(context[self.keystore]), context[self.keystore_type], key_password
                )
            except (OSError, ValueError, TypeError) as exc:
                problems.append(Problem(f"{context.id}.properties.{self.keystore.name}", str(exc)))
        if context.get(self.truststore):
            try:
                trusted = _read_truststore(
                    Path(context[self.truststore]),
                    context[self.truststore_type],
                    context.get(self.truststore_password),
                )
            except (OSError, ValueError, TypeError) as exc:
                problems.append(
                    Problem(f"{context.id}.properties.{self.truststore.name}", str(exc))
                )
        if problems:
            raise ConfigurationError(problems)
        # A PEM key is still encrypted (ssl decrypts it); a PKCS12 one was converted plain.
        password = key_password if context.get(self.keystore_type) == PEM else None
        self._material = _Material(chain, trusted, password)
        self._versions = _PROTOCOLS[context[self.protocol]]
        self._check(context, self.truststore, lambda: _trust_only(trusted))
        self._check(context, self.keystore, self.create_client_context)
        if chain is not None:
            self._check(context, self.keystore, self.create_server_context)

    def _check(
        self, context: ServiceContext, store: Property[str], make: Callable[[], object]
    ) -> None:
        """What cannot be loaded fails here, at enable time, naming its store."""
        try:
            make()
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            where = f"{context.id}.properties.{store.name}"
            raise ConfigurationError(
                [Problem(where, f"cannot be used for TLS: {exc}", "check the file and password")]
            ) from None

    @property
    def has_truststore(self) -> bool:
        """Whether a truststore was configured (NiFi's AUTO client auth then means
        REQUIRED)."""
        return self._material.trusted is not None

    def create_server_context(self, client_auth: str = NONE) -> ssl.SSLContext:
        """A server's context; ``WANT`` asks clients for a certificate, ``REQUIRED``
        refuses those without one signed by the truststore."""
        if self._material.chain is None:
            raise ConfigurationError("an SSL context for a server needs a keystore")
        import ssl

        context = self._context(server=True)
        context.verify_mode = {
            NONE: ssl.CERT_NONE,
            WANT: ssl.CERT_OPTIONAL,
            REQUIRED: ssl.CERT_REQUIRED,
        }[client_auth]
        return context

    def create_client_context(self) -> ssl.SSLContext:
        """A client's context: verifies the server, and presents the keystore's
        certificate when there is one (mutual TLS)."""
        return self._context(server=False)

    def _context(self, *, server: bool) -> ssl.SSLContext:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        lowest, highest = self._versions
        context.minimum_version = ssl.TLSVersion[lowest]
        context.maximum_version = ssl.TLSVersion[highest]
        if self._material.trusted is not None:
            context.load_verify_locations(cadata=self._material.trusted)
        else:
            context.load_default_certs(
                ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
            )
        if self._material.chain is not None:
            _load_chain(context, self._material.chain, self._material.password)
        return context


def _trust_only(trusted: str | None) -> None:
    """The trusted certificates load by themselves (``ssl`` parses them here)."""
    if trusted is not None:
        import ssl

        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=trusted)


def _load_chain(context: ssl.SSLContext, chain: bytes, password: str | None) -> None:
    """``load_cert_chain`` reads only files. On Linux the chain goes into an anonymous
    memory file, so a key (a PKCS12 one is unencrypted by then) never touches a disk;
    elsewhere into a private temporary file, gone right after."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("headwater-keystore")
        try:
            with os.fdopen(os.dup(fd), "wb") as handle:
                handle.write(chain)
            context.load_cert_chain(f"/proc/self/fd/{fd}", password=password)
        finally:
            os.close(fd)
        return
    import tempfile  # (and its shutil and random) only where memfd is missing

    fd, name = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(chain)
        context.load_cert_chain(name, password=password)
    finally:
        os.unlink(name)


def _read_keystore(path: Path, kind: str, password: str | None) -> bytes:
    """The chain and key as PEM: a PEM file as it is (``ssl`` checks it, with its
    password, when the service is enabled), a PKCS12 one converted."""
    data = path.read_bytes()
    if kind == PEM:
        if b"PRIVATE KEY-----" not in data or b"BEGIN CERTIFICATE" not in data:
            raise ValueError(f"{path} does not hold a PEM certificate and its private key")
        return data
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert, extra = pkcs12.load_key_and_certificates(
        data, password.encode() if password else None
    )
    if key is None or cert is None:
        raise ValueError(f"{path} holds no private key with its certificate")
    certs = [cert, *extra]
    plain = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs) + plain


def _read_truststore(path: Path, kind: str, password: str | None) -> str:
    """The trusted certificates as PEM text (``ssl`` parses them when enabled)."""
    data = path.read_bytes()
    if kind == PEM:
        if b"BEGIN CERTIFICATE" not in data:
            raise ValueError(f"{path} holds no certificates")
        return data.decode("ascii", "replace")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    store = pkcs12.load_pkcs12(data, password.encode() if password else None)
    certs = [c.certificate for c in store.additional_certs]
    if store.cert is not None:
        certs.append(store.cert.certificate)
    if not certs:
        raise ValueError(f"{path} holds no certificates")
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)
