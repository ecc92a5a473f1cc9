"""InputPort: where FlowFiles sent over site-to-site enter the hub's flow.

The hub API (``headwater.api.site_to_site``) runs the transactions; a confirmed
transaction is handed to its port (``confirm``), which the engine then triggers: the
trigger takes every confirmed transaction waiting, makes one FlowFile per packet in
one session (keeping the sender's uuid, with a RECEIVE event naming the transaction
URL and ``urn:nifi:<uuid>`` as the source system's FlowFile id), commits once, and
only then lets the API answer the confirm.

Exactly once in effect: each FlowFile's receipt key (its uuid and the port name) is
written in the same SQLite transaction as the FlowFiles themselves
(``ProcessSession.add_receipts``), and a packet whose key is already there, or
earlier in the same trigger, is counted as a duplicate and not stored again. So a
transaction sent twice (its confirm's answer lost, or the sender killed after the hub
committed) is stored once. Receipts are kept for the Age Off Duration.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import new_uuid, now_millis
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.s2s.transactions import Transaction, Transactions, TransactionState
from headwater.units import parse_data_size, parse_duration

TAKE_LIMIT = 100
"""At most this many confirmed transactions go into one session."""
_PRUNE_EVERY = 60.0


def receipt_key(uuid: str, port: bytes) -> bytes:
    """The 16 bytes of a uuid (time-ordered ones keep the index append-mostly), then
    the port name; text that is no uuid is kept whole."""
    try:
        return bytes.fromhex(uuid.replace("-", "")) + port if len(uuid) == 36 else b""
    except ValueError:
        return b""


class InputPort(Processor):
    """A remote input port: site-to-site clients (RemoteProcessGroup, NiFi) send FlowFiles
    to it through the hub API at ``/data-transfer/input-ports/{Port Name}``; each
    FlowFile keeps its uuid and attributes, with a RECEIVE event, and goes to success.

    A transaction is confirmed only after its FlowFiles are committed, and a FlowFile
    already received (same uuid, same port) within the Age Off Duration is not stored
    again, so a sender that retries a transaction it could not confirm never doubles it.
    """

    tags = ("site-to-site", "s2s", "input", "port", "remote", "receive")
    input_requirement = InputRequirement.FORBIDDEN

    SUCCESS = Relationship("success", "Every FlowFile received")

    port_name = Property(
        "Port Name",
        "The name senders address this port by (default: the processor id)",
    )
    ttl = Property(
        "Transaction TTL",
        "How long an open transaction waits for its next request before it is dropped"
        " (NiFi's nifi.remote.input.http.transaction.ttl)",
        default="30 sec",
        required=True,
        parse=parse_duration,
    )
    age_off = Property(
        "Age Off Duration",
        "How long the uuids of received FlowFiles are remembered, to recognise a"
        " transaction sent again",
        default="24 hours",
        required=True,
        parse=parse_duration,
    )
    max_size = Property(
        "Max Transaction Size",
        "The largest FlowFile stream one transaction may carry (it is held in memory until"
        " confirmed); larger ones get 413",
        default="256 MB",
        required=True,
        parse=parse_data_size,
    )

    def __init__(self) -> None:
        self.name = ""
        self.transactions: Transactions | None = None
        self.max_transaction_size = 0
        self._confirmed: deque[Transaction] = deque()
        self._lock = threading.Lock()
        self._wake: Callable[[], None] | None = None
        self._age_off = 0.0
        self._pruned = 0.0

    # -- lifecycle -----------------------------------------------------------------------

    def attach_wake(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def has_pending_work(self) -> bool:
        return bool(self._confirmed) or time.monotonic() - self._pruned > _PRUNE_EVERY

    def on_scheduled(self, context: ProcessContext) -> None:
        self.name = context.get(self.port_name) or context.id
        self.max_transaction_size = context[self.max_size]
        self._age_off = context[self.age_off]
        self.transactions = Transactions(self.name, context[self.ttl])

    def on_stopped(self, context: ProcessContext) -> None:
        transactions, self.transactions = self.transactions, None
        if transactions is not None:
            transactions.clear("ended: the input port stopped")
        while self._confirmed:
            transaction = self._confirmed.popleft()
            if transaction.result.set_running_or_notify_cancel():
                transaction.result.set_exception(
                    RuntimeError(f"input port {self.name!r} stopped before committing")
                )

    # -- receiving -----------------------------------------------------------------------

    def confirm(self, transaction: Transaction) -> None:
        """Queue a transaction whose checksum matched for the next trigger to commit;
        ``transaction.result`` says how it went."""
        transaction.state = TransactionState.CONFIRMED
        self._confirmed.append(transaction)
        if self._wake is not None:
            self._wake()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        with self._lock:  # take, look up receipts and commit as one step per port
            taken: list[Transaction] = []
            while self._confirmed and len(taken) < TAKE_LIMIT:
                transaction = self._confirmed.popleft()
                if transaction.result.set_running_or_notify_cancel():  # not given up on
                    taken.append(transaction)
            if taken:
                try:
                    counts = self._store(session, taken)
                    session.commit()
                except BaseException as exc:
                    for transaction in taken:
                        transaction.result.set_exception(exc)
                    raise
                for transaction, count in zip(taken, counts, strict=True):
                    transaction.result.set_result(count)
            if time.monotonic() - self._pruned > _PRUNE_EVERY:
                self._pruned = time.monotonic()
                if self.transactions is not None:  # free what idle senders left behind
                    self.transactions.expire()
                before = now_millis() - int(self._age_off * 1000)
                session.repositories.flowfiles.forget_receipts(before)

    def _store(self, session: ProcessSession, taken: list[Transaction]) -> list[tuple[int, int]]:
        port = self.name.encode()
        keys = [receipt_key(p.attributes.get("uuid", ""), port) for t in taken for p in t.packets]
        stored = session.repositories.flowfiles.receipts_among([k for k in keys if k])
        fresh: list[bytes] = []
        counts: list[tuple[int, int]] = []
        index = 0
        for transaction in taken:
            items = []
            for packet in transaction.packets:
                key = keys[index]
                index += 1
                if key:
                    if key in stored:
                        continue
                    stored.add(key)
                    fresh.append(key)
                    uuid = packet.attributes["uuid"]
                else:
                    uuid = new_uuid()
                items.append((uuid, packet.attributes, packet.content))
            flowfiles = session.receive_many(items)
            session.provenance.receive_many(
                flowfiles,
                transaction.transit_uri,
                [f"urn:nifi:{ff.uuid}" for ff in flowfiles],
                details=f"Remote Host={transaction.remote}",
                millis=transaction.millis(),
            )
            session.transfer_all(flowfiles, self.SUCCESS)
            counts.append((len(flowfiles), len(transaction.packets) - len(flowfiles)))
            transaction.packets = []
        session.add_receipts(fresh)
        duplicates = sum(dup for _, dup in counts)
        session.adjust_counter("FlowFiles received", sum(added for added, _ in counts))
        if duplicates:
            session.adjust_counter("FlowFiles already received", duplicates)
        return counts
