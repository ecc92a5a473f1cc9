"""What processors see of record services: a reader turns bytes into an Arrow table, a
writer turns an Arrow table into bytes.

A processor declares ``Property("record-reader", service=RecordReaderFactory)`` and
calls ``context[reader].read(content, flowfile.attributes)``; a whole FlowFile of
records is one ``pyarrow.Table``, so processors work on columns, not one dict at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import pyarrow as pa  # type: ignore[import-untyped]

from headwater.errors import ProcessException
from headwater.processor import SERVICE_TYPES, ControllerService


class RecordError(ProcessException):
    """A record does not fit: malformed input, a value that cannot be coerced to its
    field's type, a required field missing. The message names the record (0-based
    index in the FlowFile) and the field, so the FlowFile can go to ``failure``."""

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None):
        where = []
        if index is not None:
            where.append(f"record {index}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.index = index
        self.field = field


class RecordReaderFactory(ControllerService, ABC):
    """Reads the records of one FlowFile's content into an Arrow table."""

    @abstractmethod
    def read(self, data: bytes, attributes: Mapping[str, str]) -> pa.Table:
        """All records in ``data``; ``attributes`` feed schema lookup (``schema.name``).
        Raises ``RecordError`` for content that does not parse or fit the schema."""

    def read_many(
        self, contents: Sequence[bytes], attributes: Sequence[Mapping[str, str]]
    ) -> tuple[pa.Table, list[int]]:
        """The records of many FlowFiles as one table, and how many rows each gave, in
        order: MergeRecord reads a whole trigger's worth of small FlowFiles at once. The
        default reads each and concatenates (schemas promoted); a reader that can parse
        many at once overrides it. Raises ``RecordError`` when any content does not fit
        (the caller then reads one at a time to find which)."""
        tables = [self.read(data, attrs) for data, attrs in zip(contents, attributes, strict=True)]
        if not tables:
            return pa.table({}), []
        return pa.concat_tables(tables, promote_options="permissive"), [t.num_rows for t in tables]


class RecordSetWriterFactory(ControllerService, ABC):
    """Writes an Arrow table as the content of one FlowFile."""

    mime_type = "application/octet-stream"

    @abstractmethod
    def write(self, table: pa.Table, attributes: Mapping[str, str]) -> bytes:
        """The records of ``table`` in this writer's format. Raises ``RecordError`` when
        a record does not fit the writer's schema."""

    def attributes_for(self, table: pa.Table, attributes: Mapping[str, str]) -> dict[str, str]:
        """Attributes to set on the FlowFile written: ``mime.type``, ``record.count``
        and whatever the writer's Schema Write Strategy adds."""
        return {"mime.type": self.mime_type, "record.count": str(table.num_rows)}


# The two bases are interfaces, not services a flow can declare.
for _base in (RecordReaderFactory, RecordSetWriterFactory):
    SERVICE_TYPES.pop(_base.type_name(), None)
