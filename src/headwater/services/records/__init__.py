"""Record readers, writers and the schema registry, all working on Arrow tables.

Processors refer to a reader or writer through a property declared with
``service=RecordReaderFactory`` or ``service=RecordSetWriterFactory``, then call
``read(data, attributes)`` / ``write(table, attributes)``. A record that does not fit
its schema raises ``RecordError``, which a processor routes to ``failure``.
"""

from headwater.services.records.api import RecordError, RecordReaderFactory, RecordSetWriterFactory
from headwater.services.records.avro import AvroReader, AvroRecordSetWriter
from headwater.services.records.csv import CSVReader, CSVRecordSetWriter
from headwater.services.records.json import JsonRecordSetWriter, JsonTreeReader
from headwater.services.records.parquet import ParquetReader, ParquetRecordSetWriter
from headwater.services.records.registry import AvroSchemaRegistry
from headwater.services.records.schema import RecordSchema

__all__ = [
    "AvroReader",
    "AvroRecordSetWriter",
    "AvroSchemaRegistry",
    "CSVReader",
    "CSVRecordSetWriter",
    "JsonRecordSetWriter",
    "JsonTreeReader",
    "ParquetReader",
    "ParquetRecordSetWriter",
    "RecordError",
    "RecordReaderFactory",
    "RecordSchema",
    "RecordSetWriterFactory",
]
