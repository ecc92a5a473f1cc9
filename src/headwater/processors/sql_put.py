"""PutDatabaseRecord: the records of each FlowFile into a database table, as INSERT,
UPDATE, UPSERT, INSERT_IGNORE or DELETE statements, in batches through executemany.

Each FlowFile is one transaction: all its records land, or none. Fields are matched to
the table's columns by name, or, with Translate Field Names, ignoring case and
underscores (``sensor_id`` finds ``SENSORID``); the table is read from the database
once and kept. A FlowFile that does not fit (a field with no column, a value the
column refuses, a duplicate key) goes to ``failure`` with the first offending record
named in ``putdatabaserecord.error``. A database that is away leaves the FlowFiles in
their queue, penalized, with a warning bulletin, and they go when it returns.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship, flag
from headwater.processors.failure import route_to_failure
from headwater.processors.records import READ_ERRORS, reader_property
from headwater.services.dbcp import DBCPConnectionPool
from headwater.units import parse_positive_int

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection

ERROR = "putdatabaserecord.error"
STATEMENT_TYPES = ("INSERT", "UPDATE", "UPSERT", "INSERT_IGNORE", "DELETE")
USE_ATTRIBUTE = "Use statement.type Attribute"
IGNORE_FIELDS, FAIL_FIELDS = "Ignore Unmatched Fields", "Fail on Unmatched Fields"
IGNORE_COLUMNS, WARN_COLUMNS, FAIL_COLUMNS = (
    "Ignore Unmatched Columns",
    "Warn on Unmatched Columns",
    "Fail on Unmatched Columns",
)


class _Misfit(ProcessException):
    """The FlowFile's records do not fit the table or the statement."""


def _translate(name: str) -> str:
    """NiFi's normalisation for Translate Field Names: case and underscores ignored."""
    return name.replace("_", "").upper()


