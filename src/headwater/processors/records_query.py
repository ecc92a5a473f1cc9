"""QueryRecord: SQL over the records of a FlowFile, one relationship per query.

DuckDB runs each query over the FlowFile's Arrow table, registered as ``FLOWFILE``
without a copy; the result comes back as Arrow and goes straight to the writer. A
DuckDB connection is not safe to share between threads, so each task thread opens its
own, once, and keeps it while the processor is scheduled.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem
from headwater.processor import (
    DynamicProperty,
    InputRequirement,
    Processor,
    Property,
    Relationship,
)
from headwater.processors.records import (
    INCLUDE_ZERO,
    READ_ERRORS,
    fail,
    reader_property,
    write_records,
    writer_property,
)
from headwater.units import parse_bool


class QueryRecord(Processor):
    """Runs SQL over the records of each FlowFile: every dynamic property is a query
    (Expression Language allowed) and a relationship of its name; each query's result
    becomes a child FlowFile sent there, and the original goes to ``original``.

    Queries read the table ``FLOWFILE``, e.g.
    ``SELECT * FROM FLOWFILE WHERE class1 = 'cat' OR class1 = 'person'``; the SQL
    dialect is DuckDB's.
    """

    tags = ("sql", "query", "calcite", "duckdb", "route", "record", "transform", "filter")
    input_requirement = InputRequirement.REQUIRED
    dynamic_property = DynamicProperty("A SQL query over FLOWFILE; its result goes to its name")

    ORIGINAL = Relationship("original", "The original FlowFile, once every query has run.")
    FAILURE = Relationship(
        "failure", "FlowFiles that could not be read or queried; see record.error.message."
    )

    reader = reader_property()
    writer = writer_property()
    include_zero = INCLUDE_ZERO
    cache_schema = Property(
        "cache-schema",
        "Kept for compatibility with NiFi flows; DuckDB needs no schema cache",
        default="true",
        parse=parse_bool,
        display_name="Cache Schema",
    )

    @classmethod
    def relationships_for(cls, values: Mapping[str, str]) -> tuple[Relationship, ...]:
        queries = [k for k in values if cls.property_named(k) is None]
        return (
            *(Relationship(k, f"Results of the query {k!r}") for k in queries),
            cls.ORIGINAL,
            cls.FAILURE,
        )

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        if not any(cls.property_named(k) is None for k in values):
            return [
                Problem(
                    "properties",
                    "needs at least one query (a dynamic property)",
                    "add e.g. cats: SELECT * FROM FLOWFILE WHERE class1 = 'cat'",
                )
            ]
        return []

    def on_scheduled(self, context: ProcessContext) -> None:
        self._local = threading.local()
        self._connections: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        con: duckdb.DuckDBPyConnection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = duckdb.connect()
            with self._lock:
                self._connections.append(con)
        return con

    def on_stopped(self, context: ProcessContext) -> None:
        with self._lock:
            for con in self._connections:
                con.close()
            self._connections.clear()
        self._local = threading.local()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        reader, writer = context[self.reader], context[self.writer]
        include_zero = context[self.include_zero]
        queries = list(context.dynamic.items())
        con = self._connection()
        for ff in session.get_batch():
            lookup = context.lookup(ff)
            try:
                table = reader.read(session.read(ff), ff.attributes)
                con.register("FLOWFILE", table)
                try:
                    results: list[tuple[str, pa.Table]] = [
                        (name, con.sql(query.evaluate(lookup)).to_arrow_table())
                        for name, query in queries
                    ]
                finally:
                    con.unregister("FLOWFILE")
                written = [
                    (name, result, writer.write(result, ff.attributes))
                    for name, result in results
                    if include_zero or result.num_rows
                ]
            except (*READ_ERRORS, duckdb.Error) as exc:
                fail(context, session, ff, self.FAILURE, exc)
                continue
            for name, result, data in written:
                child = session.create(ff)
                extra = {"QueryRecord.Route": name}
                session.transfer(write_records(session, child, writer, result, data, extra), name)
            session.transfer(ff, self.ORIGINAL)
