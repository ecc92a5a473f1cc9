"""HBaseThriftClientService: a connection to HBase's Thrift server through happybase.

NiFi's HBase client services speak HBase's Java client to ZooKeeper; from Python the
way in is the Thrift gateway (``hbase thrift start``, port 9090), which happybase
speaks. This service holds one happybase connection and reopens it after an error.
happybase is imported when the service is enabled. It has been tested against a Thrift
stand-in that implements the calls used, never against a live HBase.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.context import ServiceContext
from headwater.errors import ProcessException
from headwater.processor import ControllerService, Property
from headwater.units import parse_duration, parse_positive_int

if TYPE_CHECKING:
    import happybase  # type: ignore[import-untyped]


class HBaseUnavailable(ProcessException):
    """The Thrift server cannot be reached or dropped the connection: retry later."""


class HBaseRefused(ProcessException):
    """HBase answered with an error (no such table, no such column family)."""


class HBaseThriftClientService(ControllerService):
    """Connects to an HBase Thrift server (happybase) for PutHBaseJSON and
    PutHBaseRecord."""

    tags = ("hbase", "client", "thrift")

    host = Property("Thrift Host", "The HBase Thrift server", required=True)
    port = Property(
        "Thrift Port", "Its port", default="9090", required=True, parse=parse_positive_int
    )
    transport = Property(
        "Thrift Transport",
        "As the server was started (hbase thrift -f for framed)",
        default="buffered",
        required=True,
        allowed=("buffered", "framed"),
    )
    protocol = Property(
        "Thrift Protocol",
        "As the server was started (-c for compact)",
        default="binary",
        required=True,
        allowed=("binary", "compact"),
    )
    timeout = Property(
        "Timeout",
        "Longest wait for the server",
        default="10 sec",
        required=True,
        parse=parse_duration,
    )

    def __init__(self) -> None:
        self._connection: happybase.Connection | None = None
        self._lock = threading.Lock()
        self._options: dict[str, Any] = {}

    def on_enabled(self, context: ServiceContext) -> None:
        self._options = {
            "host": context[self.host],
            "port": context[self.port],
            "transport": context[self.transport],
            "protocol": context[self.protocol],
            "timeout": int(context[self.timeout] * 1000),
            "autoconnect": False,
        }
        self.address = f"hbase+thrift://{self._options['host']}:{self._options['port']}"

    def on_disabled(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._connection.close()
            self._connection = None

    def put(self, table: str, rows: Sequence[tuple[bytes, Mapping[bytes, bytes]]]) -> None:
        """Write cells (``family:qualifier`` → value) of each row in one mutateRows."""
        import happybase
        from thriftpy2.transport import TTransportException

        with self._lock:
            try:
                if self._connection is None:
                    connection = happybase.Connection(**self._options)
                    connection.open()
                    self._connection = connection
                with self._connection.table(table).batch() as batch:
                    for row, cells in rows:
                        batch.put(row, cells)
            except (TTransportException, OSError, EOFError) as exc:
                self._drop()
                raise HBaseUnavailable(f"HBase Thrift server {self.address}: {exc}") from exc
            except Exception as exc:
                if _thrift_error(exc):  # IOError, IllegalArgument: HBase's own answer
                    reason = _message(exc)
                    raise HBaseRefused(f"HBase refused the writes to {table!r}: {reason}") from exc
                raise


def _thrift_error(exc: BaseException) -> bool:
    """An exception HBase's Thrift server declared (IOError, IllegalArgument)."""
    from thriftpy2.thrift import TException

    return isinstance(exc, TException)


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)
