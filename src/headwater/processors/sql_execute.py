"""ExecuteSQL and ExecuteSQLRecord: a SELECT's rows out as FlowFiles of records.

The query (Expression Language, evaluated against the incoming FlowFile; its content
when the property is empty) runs through a DBCPConnectionPool. Rows are fetched in
Arrow record batches of Max Rows Per Flow File, so a large result never sits in memory
whole. ExecuteSQL writes Avro, as NiFi's does; ExecuteSQLRecord writes through any
record writer. Without an incoming connection the processor is a source and runs the
query on its schedule. A query the database refuses goes to ``failure`` with
``executesql.error.message``; a database that is away leaves the incoming FlowFile
queued (or, as a source, yields) with a warning bulletin.
"""

from __future__ import annotations

import time
import uuid
from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.failure import route_to_failure
from headwater.processors.records import READ_ERRORS, writer_property
from headwater.services.dbcp import DBCPConnectionPool
from headwater.services.records.api import RecordSetWriterFactory
from headwater.units import parse_duration, parse_non_negative_int

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

ROW_COUNT = "executesql.row.count"
DURATION = "executesql.query.duration"
RESULT_INDEX = "executesql.resultset.index"
ERROR = "executesql.error.message"


class _ExecuteSQLBase(Processor):
    """What the two share: the query, its pool, and paging the result into FlowFiles."""

    input_requirement = InputRequirement.ALLOWED

    SUCCESS = Relationship("success", "FlowFiles of result rows.")
    FAILURE = Relationship("failure", "Incoming FlowFiles whose query failed (the reason).")

    pool = Property[DBCPConnectionPool](
        "Database Connection Pooling Service",
        "The connection pool of the database",
        required=True,
        service=DBCPConnectionPool,
    )
    pre_query = Property(
        "sql-pre-query",
        "Statements run before the query, separated by ;",
        expression=True,
        display_name="SQL Pre-Query",
    )
    query = Property(
        "SQL select query",
        "The query; when empty, the incoming FlowFile's content is the query",
        expression=True,
    )
    post_query = Property(
        "sql-post-query",
        "Statements run after the query, separated by ;",
        expression=True,
        display_name="SQL Post-Query",
    )
    timeout = Property(
        "Max Wait Time",
        "Longest a query may run (PostgreSQL); 0 for no limit",
        default="0 seconds",
        required=True,
        parse=parse_duration,
    )
    max_rows = Property(
        "esql-max-rows",
        "Rows per FlowFile; 0 puts the whole result in one",
        default="0",
        required=True,
        parse=parse_non_negative_int,
        display_name="Max Rows Per Flow File",
    )

    @abstractmethod
    def writer(self, context: ProcessContext) -> RecordSetWriterFactory: ...

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        incoming = session.get() if session.node.incoming else None
        if session.node.incoming and incoming is None:
            return
        pool = context[self.pool]
        try:
            query = self._text(context, session, self.query, incoming)
            if not query:
                raise ValueError("no query: SQL select query is empty and so is the content")
            self._run(context, session, pool, incoming, query)
        except Exception as exc:
            if pool.unavailable(exc):
                context.logger.warning("database unavailable (%s); the query waits", exc)
                if incoming is not None:
                    session.transfer(session.penalize(incoming))
                context.yield_()
                return
            if not _is_query_error(exc):
                raise
            if incoming is None:
                context.logger.error("query failed: %s", exc)
                context.yield_()
                return
            route_to_failure(
                context,
                session,
                incoming,
                self.FAILURE,
                _reason(exc),
                attribute=ERROR,
                penalize=True,
            )

    def _text(
        self,
        context: ProcessContext,
        session: ProcessSession,
        prop: Property[str],
        ff: FlowFile | None,
    ) -> str:
        if context.is_set(prop):
            return (context.evaluate(prop, ff) if ff is not None else context[prop]).strip()
        if prop is self.query and ff is not None:
            return session.read(ff).decode().strip()
        return ""

    def _run(
        self,
        context: ProcessContext,
        session: ProcessSession,
        pool: DBCPConnectionPool,
        incoming: FlowFile | None,
        query: str,
    ) -> None:
        from sqlalchemy import text

        started = time.monotonic()
        limit = context[self.max_rows]
        writer = self.writer(context)
        outputs: list[FlowFile] = []
        fragment = str(uuid.uuid4())
        with pool.connect() as conn, conn.begin():
            seconds = context[self.timeout]
            if seconds and conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
            for statement in _statements(self._text(context, session, self.pre_query, incoming)):
                conn.exec_driver_sql(statement)
            result = conn.execution_options(stream_results=True).execute(text(query))
            names = list(result.keys())
            while True:
                rows = result.fetchmany(limit) if limit else result.fetchall()
                if not rows and outputs:
                    break
                table = _arrow(names, rows)
                outputs.append(self._output(session, writer, incoming, table, len(outputs)))
                if not limit or len(rows) < limit:
                    break
            for statement in _statements(self._text(context, session, self.post_query, incoming)):
                conn.exec_driver_sql(statement)
        millis = int((time.monotonic() - started) * 1000)
        for index, out in enumerate(outputs):
            extra = {DURATION: str(millis)}
            if limit:
                extra |= {
                    "fragment.identifier": fragment,
                    "fragment.index": str(index),
                    "fragment.count": str(len(outputs)),
                }
            out = session.put_all_attributes(out, extra)
            if incoming is None:
                session.provenance.receive(out, pool.url_text, millis=millis)
            else:
                session.provenance.fetch(out, pool.url_text, millis=millis)
            session.transfer(out, self.SUCCESS)
        if incoming is not None:
            session.remove(incoming)

    def _output(
        self,
        session: ProcessSession,
        writer: RecordSetWriterFactory,
        incoming: FlowFile | None,
        table: pa.Table,
        index: int,
    ) -> FlowFile:
        attributes = dict(incoming.attributes) if incoming is not None else {}
        data = writer.write(table, attributes)
        out = session.create(incoming)
        out = session.write(out, data)
        return session.put_all_attributes(
            out,
            {
                **writer.attributes_for(table, attributes),
                ROW_COUNT: str(table.num_rows),
                RESULT_INDEX: "0",
                "fragment.index": str(index),
            },
        )


