"""Site-to-site over HTTP: NiFi's headers, response codes and FlowFile stream framing.

A transaction's body is NiFi's FlowFile stream, one packet per FlowFile, packets one
after another until the end of the body::

    int32   attribute count
    repeat: int32 name length, name (UTF-8), int32 value length, value (UTF-8)
    int64   content length
    bytes   content

Integers are big-endian (Java's DataOutputStream). The checksum both sides compare
is the CRC32 (java.util.zip.CRC32, which is ``zlib.crc32``) of the uncompressed
stream. With compression the body is deflated with zlib as a whole (NiFi's own
compressed framing is not spoken: headwater talks to headwater when compressing).

Encoding and decoding are batch operations over a whole transaction: attribute names
repeat from FlowFile to FlowFile, so their encoded and decoded forms are cached.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum

PROTOCOL_VERSION = "1"

PROTOCOL_VERSION_HEADER = "x-nifi-site-to-site-protocol-version"
SERVER_TTL_HEADER = "x-nifi-site-to-site-server-transaction-ttl"
USE_COMPRESSION_HEADER = "x-nifi-site-to-site-use-compression"
REQUEST_EXPIRATION_HEADER = "x-nifi-site-to-site-request-expiration"
BATCH_COUNT_HEADER = "x-nifi-site-to-site-batch-count"
BATCH_SIZE_HEADER = "x-nifi-site-to-site-batch-size"
BATCH_DURATION_HEADER = "x-nifi-site-to-site-batch-duration"
LOCATION_URI_INTENT_HEADER = "x-location-uri-intent"
TRANSACTION_URL_INTENT = "transaction-url"

_INT = struct.Struct(">i")
_LONG = struct.Struct(">q")
_INT_BYTES = _INT.pack
_LONG_BYTES = _LONG.pack
_MAX_ATTRIBUTE = 1 << 26  # no name or value is 64 MB: a length beyond is a broken stream


class ResponseCode(IntEnum):
    """NiFi's site-to-site response codes, as numbers in ``responseCode``."""

    PROPERTIES_OK = 1
    CONTINUE_TRANSACTION = 10
    FINISH_TRANSACTION = 11
    CONFIRM_TRANSACTION = 12
    TRANSACTION_FINISHED = 13
    TRANSACTION_FINISHED_BUT_DESTINATION_FULL = 14
    CANCEL_TRANSACTION = 15
    BAD_CHECKSUM = 19
    UNKNOWN_PORT = 200
    PORT_NOT_IN_VALID_STATE = 201
    PORTS_DESTINATION_FULL = 202
    UNAUTHORIZED = 240
    ABORT = 250


class StreamError(ValueError):
    """A FlowFile stream that does not follow the framing; says where it broke."""


class DataPacket:
    """One FlowFile on the wire: its attributes and content (decoded: a view into the
    stream, which it keeps alive)."""

    __slots__ = ("attributes", "content")

    def __init__(self, attributes: dict[str, str], content: bytes | memoryview) -> None:
        self.attributes = attributes
        self.content = content

    def __repr__(self) -> str:
        return f"DataPacket({self.attributes!r}, {len(self.content)} bytes)"


class StreamEncoder:
    """Encodes FlowFiles into one stream, caching the framed attribute names."""

    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: dict[str, bytes] = {}

    def encode(self, packets: Iterable[tuple[Mapping[str, str], bytes]]) -> bytes:
        """The stream of these (attributes, content) pairs."""
        names = self._names
        parts: list[bytes] = []
        append = parts.append
        for attributes, content in packets:
            append(_INT_BYTES(len(attributes)))
            for name, value in attributes.items():
                framed = names.get(name)
                if framed is None:
                    raw = name.encode()
                    framed = names[name] = _INT_BYTES(len(raw)) + raw
                    if len(names) > 10_000:
                        names.clear()
                raw = value.encode()
                # One small bytes per attribute: the join at the end, not the copies
                # here, is what costs (half the time of three parts each).
                append(framed + _INT_BYTES(len(raw)) + raw)
            append(_LONG_BYTES(len(content)))
            append(content)
        return b"".join(parts)


def encode(packets: Iterable[tuple[Mapping[str, str], bytes]]) -> bytes:
    """The FlowFile stream of these (attributes, content) pairs."""
    return StreamEncoder().encode(packets)


def decode(data: bytes) -> list[DataPacket]:
    """Every FlowFile in a stream; ``StreamError`` saying where a broken one ends.
    Contents are views into ``data``: copying each costs more than parsing it."""
    unpack_int, unpack_long = _INT.unpack_from, _LONG.unpack_from
    view = memoryview(data)
    names: dict[bytes, str] = {}
    packets: list[DataPacket] = []
    end = len(data)
    pos = 0
    try:
        while pos < end:
            start = pos
            (count,) = unpack_int(data, pos)
            pos += 4
            if count < 0 or count > _MAX_ATTRIBUTE:
                where = f"FlowFile {len(packets) + 1} at byte {start}"
                raise StreamError(f"{where}: a count of {count} attributes")
            attributes: dict[str, str] = {}
            for _ in range(count):
                (size,) = unpack_int(data, pos)
                pos += 4
                if size < 0 or pos + size > end:
                    raise StreamError(
                        f"FlowFile {len(packets) + 1} at byte {start}: an attribute name says"
                        f" {size} bytes, {end - pos} left"
                    )
                raw = data[pos : pos + size]
                pos += size
                name = names.get(raw)
                if name is None:
                    name = names[raw] = raw.decode()
                (size,) = unpack_int(data, pos)
                pos += 4
                if size < 0 or pos + size > end:
                    raise StreamError(
                        f"FlowFile {len(packets) + 1} at byte {start}: attribute {name!r} says"
                        f" {size} bytes, {end - pos} left"
                    )
                attributes[name] = data[pos : pos + size].decode()
                pos += size
            (size,) = unpack_long(data, pos)
            pos += 8
            if size < 0 or pos + size > end:
                raise StreamError(
                    f"FlowFile {len(packets) + 1} at byte {start}: content says {size} bytes,"
                    f" {end - pos} left"
                )
            packets.append(DataPacket(attributes, view[pos : pos + size]))
            pos += size
    except struct.error:
        raise StreamError(
            f"the stream ends inside FlowFile {len(packets) + 1} (byte {end} of a frame)"
        ) from None
    except UnicodeDecodeError as exc:
        raise StreamError(
            f"FlowFile {len(packets) + 1}: an attribute is not UTF-8: {exc}"
        ) from None
    if pos != end:
        raise StreamError(f"the stream ends inside FlowFile {len(packets) + 1}")
    return packets


def checksum(data: bytes) -> int:
    """The CRC32 of a stream, as NiFi's java.util.zip.CRC32 computes it."""
    return zlib.crc32(data) & 0xFFFFFFFF


def compress(data: bytes) -> bytes:
    return zlib.compress(data, 1)


def decompress(data: bytes, limit: int) -> bytes:
    """The inflated stream; StreamError when it is not zlib or inflates past ``limit``."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise StreamError(f"the compressed stream does not inflate: {exc}") from None
    if len(out) > limit:
        raise StreamError(f"the stream inflates past {limit} bytes")
    if not inflater.eof:
        raise StreamError("the compressed stream is cut short")
    return out


def total_size(packets: Sequence[DataPacket]) -> int:
    return sum(len(p.content) for p in packets)
