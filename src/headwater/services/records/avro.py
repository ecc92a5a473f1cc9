"""AvroReader and AvroRecordSetWriter, on fastavro.

Avro container files carry their schema, so the reader's default strategy is
``embedded-avro-schema``; the writer embeds its schema by default too
(``avro-embedded``), or writes bare records when told to carry the schema elsewhere.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Mapping
from typing import Any

import fastavro
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from headwater.context import ServiceContext
from headwater.processor import Property
from headwater.services.records.api import RecordError, RecordReaderFactory, RecordSetWriterFactory
from headwater.services.records.coerce import conform, table_from_rows
from headwater.services.records.registry import (
    EMBEDDED,
    INHERIT,
    SchemaAccessing,
    strategy_property,
)
from headwater.services.records.schema import RecordSchema, from_avro, to_avro


class AvroReader(SchemaAccessing, RecordReaderFactory):
    """Reads Avro container files (schema embedded) or bare Avro records with a schema
    from the registry or the schema-text property."""

    tags = ("avro", "parse", "record", "row", "reader", "delimited", "comma", "separated", "values")

    strategy = strategy_property(EMBEDDED, EMBEDDED, infer=False)

    def read(self, data: bytes, attributes: Mapping[str, str]) -> pa.Table:
        schema = self._access.schema(attributes)
        stream = io.BytesIO(data)
        try:
            if schema is None:
                reader = fastavro.reader(stream)
                writer_schema = reader.writer_schema
                rows: list[Any] = list(reader)
                if not isinstance(writer_schema, dict):
                    raise RecordError("the Avro file's schema is not a record schema")
                schema = from_avro(_plain(writer_schema))
            else:
                rows = _read_bare(stream, schema)
        except (ValueError, EOFError, StopIteration, TypeError) as exc:
            raise RecordError(f"not readable as Avro: {exc}") from None
        return table_from_rows(rows, schema.arrow)


def _read_bare(stream: io.BytesIO, schema: RecordSchema) -> list[Any]:
    """Records written without a container, one after another (NiFi's no-schema)."""
    if stream.getvalue()[:4] == b"Obj\x01":
        return list(fastavro.reader(stream, reader_schema=schema.avro))
    parsed = fastavro.parse_schema(schema.avro)
    size = len(stream.getvalue())
    rows = []
    while stream.tell() < size:
        rows.append(fastavro.schemaless_reader(stream, parsed, None))
    return rows


def _plain(schema: Any) -> Any:
    """fastavro's parsed schema back to plain Avro JSON (it adds ``__fastavro_parsed``)."""
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


def _codecs() -> tuple[str, ...]:
    codecs = ["NONE", "DEFLATE", "BZIP2"]
    if importlib.util.find_spec("cramjam") is not None:  # fastavro's snappy codec
        codecs.append("SNAPPY")
    return tuple(codecs)


class AvroRecordSetWriter(SchemaAccessing, RecordSetWriterFactory):
    """Writes records as an Avro container file with the schema embedded (by default),
    or as bare Avro records."""

    tags = ("avro", "result", "set", "writer", "serializer", "record", "recordset", "row")
    mime_type = "application/avro-binary"

    strategy = strategy_property(INHERIT, INHERIT, infer=False)
    write_strategy = Property(
        "Schema Write Strategy",
        "avro-embedded writes a container file; the others write bare records and say "
        "which schema in the schema.name or avro.schema attribute",
        default="avro-embedded",
        allowed=("avro-embedded", "no-schema", "schema-name", "full-schema-attribute"),
    )
    compression = Property(
        "compression-format",
        "The codec of the container file's blocks: " + ", ".join(_codecs()),
        display_name="Compression Format",
        default="NONE",
        allowed=_codecs(),
    )

    def on_enabled(self, context: ServiceContext) -> None:
        super().on_enabled(context)
        self._write_strategy = context[self.write_strategy]
        codec = context[self.compression].lower()
        self._codec = "null" if codec == "none" else codec

    def _schema(self, table: pa.Table, attributes: Mapping[str, str]) -> RecordSchema:
        schema = self._access.schema(attributes)
        if schema is None:
            return from_avro(to_avro(table.schema))
        return schema

    def write(self, table: pa.Table, attributes: Mapping[str, str]) -> bytes:
        schema = self._schema(table, attributes)
        rows = conform(table, schema).to_pylist()
        parsed = fastavro.parse_schema(schema.avro)
        out = io.BytesIO()
        try:
            if self._write_strategy == "avro-embedded":
                fastavro.writer(out, parsed, rows, codec=self._codec)
            else:
                for row in rows:
                    fastavro.schemaless_writer(out, parsed, row)
        except (ValueError, TypeError) as exc:
            raise RecordError(f"not writable as Avro: {exc}") from None
        return out.getvalue()

    def attributes_for(self, table: pa.Table, attributes: Mapping[str, str]) -> dict[str, str]:
        out = super().attributes_for(table, attributes)
        schema = self._schema(table, attributes)
        if self._write_strategy == "schema-name" and schema.name:
            out["schema.name"] = schema.name
        elif self._write_strategy == "full-schema-attribute":
            out["avro.schema"] = orjson.dumps(schema.avro).decode()
        return out
