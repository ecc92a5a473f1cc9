"""The FlowFile stream framing (NiFi's), its CRC32 and compression."""

from __future__ import annotations

import struct
import zlib

import pytest

from headwater.s2s.protocol import (
    StreamEncoder,
    StreamError,
    checksum,
    compress,
    decode,
    decompress,
    encode,
)


def test_one_flowfile_is_framed_as_nifi_frames_it() -> None:
    stream = encode([({"uuid": "u1", "filename": "é.txt"}, b"hello")])
    expected = (
        struct.pack(">i", 2)
        + struct.pack(">i", 4) + b"uuid" + struct.pack(">i", 2) + b"u1"
        + struct.pack(">i", 8) + b"filename" + struct.pack(">i", 6) + "é.txt".encode()
        + struct.pack(">q", 5) + b"hello"
    )  # fmt: skip
    assert stream == expected


def test_many_flowfiles_round_trip_with_empty_content_and_unicode() -> None:
    packets = [
        ({"uuid": f"u{i}", "sensor": "☂" * i}, bytes(range(i % 256)) * 3) for i in range(300)
    ]
    packets.append(({}, b""))
    encoder = StreamEncoder()  # reused: cached names must not leak between streams
    assert encoder.encode(packets[:1]) == encode(packets[:1])
    decoded = decode(encoder.encode(packets))
    assert [(p.attributes, p.content) for p in decoded] == packets


def test_checksum_is_java_crc32() -> None:
    # java.util.zip.CRC32 of "123456789" is 0xCBF43926, the CRC-32 check value
    assert checksum(b"123456789") == 0xCBF43926
    assert checksum(b"") == 0


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"\x00\x00\x00\x01\x00\x00", "ends inside FlowFile 1"),
        (struct.pack(">i", -1), "a count of -1 attributes"),
        (struct.pack(">ii", 1, 99) + b"ab", "attribute name says 99 bytes"),
        (struct.pack(">ii", 1, 1) + b"a" + struct.pack(">i", 50), "attribute 'a' says 50 bytes"),
        (struct.pack(">iq", 0, 10) + b"abc", "content says 10 bytes, 3 left"),
        (struct.pack(">ii", 1, 1) + b"\xff" + struct.pack(">i", 0) + bytes(8), "not UTF-8"),
        (encode([({}, b"x")]) + b"\x00", "ends inside FlowFile 2"),
    ],
)
def test_a_broken_stream_says_where(stream: bytes, reason: str) -> None:
    with pytest.raises(StreamError, match=reason):
        decode(stream)


def test_compression_round_trips_and_is_bounded() -> None:
    stream = encode([({"uuid": "u"}, b"a" * 10_000)])
    assert decompress(compress(stream), len(stream)) == stream
    with pytest.raises(StreamError, match="inflates past"):
        decompress(compress(stream), 100)
    with pytest.raises(StreamError, match="does not inflate"):
        decompress(b"not zlib", 100)
    with pytest.raises(StreamError, match="cut short"):
        decompress(zlib.compress(stream)[:-5], len(stream))
