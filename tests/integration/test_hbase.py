"""PutHBaseJSON and PutHBaseRecord against a stand-in for HBase's Thrift server: the
real Hbase.thrift interface (the one happybase ships), served by thriftpy2 on
127.0.0.1, keeping cells in a dict and every call in a log. No HBase can run here, so
this checks the calls happybase makes, not HBase itself."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from headwater.flow.model import Schedule
from headwater.processors.hbase_put import PutHBaseJSON, PutHBaseRecord
from headwater.services.hbase import HBaseThriftClientService
from headwater.services.records.json import JsonTreeReader
from headwater.testing import TestRunner
from ports import free_port

pytestmark = pytest.mark.integration
import happybase  # noqa: E402
import Hbase_thrift  # type: ignore[import-not-found]  # noqa: E402 - loaded by happybase
from thriftpy2.rpc import make_server  # noqa: E402


class _HBase:
    """The Thrift calls PutHBase* make, on tables of families of cells."""

    def __init__(self) -> None:
        self.families = {b"sensor_readings": {b"r"}}
        self.cells: dict[bytes, dict[bytes, dict[bytes, bytes]]] = {}
        self.calls: list[tuple[str, bytes, int]] = []

    def getTableNames(self) -> list[bytes]:
        return list(self.families)

    def mutateRows(self, table: bytes, batches: list[Any], attributes: Any) -> None:
        self.calls.append(("mutateRows", table, len(batches)))
        if table not in self.families:
            raise Hbase_thrift.IOError(message=f"TableNotFoundException: {table.decode()}")
        for batch in batches:
            for mutation in batch.mutations:
                family = mutation.column.split(b":")[0]
                if family not in self.families[table]:
                    raise Hbase_thrift.IOError(
                        message=f"NoSuchColumnFamilyException: {family.decode()}"
                    )
        stored = self.cells.setdefault(table, {})
        for batch in batches:
            row = stored.setdefault(batch.row, {})
            for mutation in batch.mutations:
                row[mutation.column] = mutation.value

    def getRowWithColumns(
        self, table: bytes, row: bytes, columns: Any, attributes: Any
    ) -> list[Any]:
        cells = self.cells.get(table, {}).get(row)
        if cells is None:
            return []
        found = {k: Hbase_thrift.TCell(value=v, timestamp=0) for k, v in cells.items()}
        return [Hbase_thrift.TRowResult(row=row, columns=found)]


class ThriftServer:
    def __init__(self, handler: _HBase, port: int = 0) -> None:
        self.handler = handler
        self.port = port or free_port()
        self.server = make_server(Hbase_thrift.Hbase, handler, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # closed
            self.server.serve()

    def stop(self) -> None:
        self.server.close()
        self.thread.join(2)


@pytest.fixture
def hbase() -> Iterator[ThriftServer]:
    server = ThriftServer(_HBase())
    yield server
    server.stop()


def _runner(kind: type[PutHBaseJSON] | type[PutHBaseRecord], port: int, **extra: str) -> TestRunner:
    props = {
        "HBase Client Service": "hbase",
        "Table Name": "sensor_readings",
        "Column Family": "r",
        "Row Identifier Field Name": "uuid",
        **extra,
    }
    runner = TestRunner(kind, props, schedule=Schedule(penalty=0.1))
    runner.add_service(
        "hbase", HBaseThriftClientService(), {"Thrift Host": "127.0.0.1", "Thrift Port": str(port)}
    )
    if kind is PutHBaseRecord:
        runner.add_service("json", JsonTreeReader(), {})
        runner.set_property("Record Reader", "json")
    return runner


def reading(i: int) -> dict[str, Any]:
    return {
        "uuid": f"20190213043439_{i:08d}",
        "host": "piups",
        "cputemp": 40 + i % 10,
        "bme680_tempc": "23.97",
        "lsm303d": {"x": 0.08, "y": -1.01},
    }


def test_ten_thousand_records_become_rows_read_back_through_happybase(hbase: ThriftServer) -> None:
    runner = _runner(PutHBaseRecord, hbase.port)
    for chunk in range(10):
        runner.enqueue("\n".join(json.dumps(reading(chunk * 1000 + i)) for i in range(1000)))
    runner.run()
    runner.assert_all_transferred(PutHBaseRecord.SUCCESS, count=10)
    rows = hbase.handler.cells[b"sensor_readings"]
    assert len(rows) == 10_000
    assert hbase.handler.calls == [("mutateRows", b"sensor_readings", 1000)] * 10
    connection = happybase.Connection("127.0.0.1", hbase.port, autoconnect=True)
    try:
        back = connection.table("sensor_readings").row(b"20190213043439_00000007")
    finally:
        connection.close()
    assert back == {
        b"r:host": b"piups",
        b"r:cputemp": b"47",
        b"r:bme680_tempc": b"23.97",
        b"r:lsm303d": b'{"x":0.08,"y":-1.01}',
    }


def test_put_hbase_json_a_row_per_document_with_the_row_id_from_an_expression(
    hbase: ThriftServer,
) -> None:
    runner = _runner(
        PutHBaseJSON,
        hbase.port,
        **{"Row Identifier Field Name": "", "Row Identifier": "${site}-${sensor}",
           "Complex Field Strategy": "Ignore"},
    )  # fmt: skip
    runner.remove_property("Row Identifier Field Name")
    runner.enqueue(json.dumps(reading(1)), site="bog", sensor="s1")
    runner.run()
    runner.assert_all_transferred(PutHBaseJSON.SUCCESS, count=1)
    assert hbase.handler.cells[b"sensor_readings"][b"bog-s1"] == {
        b"r:uuid": b"20190213043439_00000001",
        b"r:host": b"piups",
        b"r:cputemp": b"41",
        b"r:bme680_tempc": b"23.97",
    }


def test_bad_input_and_hbase_refusals_go_to_failure_with_the_reason(hbase: ThriftServer) -> None:
    runner = _runner(PutHBaseJSON, hbase.port, **{"Complex Field Strategy": "Fail"})
    runner.enqueue(json.dumps({"host": "no id"}))
    runner.enqueue(b"[1, 2]")
    runner.enqueue(json.dumps(reading(2)))
    runner.run()
    missing_table = _runner(PutHBaseJSON, hbase.port, **{"Table Name": "nope"})
    missing_table.enqueue(json.dumps(reading(3)))
    missing_table.run()
    runner.assert_all_transferred("failure", count=3)
    reasons = [f.attributes["error.message"] for f in runner.transferred("failure")]
    assert reasons == [
        "no row id: field 'uuid' is missing or empty",
        "the content must be one JSON object",
        "field 'lsm303d' is nested and Complex Field Strategy is Fail",
    ]
    missing_table.assert_all_transferred("failure", count=1)
    reason = missing_table.transferred("failure")[0].attributes["error.message"]
    assert reason == "HBase refused the writes to 'nope': TableNotFoundException: nope"
    both = _runner(PutHBaseJSON, hbase.port, **{"Row Identifier": "${sensor}"})
    both.assert_invalid("Row Identifier")


def test_thrift_server_down_keeps_flowfiles_queued_then_delivers() -> None:
    port = free_port()
    runner = _runner(PutHBaseRecord, port)
    runner.enqueue(json.dumps(reading(5)))
    runner.run(stop=False)
    assert runner.queue_size() == 1
    assert "stay queued" in runner.node.bulletins[-1].message
    server = ThriftServer(_HBase(), port)
    try:
        time.sleep(0.15)  # the penalty
        runner.run()
        runner.assert_all_transferred("success", count=1)
        assert list(server.handler.cells[b"sensor_readings"]) == [b"20190213043439_00000005"]
    finally:
        server.stop()
