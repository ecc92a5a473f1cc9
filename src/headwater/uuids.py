"""UUIDs as text, made here: time-ordered v7 for FlowFiles, name-based v5 for events.

No compiled uuid library: on an agent, uuid_utils was 0.7 MB resident of a 30 MB
budget, for one call that is ten lines of Python. A v7 uuid here costs about 1 us
(uuid_utils: 0.2). A v5 takes CPython's own SHA-1, as ``uuid.uuid5`` would take
hashlib's and with it OpenSSL (see ``digests``).

The 74 random bits of a v7 come from a generator of this module's own, seeded by the
OS (and again in a forked child): a flow or a test that seeds ``random`` never makes
two runs repeat uuids, which receipts would take for data already received. Within
one millisecond v7 uuids are unordered, as RFC 9562 allows; across milliseconds they
sort by creation time, which keeps indexes on them append-mostly.
"""

from __future__ import annotations

import os
import random
import time

from headwater.digests import builtin_digest

_random = random.Random()
os.register_at_fork(after_in_child=_random.seed)
_bits = _random.getrandbits
_RANDOM = ((1 << 80) - 1) ^ (0xF << 76 | 0x3 << 62)  # below the time: all but version, variant
_V7 = 0x7 << 76 | 0x2 << 62  # version 7, variant 10 (RFC 9562)
_V5 = (0xF << 76 | 0x3 << 62, 0x5 << 76 | 0x2 << 62)  # bits to clear, bits to set


def _text(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7() -> str:
    """A new time-ordered uuid: 48 bits of Unix milliseconds, then random bits."""
    return _text(time.time_ns() // 1_000_000 << 80 | _bits(80) & _RANDOM | _V7)


def uuid5(namespace: str, name: str) -> str:
    """``str(uuid.uuid5(UUID(namespace), name))``: SHA-1 of the namespace and the name."""
    digest = builtin_digest("_sha1", "sha1")(bytes.fromhex(namespace.replace("-", "")))
    digest.update(name.encode("utf-8"))
    clear, mark = _V5
    return _text(int.from_bytes(digest.digest()[:16], "big") & ~clear | mark)
