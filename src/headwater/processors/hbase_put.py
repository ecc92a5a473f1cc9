"""PutHBaseJSON and PutHBaseRecord: JSON documents and records as HBase rows, through
the HBaseThriftClientService (happybase).

Every field becomes a cell ``<Column Family>:<field>`` holding the value as UTF-8 text
(NiFi's String field encoding); the row id is a field (Row Identifier Field Name) or,
for PutHBaseJSON, an expression (Row Identifier). Nested values follow Complex Field
Strategy: Text writes them as JSON, Ignore drops them, Fail sends the FlowFile to
failure. A FlowFile's rows go in one ``mutateRows`` call. A Thrift server that is away
keeps the FlowFiles queued with a bulletin; HBase's own refusal (no such table or
family) and a FlowFile without row ids go to ``failure`` with the reason.

Tested against a Thrift stand-in that implements the calls used, not against a live
HBase (none can run here).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem, ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.processors.records import READ_ERRORS, reader_property
from headwater.services.hbase import HBaseRefused, HBaseThriftClientService, HBaseUnavailable
from headwater.units import parse_positive_int

TEXT, IGNORE, WARN, FAIL = "Text", "Ignore", "Warn", "Fail"
Row = tuple[bytes, dict[bytes, bytes]]


class _Misfit(ProcessException):
    pass


def _cell(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return str(value).encode()


class _PutHBase(Processor):
    """Table, family, row id and complex-field handling, and the write."""

    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose rows HBase took.")
    FAILURE = Relationship("failure", "FlowFiles that cannot be rows (error.message).")

    client = Property[HBaseThriftClientService](
        "HBase Client Service",
        "The HBase connection",
        required=True,
        service=HBaseThriftClientService,
    )
    table = Property("Table Name", "The table", required=True, expression=True)
    family = Property("Column Family", "The family of every cell", required=True, expression=True)
    row_field = Property(
        "Row Identifier Field Name", "The field holding the row id", expression=True
    )
    complex_fields = Property(
        "Complex Field Strategy",
        "Nested values: written as JSON text, ignored, ignored with a warning, or failure",
        default=TEXT,
        required=True,
        allowed=(FAIL, WARN, IGNORE, TEXT),
    )
    batch_size = Property(
        "Batch Size", "FlowFiles per trigger", default="25", parse=parse_positive_int
    )

    @abstractmethod
    def rows(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> list[Row]: ...

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(context[self.batch_size])
        client = context[self.client]
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                rows = self.rows(context, session, ff)
                table = context.evaluate(self.table, ff)
                client.put(table, rows)
            except HBaseUnavailable as exc:
                context.logger.warning(
                    "%s; %d FlowFile(s) stay queued and are tried again", exc, len(batch) - index
                )
                session.transfer_all([session.penalize(f) for f in batch[index:]])
                context.yield_()
                return
            except (_Misfit, HBaseRefused, ValueError) as exc:
                route_to_failure(context, session, ff, self.FAILURE, exc)
                continue
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.send(
                ff, f"{client.address}/{table}", details=f"{len(rows)} rows", millis=millis
            )
            session.transfer(ff, self.SUCCESS)

    def cells(
        self, context: ProcessContext, family: str, fields: Iterable[tuple[str, Any]], skip: str
    ) -> dict[bytes, bytes]:
        strategy = context[self.complex_fields]
        out: dict[bytes, bytes] = {}
        for name, value in fields:
            if name == skip or value is None:
                continue
            if isinstance(value, dict | list):
                if strategy == FAIL:
                    raise _Misfit(f"field {name!r} is nested and Complex Field Strategy is Fail")
                if strategy == WARN:
                    context.logger.warning("field %r is nested: not written", name)
                if strategy != TEXT:
                    continue
                value = orjson.dumps(value)
            out[f"{family}:{name}".encode()] = _cell(value)
        return out


class PutHBaseJSON(_PutHBase):
    """Writes each FlowFile's JSON object as one HBase row: a cell per top-level field.
    Untested against a live HBase (see the module docs)."""

    tags = ("hadoop", "hbase", "put", "json")

    row_id = Property("Row Identifier", "The row id (instead of a field)", expression=True)

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        given = [k for k in ("Row Identifier", "Row Identifier Field Name") if values.get(k)]
        if len(given) != 1:
            return [
                Problem(
                    "properties.Row Identifier",
                    "set exactly one of Row Identifier and Row Identifier Field Name",
                )
            ]
        return []

    def rows(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> list[Row]:
        try:
            document = orjson.loads(session.read(ff))
        except orjson.JSONDecodeError as exc:
            raise _Misfit(f"not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise _Misfit("the content must be one JSON object")
        field = context.evaluate(self.row_field, ff) if context.is_set(self.row_field) else ""
        row = context.evaluate(self.row_id, ff) if context.is_set(self.row_id) else None
        if field:
            row = document.get(field)
        if row is None or row == "":
            raise _Misfit(
                f"no row id: field {field!r} is missing or empty" if field else "no row id"
            )
        family = context.evaluate(self.family, ff)
        return [(_cell(row), self.cells(context, family, document.items(), field))]


class PutHBaseRecord(_PutHBase):
    """Writes each record of a FlowFile as one HBase row, keyed by the row id field,
    all in one mutateRows call. Untested against a live HBase (see the module docs)."""

    tags = ("hadoop", "hbase", "put", "record")

    reader = reader_property()

    def rows(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> list[Row]:
        try:
            records = context[self.reader].read(session.read(ff), ff.attributes).to_pylist()
        except READ_ERRORS as exc:
            raise _Misfit(str(exc)) from exc
        field = context.evaluate(self.row_field, ff) if context.is_set(self.row_field) else ""
        if not field:
            raise _Misfit("PutHBaseRecord needs Row Identifier Field Name")
        family = context.evaluate(self.family, ff)
        rows = []
        for index, record in enumerate(records):
            row = record.get(field)
            if row is None or row == "":
                raise _Misfit(f"record {index}: no row id in field {field!r}")
            rows.append((_cell(row), self.cells(context, family, record.items(), field)))
        return rows