class PutDatabaseRecord(Processor):
    """Writes the records of each FlowFile to a database table (INSERT, UPDATE, UPSERT,
    INSERT_IGNORE or DELETE) through a DBCPConnectionPool, one transaction per FlowFile.

    UPDATE, UPSERT and DELETE find rows by the Update Keys, or the table's primary key;
    DELETE without either matches on every field of the record.
    """

    tags = ("sql", "record", "jdbc", "put", "database", "update", "insert", "delete", "upsert")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose records were all written.")
    FAILURE = Relationship(
        "failure", "FlowFiles whose records do not fit the table (putdatabaserecord.error)."
    )
    RETRY = Relationship(
        "retry", "FlowFiles the database refused for a passing reason (deadlock); penalized."
    )

    reader = reader_property("put-db-record-record-reader")
    statement_type = Property(
        "put-db-record-statement-type",
        "INSERT, UPDATE, UPSERT, INSERT_IGNORE or DELETE; or the statement.type attribute",
        required=True,
        allowed=(*STATEMENT_TYPES, USE_ATTRIBUTE),
        display_name="Statement Type",
    )
    pool = Property[DBCPConnectionPool](
        "put-db-record-dcbp-service",
        "The connection pool of the database",
        required=True,
        service=DBCPConnectionPool,
        display_name="Database Connection Pooling Service",
    )
    schema_name = Property(
        "put-db-record-schema-name",
        "The table's schema",
        expression=True,
        display_name="Schema Name",
    )
    table_name = Property(
        "put-db-record-table-name",
        "The table to write to",
        required=True,
        expression=True,
        display_name="Table Name",
    )
    translate = flag(
        "put-db-record-translate-field-names",
        "Match fields to columns ignoring case and underscores",
        default="true",
        display_name="Translate Field Names",
    )
    unmatched_field = Property(
        "put-db-record-unmatched-field-behavior",
        "What to do with a record field no column matches",
        default=IGNORE_FIELDS,
        allowed=(IGNORE_FIELDS, FAIL_FIELDS),
        display_name="Unmatched Field Behavior",
    )
    unmatched_column = Property(
        "put-db-record-unmatched-column-behavior",
        "What to do with a table column no field matches",
        default=FAIL_COLUMNS,
        allowed=(IGNORE_COLUMNS, WARN_COLUMNS, FAIL_COLUMNS),
        display_name="Unmatched Column Behavior",
    )
    update_keys = Property(
        "put-db-record-update-keys",
        "Comma-separated columns that find the row for UPDATE, UPSERT and DELETE"
        " (default: the primary key)",
        expression=True,
        display_name="Update Keys",
    )
    batch_size = Property(
        "put-db-record-max-batch-size",
        "Records per executemany call",
        default="1000",
        parse=parse_positive_int,
        display_name="Maximum Batch Size",
    )

    def __init__(self) -> None:
        self._tables: dict[tuple[str | None, str], Table] = {}

    def on_scheduled(self, context: ProcessContext) -> None:
        self._tables.clear()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(10)
        pool = context[self.pool]
        for index, ff in enumerate(batch):
            started = time.monotonic()
            try:
                table, count = self._put(context, session, pool, ff)
            except Exception as exc:
                if pool.unavailable(exc):
                    context.logger.warning(
                        "database unavailable (%s); %d FlowFile(s) stay queued and are tried again",
                        exc,
                        len(batch) - index,
                    )
                    session.transfer_all([session.penalize(f) for f in batch[index:]])
                    context.yield_()
                    return
                if isinstance(exc, (_Misfit, *READ_ERRORS)) or _is_data_error(exc):
                    route_to_failure(context, session, ff, self.FAILURE, exc, attribute=ERROR)
                    continue
                if _is_transient(exc):
                    route_to_failure(
                        context, session, ff, self.RETRY, exc, attribute=ERROR, penalize=True
                    )
                    continue
                raise
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.send(
                ff, f"{pool.url_text}/{table}", details=f"{count} records", millis=millis
            )
            session.transfer(ff, self.SUCCESS)

    def _put(
        self,
        context: ProcessContext,
        session: ProcessSession,
        pool: DBCPConnectionPool,
        ff: FlowFile,
    ) -> tuple[str, int]:
        records = context[self.reader].read(session.read(ff), ff.attributes)
        if records.num_rows == 0:
            return context.evaluate(self.table_name, ff), 0  # nothing to write: success
        kind = context[self.statement_type]
        if kind == USE_ATTRIBUTE:
            kind = ff.attributes.get("statement.type", "").upper()
            if kind not in STATEMENT_TYPES:
                raise _Misfit(
                    f"statement.type must be one of {', '.join(STATEMENT_TYPES)}, got {kind!r}"
                )
        name = context.evaluate(self.table_name, ff)
        schema = (
            context.evaluate(self.schema_name, ff) if context.is_set(self.schema_name) else None
        )
        with pool.connect() as conn:
            table = self._table(conn, schema or None, name)
            if conn.in_transaction():
                conn.rollback()  # reflection's own; the FlowFile gets a transaction of its own
            mapping = self._mapping(context, table, records.column_names)
            keys = self._keys(context, ff, table, kind, list(mapping.values()))
            statement = _compiled(conn, _statement(conn, table, kind, list(mapping.values()), keys))
            columns = {_bind(mapping[f]): records.column(f).to_pylist() for f in mapping}
            count, size = records.num_rows, context[self.batch_size]
            try:
                with conn.begin():
                    for start in range(0, count, size):
                        statement(conn, columns, start, min(count, start + size))
            except Exception as exc:
                if pool.unavailable(exc) or not _is_data_error(exc):
                    raise
                self._tables.pop((schema or None, name), None)  # read it again: altered?
                raise _Misfit(_first_misfit(conn, statement, columns, count, exc)) from exc
        return table.fullname, count

    def _table(self, conn: Connection, schema: str | None, name: str) -> Table:
        from sqlalchemy import MetaData, Table, exc

        key = (schema, name)
        if key not in self._tables:
            try:
                self._tables[key] = Table(name, MetaData(), schema=schema, autoload_with=conn)
            except exc.NoSuchTableError:
                where = f"{schema}.{name}" if schema else name
                raise _Misfit(f"no table {where!r} in the database") from None
        return self._tables[key]

    def _mapping(self, context: ProcessContext, table: Table, fields: list[str]) -> dict[str, str]:
        """Record field → column, checked against the unmatched behaviours."""
        translate = context[self.translate]
        columns = {(_translate(c.name) if translate else c.name): c.name for c in table.columns}
        mapping = {}
        for field in fields:
            column = columns.get(_translate(field) if translate else field)
            if column is not None:
                mapping[field] = column
        unmatched = [f for f in fields if f not in mapping]
        if unmatched and context[self.unmatched_field] == FAIL_FIELDS:
            raise _Misfit(f"no column of {table.name} for field(s) {', '.join(unmatched)}")
        missing = sorted(set(columns.values()) - set(mapping.values()))
        behaviour = context[self.unmatched_column]
        if missing and behaviour == FAIL_COLUMNS:
            raise _Misfit(f"no field for column(s) {', '.join(missing)} of {table.name}")
        if missing and behaviour == WARN_COLUMNS:
            context.logger.warning(
                "no field for column(s) %s of %s", ", ".join(missing), table.name
            )
        if not mapping:
            raise _Misfit(f"no field of the records matches a column of {table.name}")
        return mapping

    def _keys(
        self, context: ProcessContext, ff: FlowFile, table: Table, kind: str, columns: list[str]
    ) -> list[str]:
        if kind in ("INSERT", "INSERT_IGNORE"):
            return [c.name for c in table.primary_key.columns]
        text = context.evaluate(self.update_keys, ff) if context.is_set(self.update_keys) else ""
        keys = [k.strip() for k in text.split(",") if k.strip()]
        if keys:
            by_name = {_translate(c.name): c.name for c in table.columns}
            keys = [by_name.get(_translate(k), k) for k in keys]
        else:
            keys = [c.name for c in table.primary_key.columns]
        if not keys and kind == "DELETE":
            keys = columns
        if not keys:
            raise _Misfit(f"{kind} needs Update Keys: {table.name} has no primary key")
        absent = [k for k in keys if k not in columns]
        if absent:
            raise _Misfit(f"{kind} key column(s) {', '.join(absent)} have no field in the records")
        return keys


