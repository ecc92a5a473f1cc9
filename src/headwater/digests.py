"""SHA-256 and SHA-1 by CPython's own digests, without OpenSSL.

``hashlib`` loads OpenSSL's libcrypto, 3.4 MB resident, for any digest. An agent that
speaks plain HTTP to its hub needs two digests (its flow's version, the ids of the
provenance events it ships) and nothing else of OpenSSL. CPython 3.11 builds its own
SHA-1 and SHA-256 as ``_sha1`` and ``_sha256``; where they are missing (3.12 renamed
them) ``hashlib``'s are used, which give the same digests.
"""

from __future__ import annotations

from typing import Any


def builtin_digest(module: str, name: str) -> Any:
    """CPython's own ``name`` digest from ``module``, else hashlib's."""
    try:
        return getattr(__import__(module), name)
    except ImportError:
        import hashlib

        return getattr(hashlib, name)


def sha256_hex(data: bytes) -> str:
    digest: str = builtin_digest("_sha256", "sha256")(data).hexdigest()
    return digest


def flow_version(text: str) -> str:
    """The version of a flow: the SHA-256 of its text, so equal files have equal versions
    (the agent reports it; the hub gives it with a flow it pushes)."""
    return sha256_hex(text.encode("utf-8"))
