"""The content repository: append-only claim files shared by many FlowFiles.

Content is appended to a *resource claim*, a numbered file, until the file reaches
``claim_max_bytes``; then a new claim starts. A FlowFile points at (claim, offset,
size). Many small FlowFiles share one file, so writing costs one buffered append, not
a file each (NiFi's resource claims). Claims are reference counted by the FlowFiles
persisted in the FlowFile repository.

Provenance events keep content viewable after its FlowFiles are gone, so a claim is
deleted only when no FlowFile and no retained event points at it. That needs no
bookkeeping per event: when a claim's count drops to zero, every event that can ever
point at it has already been given an id, so the claim remembers the provenance
repository's highest id then (its *watermark*); retention removes events oldest id
first, and once every event up to the watermark is gone, so is every reference.

Nothing is fsynced per write, as in NiFi: data reaches the OS before the FlowFile
repository commits, which survives a killed process. Writes are flushed by the
session before it commits.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from headwater.errors import RepositoryError

_SECTIONS = 256
_FLUSH_AT = 256 * 1024
_IOV_MAX = 1024  # buffers per writev (Linux's IOV_MAX)


class ClaimWriter:
    """Appends to one claim file. Used by one session at a time, then pooled."""

    __slots__ = ("_buffer", "_file", "claim", "flushed", "repository")

    def __init__(self, repository: ContentRepository, claim: int) -> None:
        self.repository = repository
        self.claim = claim
        path = repository.path_of(claim)
        try:
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - pooled, closed by pool
        except OSError as exc:
            raise RepositoryError(f"cannot open content claim {path}: {exc}") from exc
        self.flushed = self._file.tell()
        self._buffer = bytearray()

    @property
    def length(self) -> int:
        return self.flushed + len(self._buffer)

    def append(self, data: bytes | bytearray | memoryview) -> int:
        """Append and return the offset the data starts at. Small appends gather in a
        buffer; a large one goes straight to the file (``append_all``), as copying
        megabytes through the buffer costs more than the write."""
        if len(data) >= _FLUSH_AT:
            return self.append_all((data,))
        offset = self.flushed + len(self._buffer)
        self._buffer += data
        if len(self._buffer) >= _FLUSH_AT:
            self.flush()
        return offset

    def append_all(self, parts: Sequence[bytes | bytearray | memoryview]) -> int:
        """Append ``parts`` one after another and return the offset the first starts
        at. Many at once (a site-to-site transaction's contents) go to the file with
        ``writev``, straight from where they lie: no copy into one buffer first."""
        offset = self.flushed + len(self._buffer)
        if sum(len(part) for part in parts) < _FLUSH_AT:
            for part in parts:
                self._buffer += part
            return offset
        self.flush()
        for start in range(0, len(parts), _IOV_MAX):
            chunk = parts[start : start + _IOV_MAX]
            try:
                written = os.writev(self._file.fileno(), chunk)
            except OSError as exc:
                raise RepositoryError(f"cannot write content claim {self.claim}: {exc}") from exc
            self.flushed += written
            if written < sum(len(part) for part in chunk):  # cut short: write the rest
                self._write(memoryview(b"".join(chunk))[written:])
        return offset

    def flush(self) -> None:
        if self._buffer:
            self._write(self._buffer)
            self._buffer.clear()

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        rest = memoryview(data)
        try:
            while rest:  # an unbuffered write may take only part (a signal, a full disk)
                rest = rest[self._file.write(rest) :]
        except OSError as exc:
            raise RepositoryError(f"cannot write content claim {self.claim}: {exc}") from exc
        self.flushed += len(data)

    def close(self) -> None:
        self.flush()
        self._file.close()


class ContentRepository:
    """Claim files under ``directory``, with reference counts kept in memory.

    Counts are rebuilt at start from the FlowFile repository (``restore_counts``);
    a claim is only ever deleted by ``reclaim``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        claim_max_bytes: int = 1024 * 1024,
        watermark: Callable[[], int] = lambda: 0,
    ) -> None:
        self.directory = Path(directory)
        self.claim_max_bytes = claim_max_bytes
        self._watermark = watermark  # the provenance repository's highest event id
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}
        self._idle: list[ClaimWriter] = []  # writers not in use, with room left
        self._writing: dict[int, ClaimWriter] = {}  # every open writer by claim
        self._candidates: dict[int, int] = {}  # zero-count claim -> its watermark
        try:
            for section in range(_SECTIONS):
                (self.directory / f"{section:02x}").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RepositoryError(f"cannot create content repository {directory}: {exc}") from exc
        self._next_claim = max(self.claims_on_disk(), default=0) + 1

    def path_of(self, claim: int) -> Path:
        return self.directory / f"{claim % _SECTIONS:02x}" / str(claim)

    def claims_on_disk(self) -> set[int]:
        return {
            int(entry.name)
            for section in self.directory.iterdir()
            if section.is_dir()
            for entry in os.scandir(section)
            if entry.name.isdigit()
        }

    # -- writing ---------------------------------------------------------------------

    def acquire_writer(self) -> ClaimWriter:
        """A writer with room, for one session's exclusive use until released."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            claim = self._next_claim
            self._next_claim += 1
        writer = ClaimWriter(self, claim)
        with self._lock:
            self._writing[claim] = writer
        return writer

    def release_writer(self, writer: ClaimWriter) -> None:
        """Return a writer after its session ended; a full claim is closed for good."""
        if writer.length < self.claim_max_bytes:
            with self._lock:
                self._idle.append(writer)
            return
        writer.close()
        with self._lock:
            del self._writing[writer.claim]
            if self._counts.get(writer.claim, 0) == 0:
                self._candidates[writer.claim] = self._watermark()

    # -- reading ---------------------------------------------------------------------

    def read(self, claim: int, offset: int, size: int) -> bytes:
        if claim == 0 or size == 0:
            return b""
        writer = self._writing.get(claim)
        if writer is not None and offset + size > writer.flushed:
            with self._lock:
                writer.flush()
        try:
            with open(self.path_of(claim), "rb") as file:
                file.seek(offset)
                data = file.read(size)
        except OSError as exc:
            raise RepositoryError(f"cannot read content claim {claim}: {exc}") from exc
        if len(data) != size:
            raise RepositoryError(
                f"content claim {claim} is short: wanted {size} bytes at {offset}, got {len(data)}"
            )
        return data

    def read_many(self, items: Sequence[tuple[int, int, int]]) -> list[bytes]:
        """The contents of many ``(claim, offset, size)``, in order, each claim opened
        once and read in one go where its items lie close together: a merge of 10,000
        small FlowFiles costs 10,000 opens otherwise (~30 us each)."""
        out = [b""] * len(items)
        by_claim: dict[int, list[int]] = {}
        for index, (claim, _, size) in enumerate(items):
            if claim and size:
                by_claim.setdefault(claim, []).append(index)
        for claim, indexes in by_claim.items():
            start = min(items[i][1] for i in indexes)
            end = max(items[i][1] + items[i][2] for i in indexes)
            wanted = sum(items[i][2] for i in indexes)
            writer = self._writing.get(claim)
            if writer is not None and end > writer.flushed:
                with self._lock:
                    writer.flush()
            try:
                with open(self.path_of(claim), "rb") as file:
                    if end - start <= 2 * wanted:  # dense: one read, then slices
                        file.seek(start)
                        span = file.read(end - start)
                        for i in indexes:
                            _, offset, size = items[i]
                            out[i] = span[offset - start : offset - start + size]
                    else:
                        for i in indexes:
                            _, offset, size = items[i]
                            file.seek(offset)
                            out[i] = file.read(size)
            except OSError as exc:
                raise RepositoryError(f"cannot read content claim {claim}: {exc}") from exc
            for i in indexes:
                if len(out[i]) != items[i][2]:
                    raise RepositoryError(
                        f"content claim {claim} is short: wanted {items[i][2]} bytes at"
                        f" {items[i][1]}, got {len(out[i])}"
                    )
        return out

    def open(self, claim: int, offset: int, size: int) -> BinaryIO:
        """A read-only stream over one FlowFile's content, without loading it whole."""
        if claim == 0 or size == 0:
            return io.BytesIO()
        if size <= _FLUSH_AT:
            return io.BytesIO(self.read(claim, offset, size))
        writer = self._writing.get(claim)
        if writer is not None:
            with self._lock:
                writer.flush()
        file = open(self.path_of(claim), "rb")  # noqa: SIM115 - closed with the slice
        return io.BufferedReader(_Slice(file, offset, size))

    # -- reference counting and reclamation ------------------------------------------

    def restore_counts(self, counts: dict[int, int]) -> None:
        """Counts from the FlowFile repository at start; claims nobody holds are candidates."""
        mark = self._watermark()
        with self._lock:
            self._counts = {c: n for c, n in counts.items() if n > 0}
            orphans = self.claims_on_disk() - set(self._counts) - set(self._writing)
            self._candidates = dict.fromkeys(orphans, mark)

    def adjust(self, deltas: dict[int, int]) -> None:
        """Apply count changes of one committed session (after its provenance events
        have their ids, so the watermark of a claim let go covers them)."""
        mark = -1
        with self._lock:
            counts = self._counts
            for claim, delta in deltas.items():
                if claim == 0 or delta == 0:
                    continue
                count = counts.get(claim, 0) + delta
                if count > 0:
                    counts[claim] = count
                else:
                    counts.pop(claim, None)
                    if claim not in self._writing:
                        if mark < 0:
                            mark = self._watermark()
                        self._candidates[claim] = mark

    def count(self, claim: int) -> int:
        return self._counts.get(claim, 0)

    def reclaim(self, retained_from: int) -> int:
        """Delete candidate claims whose watermark is below ``retained_from``, the lowest
        event id provenance may still hold; returns how many files went."""
        with self._lock:
            doomed = [
                claim
                for claim, mark in self._candidates.items()
                if mark < retained_from and claim not in self._counts and claim not in self._writing
            ]
            for claim in doomed:
                del self._candidates[claim]
        removed = 0
        for claim in doomed:
            try:
                self.path_of(claim).unlink(missing_ok=True)
                removed += 1
            except OSError:
                with self._lock:
                    self._candidates.setdefault(claim, -1)  # try again next time
        return removed

    def flush_all(self) -> None:
        with self._lock:
            for writer in self._writing.values():
                writer.flush()

    def close(self) -> None:
        with self._lock:
            for writer in self._writing.values():
                writer.close()
            self._writing.clear()
            self._idle.clear()

    def disk_usage(self) -> int:
        return sum(
            entry.stat().st_size
            for section in self.directory.iterdir()
            if section.is_dir()
            for entry in os.scandir(section)
        )


class _Slice(io.RawIOBase):
    """A window of ``size`` bytes at ``offset`` of an open file."""

    def __init__(self, file: io.BufferedReader, offset: int, size: int) -> None:
        self._file = file
        self._start = offset
        self._end = offset + size
        file.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        left = self._end - self._file.tell()
        if left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), left)]
        return self._file.readinto(view) or 0

    def close(self) -> None:
        self._file.close()
        super().close()
