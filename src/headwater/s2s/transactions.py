"""The hub's side of a site-to-site transaction: open, data received, confirmed.

A client opens a transaction on an input port (``Transactions.create``), sends its
FlowFile stream once (the hub parses it, keeps the packets in memory and answers the
CRC32 of what arrived), then confirms with the checksum it computed itself, or
cancels. A transaction neither confirmed nor cancelled within its time to live (TTL,
renewed by every request on it) is dropped with its packets; asking for it afterwards
answers 410 Gone, so the client knows to send everything again. Nothing here is
durable: only a confirmed transaction's FlowFiles are, committed by the input port.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from enum import StrEnum

from headwater.errors import ApiError
from headwater.flowfile import new_uuid
from headwater.s2s.protocol import DataPacket

_REMEMBER_GONE = 10_000
"""How many expired or finished transaction ids are remembered, to answer 410 for them."""


class TransactionState(StrEnum):
    OPEN = "OPEN"  # created, waiting for its FlowFiles
    RECEIVED = "RECEIVED"  # FlowFiles parsed, checksum answered, waiting for the confirm
    CONFIRMED = "CONFIRMED"  # handed to the input port to commit


class Transaction:
    """One transaction of one input port."""

    __slots__ = (
        "checksum",
        "created",
        "deadline",
        "id",
        "packets",
        "remote",
        "result",
        "state",
        "transit_uri",
        "ttl",
    )

    def __init__(self, transaction_id: str, ttl: float, now: float) -> None:
        self.id = transaction_id
        self.ttl = ttl
        self.created = now
        self.deadline = now + ttl
        self.state = TransactionState.OPEN
        self.packets: list[DataPacket] = []
        self.checksum: int | None = None
        self.transit_uri = ""
        self.remote = ""
        self.result: Future[tuple[int, int]] = Future()
        """(FlowFiles stored, FlowFiles recognised as already stored), set by the port."""

    def millis(self) -> int:
        """Time since the transaction was opened, for the RECEIVE event's duration."""
        return int((time.monotonic() - self.created) * 1000)


class Transactions:
    """The open transactions of one input port, each with its TTL."""

    def __init__(self, port: str, ttl: float, max_open: int = 1000) -> None:
        self.port = port
        self.ttl = ttl
        self.max_open = max_open
        self._open: dict[str, Transaction] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()  # id -> why it is gone
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def create(self) -> Transaction:
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            if len(self._open) >= self.max_open:
                raise ApiError(
                    503,
                    f"input port {self.port!r} has {len(self._open)} open transactions, its"
                    " limit; confirm or cancel some, or retry later",
                )
            transaction = Transaction(new_uuid(), self.ttl, now)
            self._open[transaction.id] = transaction
        return transaction

    def get(self, transaction_id: str) -> Transaction:
        """The open transaction, its TTL renewed; 410 if it expired or ended, else 404."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            transaction = self._open.get(transaction_id)
            if transaction is None:
                gone = self._gone.get(transaction_id)
                if gone is not None:
                    raise ApiError(410, f"transaction {transaction_id} {gone}; start a new one")
                raise ApiError(
                    404,
                    f"input port {self.port!r} has no transaction {transaction_id}; start one"
                    f" with POST /data-transfer/input-ports/{self.port}/transactions",
                )
            transaction.deadline = now + transaction.ttl
            return transaction

    def end(self, transaction: Transaction, why: str) -> None:
        """Forget a transaction (confirmed, cancelled or refused), remembering why."""
        with self._lock:
            if self._open.pop(transaction.id, None) is not None:
                self._remember(transaction.id, why)
        if transaction.state is not TransactionState.CONFIRMED:
            transaction.packets = []

    def expire(self) -> int:
        """Drop every transaction past its TTL; returns how many went."""
        with self._lock:
            return self._expire(time.monotonic())

    def clear(self, why: str) -> None:
        with self._lock:
            for transaction_id in list(self._open):
                self._remember(transaction_id, why)
            self._open.clear()

    def _expire(self, now: float) -> int:
        expired = [t for t in self._open.values() if t.deadline <= now]
        for transaction in expired:
            del self._open[transaction.id]
            transaction.packets = []
            self._remember(
                transaction.id,
                f"expired: it was not confirmed within its TTL of {transaction.ttl:g} s",
            )
        return len(expired)

    def _remember(self, transaction_id: str, why: str) -> None:
        self._gone[transaction_id] = why
        while len(self._gone) > _REMEMBER_GONE:
            self._gone.popitem(last=False)