def _statements(text: str) -> list[str]:
    return [s.strip() for s in text.split(";") if s.strip()]


def _arrow(names: list[str], rows: Any) -> pa.Table:
    """The rows as an Arrow table, typed from the values (decimals stay decimals)."""
    import pyarrow as pa

    if not rows:
        return pa.Table.from_arrays([pa.array([], pa.null()) for _ in names], names=names)
    arrays = []
    for values in zip(*rows, strict=True):
        try:
            arrays.append(pa.array(list(values)))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values]))
    return pa.Table.from_arrays(arrays, names=names)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _is_query_error(exc: BaseException) -> bool:
    from sqlalchemy import exc as sa

    return isinstance(exc, (sa.SQLAlchemyError, *READ_ERRORS))


class ExecuteSQL(_ExecuteSQLBase):
    """Runs a SQL SELECT and writes the rows as an Avro container file (schema from
    the result), one FlowFile per Max Rows Per Flow File rows."""

    tags = ("sql", "select", "jdbc", "query", "database", "avro")

    def __init__(self) -> None:
        from headwater.context import ServiceContext
        from headwater.services.records.avro import AvroRecordSetWriter

        self._avro = AvroRecordSetWriter()
        self._avro.on_enabled(ServiceContext("avro", AvroRecordSetWriter, {}))

    def writer(self, context: ProcessContext) -> RecordSetWriterFactory:
        return self._avro


class ExecuteSQLRecord(_ExecuteSQLBase):
    """Runs a SQL SELECT and writes the rows through a record writer (JSON, CSV,
    Parquet, Avro), one FlowFile per Max Rows Per Flow File rows."""

    tags = ("sql", "select", "jdbc", "query", "database", "record")

    record_writer = writer_property("esqlrecord-record-writer")

    def writer(self, context: ProcessContext) -> RecordSetWriterFactory:
        return context[self.record_writer]