def _bind(column: str) -> str:
    # a bind parameter may not share a column's name in UPDATE ... SET
    return f"p_{column}"


def _statement(
    conn: Connection, table: Table, kind: str, columns: list[str], keys: list[str]
) -> Any:
    """The SQLAlchemy statement for ``kind``, taking ``p_<column>`` bind parameters."""
    from sqlalchemy import and_, bindparam

    values: dict[str, Any] = {c: bindparam(_bind(c)) for c in columns}
    match = and_(*(table.c[k] == bindparam(_bind(k)) for k in keys or columns))
    if kind == "INSERT":
        return table.insert().values(values)
    if kind == "UPDATE":
        return (
            table.update().where(match).values({c: v for c, v in values.items() if c not in keys})
        )
    if kind == "DELETE":
        return table.delete().where(match)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:
        raise _Misfit(f"{kind} is supported on PostgreSQL and SQLite, not {dialect}")
    statement = insert(table).values(values)
    if kind == "INSERT_IGNORE":
        return statement.on_conflict_do_nothing()
    if not keys:
        raise _Misfit(f"UPSERT needs Update Keys: {table.name} has no primary key")
    update = {c: statement.excluded[c] for c in columns if c not in keys}
    if not update:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(index_elements=keys, set_=update)


_Run = Callable[["Connection", dict[str, list[Any]], int, int], None]


def _compiled(conn: Connection, statement: Any) -> _Run:
    """``statement`` compiled once for this database and run as the driver's
    executemany over rows ``start:stop`` of the columns, as tuples: psycopg 3 pipelines
    it, and SQLAlchemy's per-row bind processing and per-row dicts, which would halve
    the rate, are skipped (the values are Arrow's Python values, which the drivers take)."""
    compiled = statement.compile(dialect=conn.dialect)
    sql: str = compiled.string
    if compiled.positional:
        order = list(compiled.positiontup)
    else:  # psycopg's %(name)s: made positional, so rows can be tuples
        order = re.findall(r"(?<!%)%\((\w+)\)s", sql)
        sql = re.sub(r"(?<!%)%\((\w+)\)s", "%s", sql)

    def run(conn: Connection, columns: dict[str, list[Any]], start: int, stop: int) -> None:
        values = [columns[name][start:stop] for name in order]
        conn.exec_driver_sql(sql, list(zip(*values, strict=True)))

    return run


def _first_misfit(
    conn: Connection, statement: _Run, columns: dict[str, list[Any]], count: int, exc: Exception
) -> str:
    """The reason, naming the first record the database refuses: each is tried alone
    in a transaction that is then rolled back, so nothing of the FlowFile is kept."""
    for index in range(count):
        try:
            with conn.begin() as tx:
                statement(conn, columns, index, index + 1)
                tx.rollback()
        except Exception as one:
            return f"record {index}: {_reason(one)}"
    return _reason(exc)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _is_data_error(exc: BaseException) -> bool:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.IntegrityError | sa.DataError | sa.ProgrammingError | sa.StatementError):
        return not isinstance(exc, sa.OperationalError) or "no such" in str(exc.orig)
    return False


def _is_transient(exc: BaseException) -> bool:
    from sqlalchemy import exc as sa

    return isinstance(exc, sa.OperationalError)
