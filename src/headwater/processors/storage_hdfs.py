"""PutHDFS, and what it shares with PutParquet (NiFi's AbstractHadoopProcessor).

The filesystem comes from the Directory: a path is qualified against ``fs.defaultFS``
from the Hadoop Configuration Resources (``file:///`` without one, as in Hadoop), and a
URL (``hdfs://``, ``s3a://``, ``s3://``, ``file://``) names its own; see
:mod:`headwater.storage.hadoop`. Writes go through :mod:`headwater.storage`: a hidden
temporary name, then a rename (Writing Strategy ``writeAndRename``).

**Untested against a live HDFS.** The ``hdfs://`` path goes to pyarrow's
HadoopFileSystem (libhdfs and a JVM), which cannot run on this machine; the tests run
PutHDFS against ``file://`` and a moto S3 server through the same code.

Omitted from NiFi's PutHDFS: Kerberos, Permissions umask, Remote Owner/Group, Ignore
Locality, Append Mode ``AVRO``, and the Hadoop-framed codecs (SNAPPY, LZ4, LZO);
Compression codec offers NONE, DEFAULT (zlib), BZIP and GZIP.
"""

from __future__ import annotations

import bz2
import functools
import time
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.storage import (
    APPEND,
    FAIL,
    IGNORE,
    REPLACE,
    StorageConflict,
    StorageError,
)
from headwater.storage.hadoop import HadoopFileSystems, parse_resources, read_configuration
from headwater.units import parse_data_size, parse_positive_int

_CHUNK = 1 << 20
WRITE_AND_RENAME, SIMPLE_WRITE = "writeAndRename", "simpleWrite"


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


CODECS: dict[str, tuple[str, Callable[[], _Compressor] | None]] = {
    "NONE": ("", None),
    "DEFAULT": (".deflate", zlib.compressobj),
    "BZIP": (".bz2", bz2.BZ2Compressor),
    "GZIP": (".gz", lambda: zlib.compressobj(wbits=31)),
}
"""Hadoop codec names with the extension Hadoop gives the file, and the compressor."""


class AbstractHadoopProcessor(Processor):
    """Hadoop Configuration Resources and Directory, and the filesystems they open."""

    input_requirement = InputRequirement.REQUIRED

    resources = Property(
        "Hadoop Configuration Resources",
        "Comma-separated Hadoop configuration files (core-site.xml, hdfs-site.xml); "
        "fs.defaultFS qualifies a Directory without a scheme (file:/// when unset)",
        expression=True,
        parse=parse_resources,
    )
    directory = Property(
        "Directory",
        "The directory to write to, created when missing; a path or a URL, with "
        "Expression Language, e.g. /lake/sensors/${now():format('yyyy/MM/dd')}/${host}",
        required=True,
        expression=True,
    )

    _filesystems: HadoopFileSystems | None = None

    def on_scheduled(self, context: ProcessContext) -> None:
        paths = context.get(self.resources) or ()
        self._filesystems = HadoopFileSystems(
            read_configuration(paths), self._hdfs_options(context)
        )

    def on_stopped(self, context: ProcessContext) -> None:
        if self._filesystems is not None:
            self._filesystems.close()
        self._filesystems = None

    def _hdfs_options(self, context: ProcessContext) -> dict[str, Any]:
        """Options for pyarrow's HadoopFileSystem beyond the configuration."""
        return {}

    @property
    def filesystems(self) -> HadoopFileSystems:
        assert self._filesystems is not None, "on_scheduled opens the filesystems"
        return self._filesystems


class PutHDFS(AbstractHadoopProcessor):
    """Writes the content of each FlowFile to HDFS, or to any filesystem the Directory
    or fs.defaultFS names (file, s3a), under its filename. The hdfs:// path (pyarrow's
    HadoopFileSystem) is untested against a live HDFS; file and s3 are tested."""

    tags = ("hadoop", "HCFS", "HDFS", "put", "copy", "filesystem")

    SUCCESS = Relationship("success", "Files written (or ignored as already there).")
    FAILURE = Relationship(
        "failure", "Files that could not be written, penalized; the reason in error.message."
    )

    conflict = Property(
        "Conflict Resolution Strategy",
        "What to do when a file of the same name is already there; append works on "
        "file and hdfs, not on s3",
        default=FAIL,
        required=True,
        allowed=(REPLACE, IGNORE, FAIL, APPEND),
    )
    writing = Property(
        "writing-strategy",
        "writeAndRename writes a hidden temporary file and renames it into place, so "
        "readers never see a partial file; simpleWrite writes in place",
        display_name="Writing Strategy",
        default=WRITE_AND_RENAME,
        required=True,
        allowed=(WRITE_AND_RENAME, SIMPLE_WRITE),
    )
    block_size = Property(
        "Block Size",
        "HDFS block size of each file (overrides the configuration)",
        parse=parse_data_size,
    )
    buffer_size = Property(
        "IO Buffer Size",
        "HDFS client buffer size (overrides the configuration)",
        parse=parse_data_size,
    )
    replication = Property(
        "Replication", "How many copies HDFS keeps of each file", parse=parse_positive_int
    )
    codec = Property(
        "Compression codec",
        "Compress the content on the way; the file name gets the codec's extension",
        default="NONE",
        required=True,
        allowed=tuple(CODECS),
    )

    def _hdfs_options(self, context: ProcessContext) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for prop, key in (
            (self.block_size, "default_block_size"),
            (self.buffer_size, "buffer_size"),
            (self.replication, "replication"),
        ):
            value = context.get(prop)
            if value is not None:
                options[key] = value
        return options

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        conflict = context[self.conflict]
        atomic = context[self.writing] == WRITE_AND_RENAME
        extension, compressor = CODECS[context[self.codec]]
        batch = session.get_batch()
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                target = self.filesystems.locate(
                    context.evaluate(self.directory, ff), ff.filename + extension
                )
                produce = functools.partial(_copy, session, ff, compressor=compressor)
                result = target.storage.write(target.path, produce, conflict, atomic=atomic)
            except StorageConflict as exc:
                self._fail(context, session, ff, exc)
                continue
            except StorageError as exc:  # the filesystem is down or refuses: back off
                self._fail(context, session, ff, exc)
                session.transfer_all(batch[index + 1 :])
                context.yield_()
                return
            except ProcessException as exc:  # a bad Directory or filename
                self._fail(context, session, ff, exc)
                continue
            if not result.written:
                context.logger.info("%s exists; ignoring %s", target.url, ff.uuid)
                session.transfer(ff, self.SUCCESS)
                continue
            ff = session.put_all_attributes(
                ff,
                {
                    "filename": ff.filename + extension,
                    "absolute.hdfs.path": target.absolute_directory,
                    "hadoop.file.url": target.url,
                    "target.dir.created": "true" if result.created_dir else "false",
                },
            )
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.send(ff, target.url, millis=millis)
            session.transfer(ff, self.SUCCESS)

    def _fail(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, exc: Exception
    ) -> None:
        route_to_failure(context, session, ff, self.FAILURE, exc, penalize=True)


def _copy(
    session: ProcessSession,
    ff: FlowFile,
    out: BinaryIO,
    *,
    compressor: Callable[[], _Compressor] | None,
) -> None:
    """Stream the content to ``out``, compressed on the way when a codec is set."""
    with session.open_read(ff) as source:
        pack = compressor() if compressor else None
        while chunk := source.read(_CHUNK):
            out.write(pack.compress(chunk) if pack else chunk)
        if pack:
            out.write(pack.flush())
