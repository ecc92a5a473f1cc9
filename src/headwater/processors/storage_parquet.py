"""PutParquet: the records of each FlowFile as one Parquet file on file, s3 or hdfs.

The FlowFile is read into one Arrow table by its ``record-reader`` and written by
pyarrow's Parquet writer straight into the storage stream: a hidden temporary file that
is renamed into place (on s3 the object appears whole), removed if anything fails. The
Directory is resolved like PutHDFS's (a path qualified by ``fs.defaultFS``, or a URL);
see :mod:`headwater.processors.storage_hdfs`, and note that, as there, ``hdfs://`` is
untested against a live HDFS.

Routing follows NiFi: content the reader cannot parse, records Parquet cannot hold, and
a file already there without ``overwrite`` go to ``failure`` (the last penalized); a
filesystem error goes to ``retry``, penalized, and the processor yields. Omitted from
NiFi's: Kerberos, Permissions umask, Remote Owner/Group, max-padding-size,
enable-validation, the avro-* list options and remove-crc-files (no CRC files are
written here), and the LZO codec, which pyarrow cannot write.
"""

from __future__ import annotations

import functools
import time
from typing import Any, BinaryIO

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import Property, Relationship
from headwater.processors.records import ERROR_ATTRIBUTE, READ_ERRORS, reader_property
from headwater.processors.storage_hdfs import AbstractHadoopProcessor
from headwater.services.records.api import RecordError
from headwater.storage import FAIL, REPLACE, StorageConflict, StorageError
from headwater.units import parse_bool, parse_data_size

CODECS = {
    "UNCOMPRESSED": "none",
    "SNAPPY": "snappy",
    "GZIP": "gzip",
    "BROTLI": "brotli",
    "LZ4": "lz4",
    "ZSTD": "zstd",
    "LZ4_RAW": "lz4",
}
"""NiFi's (parquet-mr's) codec names and pyarrow's; LZO is not writable by pyarrow."""
WRITER_VERSIONS = {"PARQUET_1_0": "1.0", "PARQUET_2_0": "2.0"}
_DATA_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


class PutParquet(AbstractHadoopProcessor):
    """Reads the records of each FlowFile with the Record Reader and writes them as one
    Parquet file, named by its filename, to the Directory (a path or a file, s3 or hdfs
    URL) through a temporary dot file renamed into place. hdfs:// is untested against a
    live HDFS; file and s3 are tested."""

    tags = ("put", "parquet", "hadoop", "HDFS", "filesystem", "record")

    SUCCESS = Relationship(
        "success", "Files written; filename, absolute.hdfs.path, record.count set."
    )
    RETRY = Relationship(
        "retry", "FlowFiles not written because of a filesystem error that may pass, penalized."
    )
    FAILURE = Relationship(
        "failure",
        "FlowFiles whose records could not be read or written, or whose file already "
        "exists; the reason in record.error.message.",
    )

    reader = reader_property()
    compression = Property(
        "compression-type",
        "The codec of the file's pages",
        display_name="Compression Type",
        default="UNCOMPRESSED",
        required=True,
        allowed=tuple(CODECS),
    )
    overwrite = Property(
        "overwrite",
        "Whether to replace a file of the same name; when false it goes to failure",
        display_name="Overwrite Files",
        default="false",
        required=True,
        parse=parse_bool,
    )
    row_group_size = Property(
        "row-group-size",
        "The size of a row group, as a data size (pyarrow's default when unset)",
        display_name="Row Group Size",
        expression=True,
        parse=parse_data_size,
    )
    page_size = Property(
        "page-size",
        "The size of a data page, as a data size",
        display_name="Page Size",
        expression=True,
        parse=parse_data_size,
    )
    dictionary_page_size = Property(
        "dictionary-page-size",
        "The largest dictionary page before falling back to plain encoding",
        display_name="Dictionary Page Size",
        expression=True,
        parse=parse_data_size,
    )
    dictionary = Property(
        "enable-dictionary-encoding",
        "Whether to dictionary-encode columns (pyarrow's default, true, when unset)",
        display_name="Enable Dictionary Encoding",
        parse=parse_bool,
    )
    writer_version = Property(
        "writer-version",
        "The data page format: PARQUET_1_0 (v1 pages) or PARQUET_2_0 (v2 pages)",
        display_name="Writer Version",
        allowed=tuple(WRITER_VERSIONS),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader = context[self.reader]
        conflict = REPLACE if context[self.overwrite] else FAIL
        batch = session.get_batch()
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                table = reader.read(session.read(ff), ff.attributes)
                options = self._options(context, ff, table)
                target = self.filesystems.locate(context.evaluate(self.directory, ff), ff.filename)
                produce = functools.partial(_write_parquet, table, options=options)
                target.storage.write(target.path, produce, conflict)
            except StorageConflict as exc:
                self._route(context, session, ff, exc, self.FAILURE, penalize=True)
                continue
            except StorageError as exc:  # the filesystem may come back: retry later
                self._route(context, session, ff, exc, self.RETRY, penalize=True)
                session.transfer_all(batch[index + 1 :])
                context.yield_()
                return
            except (ProcessException, *READ_ERRORS) as exc:
                self._route(context, session, ff, exc, self.FAILURE, penalize=False)
                continue
            ff = session.put_all_attributes(
                ff,
                {
                    "absolute.hdfs.path": target.absolute_directory,
                    "hadoop.file.url": target.url,
                    "record.count": str(table.num_rows),
                },
            )
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.send(ff, target.url, millis=millis)
            session.transfer(ff, self.SUCCESS)

    def _options(self, context: ProcessContext, ff: FlowFile, table: pa.Table) -> dict[str, Any]:
        """pyarrow ``write_table`` options from the properties, evaluated for ``ff``."""
        options: dict[str, Any] = {"compression": CODECS[context[self.compression]]}
        if context.is_set(self.row_group_size):
            group_bytes = context.evaluate(self.row_group_size, ff)
            per_row = max(1, table.nbytes // max(1, table.num_rows))
            options["row_group_size"] = max(1, group_bytes // per_row)
        if context.is_set(self.page_size):
            options["data_page_size"] = context.evaluate(self.page_size, ff)
        if context.is_set(self.dictionary_page_size):
            limit = context.evaluate(self.dictionary_page_size, ff)
            options["dictionary_pagesize_limit"] = limit
        if context.is_set(self.dictionary):
            options["use_dictionary"] = context[self.dictionary]
        if context.is_set(self.writer_version):
            options["data_page_version"] = WRITER_VERSIONS[context[self.writer_version]]
        return options

    def _route(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ff: FlowFile,
        exc: BaseException,
        relationship: Relationship,
        *,
        penalize: bool,
    ) -> None:
        reason = str(exc) or type(exc).__name__
        context.logger.warning("routing %s to %s: %s", ff.uuid, relationship, reason)
        ff = session.put_attribute(ff, ERROR_ATTRIBUTE, reason)
        session.transfer(session.penalize(ff) if penalize else ff, relationship)


def _write_parquet(table: pa.Table, out: BinaryIO, *, options: dict[str, Any]) -> None:
    """Write ``table`` into the open storage stream; records Parquet cannot hold raise
    RecordError, which the storage layer lets through (the FlowFile's fault, not the
    filesystem's)."""
    try:
        pq.write_table(table, out, **options)
    except _DATA_ERRORS as exc:
        raise RecordError(f"records cannot be written as Parquet: {exc}") from exc
