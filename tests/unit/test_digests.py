"""CPython's own digests give what hashlib and uuid give."""

import hashlib
import uuid

from headwater.digests import sha256_hex, uuid5


def test_sha256_and_uuid5_equal_the_standard_librarys() -> None:
    for text in ("", "flow: tiny\n", "ü" * 1000):
        assert sha256_hex(text.encode()) == hashlib.sha256(text.encode()).hexdigest()
        namespace = uuid.UUID("5d6c1bb6-4f0e-4b83-9d43-7a5b1e0c2f41")
        assert uuid5(namespace, text) == uuid.uuid5(namespace, text)
