"""ParquetReader and ParquetRecordSetWriter, on pyarrow.

Parquet carries its schema, so the reader needs no strategy. The writer's NiFi
``row-group-size`` is a data size; pyarrow counts rows, so the size is turned into
rows from the table's bytes per row.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from headwater.context import ServiceContext
from headwater.processor import Property
from headwater.services.records.api import RecordError, RecordReaderFactory, RecordSetWriterFactory
from headwater.services.records.coerce import conform
from headwater.services.records.registry import (
    INHERIT,
    SchemaAccessing,
    strategy_property,
)
from headwater.units import parse_data_size

_CODECS = ("UNCOMPRESSED", "SNAPPY", "GZIP", "BROTLI", "LZ4", "ZSTD")


class ParquetReader(RecordReaderFactory):
    """Reads a Parquet file into Arrow, with the schema the file carries."""

    tags = ("parquet", "parse", "record", "row", "reader")

    def read(self, data: bytes, attributes: Mapping[str, str]) -> pa.Table:
        try:
            return pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise RecordError(f"not readable as Parquet: {exc}") from None


class ParquetRecordSetWriter(SchemaAccessing, RecordSetWriterFactory):
    """Writes records as one Parquet file."""

    tags = ("parquet", "result", "set", "writer", "serializer", "record", "recordset", "row")
    mime_type = "application/parquet"

    strategy = strategy_property(INHERIT, INHERIT, infer=False)
    compression = Property(
        "compression-type",
        "The codec of the file's pages",
        display_name="Compression Type",
        default="UNCOMPRESSED",
        allowed=_CODECS,
    )
    row_group_size = Property(
        "row-group-size",
        "The size of a row group, as a data size (128 MB when unset)",
        display_name="Row Group Size",
        parse=parse_data_size,
    )

    def on_enabled(self, context: ServiceContext) -> None:
        super().on_enabled(context)
        codec = context[self.compression]
        self._codec = "none" if codec == "UNCOMPRESSED" else codec.lower()
        self._group_bytes = context.get(self.row_group_size) or 128 * 1024 * 1024

    def write(self, table: pa.Table, attributes: Mapping[str, str]) -> bytes:
        schema = self._access.schema(attributes)
        if schema is not None:
            table = conform(table, schema)
        per_row = max(1, table.nbytes // max(1, table.num_rows))
        out = io.BytesIO()
        pq.write_table(
            table,
            out,
            compression=self._codec,
            row_group_size=max(1, self._group_bytes // per_row),
        )
        return out.getvalue()
