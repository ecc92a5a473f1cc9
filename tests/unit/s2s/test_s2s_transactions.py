"""Hub transactions: TTL, 404 against 410, limits; receipts in the FlowFile repository."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from headwater.engine.repositories import Repositories
from headwater.errors import ApiError
from headwater.s2s.port import receipt_key
from headwater.s2s.transactions import Transactions, TransactionState


def test_an_open_transaction_is_found_and_its_ttl_renewed() -> None:
    transactions = Transactions("p", ttl=30)
    opened = transactions.create()
    before = opened.deadline
    time.sleep(0.001)
    assert transactions.get(opened.id) is opened
    assert opened.deadline > before
    assert opened.state is TransactionState.OPEN


def test_unknown_is_404_and_expired_or_ended_is_410() -> None:
    transactions = Transactions("p", ttl=0.0)
    with pytest.raises(ApiError) as unknown:
        transactions.get("nope")
    assert unknown.value.status == 404
    expired = transactions.create()
    assert transactions.expire() == 1
    with pytest.raises(ApiError, match="TTL of 0 s") as gone:
        transactions.get(expired.id)
    assert gone.value.status == 410
    kept = Transactions("p", ttl=30)
    ended = kept.create()
    kept.end(ended, "was cancelled")
    with pytest.raises(ApiError, match="was cancelled"):
        kept.get(ended.id)
    assert len(kept) == 0


def test_too_many_open_transactions_are_refused() -> None:
    transactions = Transactions("p", ttl=30, max_open=2)
    transactions.create()
    transactions.create()
    with pytest.raises(ApiError) as refused:
        transactions.create()
    assert refused.value.status == 503


def test_receipt_keys_are_the_uuid_bytes_then_the_port() -> None:
    key = receipt_key("0190c5a0-0000-7000-8000-000000000001", b"in")
    assert key == bytes.fromhex("0190c5a0000070008000000000000001") + b"in"
    assert receipt_key("not-a-uuid", b"in") == b""
    assert receipt_key("0190c5a0-0000-7000-8000-00000000000z", b"in") == b""


def test_receipts_commit_with_flowfiles_and_age_off(tmp_path: Path) -> None:
    repositories = Repositories.open(tmp_path)
    flowfiles = repositories.flowfiles
    try:
        flowfiles.commit([], [], receipts=[b"a", b"b"], received=1000)
        flowfiles.commit([], [], receipts=[b"b", b"c"], received=2000)  # b keeps its first
        assert flowfiles.receipts_among([b"a", b"c", b"d"]) == {b"a", b"c"}
        assert flowfiles.forget_receipts(before=1500) == 2
        assert flowfiles.receipts_among([b"a", b"b", b"c"]) == {b"c"}
    finally:
        repositories.close()
