"""CPython's own digests give what hashlib gives."""

import hashlib

from headwater.digests import sha256_hex


def test_sha256_equals_hashlibs() -> None:
    for text in ("", "flow: tiny\n", "ü" * 1000):
        assert sha256_hex(text.encode()) == hashlib.sha256(text.encode()).hexdigest()
