"""DBCPConnectionPool: a pool of database connections shared by the SQL processors.

NiFi's service wraps a JDBC driver; here it wraps a SQLAlchemy engine and its
``QueuePool``. The URL may be NiFi's JDBC form (``jdbc:postgresql://host:5432/db``,
``jdbc:sqlite:/path/readings.db``) or SQLAlchemy's (``postgresql://...``,
``sqlite:///...``); PostgreSQL goes through psycopg 3. SQLAlchemy is imported when the
service is enabled, so a flow without a database never loads it.

Connections are checked before use (``pool_pre_ping``), so a database that restarted
costs one failed ping per stale connection, not a failed FlowFile.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from headwater.context import ServiceContext
from headwater.errors import ProcessException
from headwater.processor import ControllerService, Property
from headwater.units import parse_duration, parse_positive_int

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


class DatabaseUnavailable(ProcessException):
    """The database cannot be reached, or dropped the connection: the work is retried
    later, nothing about the FlowFile is wrong."""


def sqlalchemy_url(text: str) -> str:
    """The SQLAlchemy URL for a JDBC or SQLAlchemy URL; ValueError for anything else."""
    url = text.strip()
    if url.startswith("jdbc:sqlite:"):
        path = url.removeprefix("jdbc:sqlite:")
        return "sqlite://" if path in ("", ":memory:") else f"sqlite:///{path}"
    url = url.removeprefix("jdbc:")
    match = re.match(r"([a-z][a-z0-9+]*)://", url) or re.match(r"(sqlite):", url)
    if match is None:
        raise ValueError(
            "expected a database URL such as jdbc:postgresql://host:5432/db,"
            f" postgresql://host/db or sqlite:///path.db, got {text!r}"
        )
    scheme = match.group(1)
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class DBCPConnectionPool(ControllerService):
    """A pool of connections to one database (PostgreSQL or SQLite) through SQLAlchemy,
    for PutDatabaseRecord, ExecuteSQL and ExecuteSQLRecord."""

    tags = ("dbcp", "jdbc", "database", "connection", "pooling", "store", "sql")

    url = Property(
        "Database Connection URL",
        "jdbc:postgresql://host:5432/db, jdbc:sqlite:/path.db, or a SQLAlchemy URL",
        required=True,
        expression=True,
        parse=sqlalchemy_url,
    )
    user = Property("Database User", "The user to connect as", expression=True)
    password = Property("Password", "The user's password", sensitive=True)
    max_total = Property(
        "Max Total Connections",
        "Most connections open at once (idle and in use)",
        default="8",
        required=True,
        parse=parse_positive_int,
    )
    max_wait = Property(
        "Max Wait Time",
        "Longest wait for a free connection, and to connect, before giving up",
        default="500 millis",
        required=True,
        parse=parse_duration,
    )
    validation_query = Property(
        "Validation query",
        "Checked before a pooled connection is used (any value: SQLAlchemy's ping is used)",
    )

    _engine: Engine | None = None
    url_text = ""
    """The URL without its password, for provenance and messages."""

    def on_enabled(self, context: ServiceContext) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        url = make_url(context[self.url])
        user = context.get(self.user)
        if user:
            url = url.set(username=user, password=context.get(self.password) or None)
        wait = context[self.max_wait]
        options: dict[str, Any] = {"pool_pre_ping": True}
        if url.get_backend_name() == "sqlite":
            # one file, one writer: SQLite's own lock decides, after a wait
            options["connect_args"] = {"timeout": max(wait, 5.0)}
        else:
            total = context[self.max_total]
            options |= {
                "pool_size": total,
                "max_overflow": 0,
                "pool_timeout": wait,
                "connect_args": {"connect_timeout": max(1, round(wait))},
            }
        self._engine = create_engine(url, **options)
        self.url_text = url.render_as_string(hide_password=True)

    def on_disabled(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise ProcessException("DBCPConnectionPool is not enabled")
        return self._engine

    def connect(self) -> Connection:
        """A pooled connection; ``DatabaseUnavailable`` when none can be had."""
        from sqlalchemy import exc

        try:
            return self.engine.connect()
        except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as error:
            raise DatabaseUnavailable(f"cannot connect to {self.url_text}: {error}") from error

    @staticmethod
    def unavailable(error: BaseException) -> bool:
        """Whether a database error means the database is away (retry later), rather
        than that the statement or its data is wrong (route to failure)."""
        from sqlalchemy import exc

        if isinstance(error, DatabaseUnavailable | exc.TimeoutError | exc.InterfaceError):
            return True
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, exc.OperationalError):
            state = getattr(error.orig, "sqlstate", None)
            if state:  # PostgreSQL: connection (08), resources (53), shutdown (57P), system (58)
                return str(state).startswith(("08", "53", "57P", "58"))
            orig = str(error.orig).lower()
            # SQLite reports a missing table as operational; that is the statement's fault
            return not ("no such table" in orig or "no such column" in orig or "syntax" in orig)
        return False
