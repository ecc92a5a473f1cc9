"""The sinks inside running flows, not only under TestRunner: a device flow publishes
readings over MQTT instead of site-to-site (GenerateFlowFile → ReplaceText →
PublishMQTT) and a hub flow consumes them into a database (ConsumeMQTT →
PutDatabaseRecord on SQLite), both on the engine's scheduler, with mosquitto between."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_mqtt import Mosquitto

from headwater.engine.controller import FlowController
from headwater.flow.loader import load_flow_dict

pytestmark = pytest.mark.integration

READINGS = 2000


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    server = Mosquitto()
    yield server
    server.close()


def device_flow(port: int) -> dict[str, Any]:
    return {
        "flow": "device",
        "processors": {
            "sense": {
                "type": "GenerateFlowFile",
                "properties": {"Batch Size": str(READINGS), "index": "${nextInt()}"},
                "schedule": {"period": "1 hour"},  # one trigger: READINGS readings
            },
            "as-json": {
                "type": "ReplaceText",
                "properties": {
                    "Replacement Strategy": "Always Replace",
                    "Evaluation Mode": "Entire text",
                    "Replacement Value": '{"reading_id": ${index}, "host": "piups", "cputemp": 44}',
                },
                "auto-terminate": ["failure"],
            },
            "publish": {
                "type": "PublishMQTT",
                "properties": {
                    "Broker URI": f"tcp://127.0.0.1:{port}",
                    "Topic": "sensors/piups/readings",
                    "Quality of Service (QoS)": "1",
                },
                "auto-terminate": ["success", "failure"],
            },
        },
        "connections": [
            {"from": "sense", "relationships": ["success"], "to": "as-json"},
            {"from": "as-json", "relationships": ["success"], "to": "publish"},
        ],
    }


def hub_flow(port: int, database: Path) -> dict[str, Any]:
    return {
        "flow": "hub",
        "services": {
            "json": {"type": "JsonTreeReader"},
            "db": {
                "type": "DBCPConnectionPool",
                "properties": {"Database Connection URL": f"jdbc:sqlite:{database}"},
            },
        },
        "processors": {
            "consume": {
                "type": "ConsumeMQTT",
                "properties": {
                    "Broker URI": f"tcp://127.0.0.1:{port}",
                    "Topic Filter": "sensors/+/readings",
                    "Quality of Service (QoS)": "1",
                    "Client ID": "hub-flow",
                    "Session state": "Resume Session",
                    "Message Demarcator": "\\n",
                },
            },
            "store": {
                "type": "PutDatabaseRecord",
                "properties": {
                    "Record Reader": "json",
                    "Statement Type": "INSERT",
                    "Database Connection Pooling Service": "db",
                    "Table Name": "readings",
                },
                "auto-terminate": ["success", "failure", "retry"],
            },
        },
        "connections": [{"from": "consume", "relationships": ["Message"], "to": "store"}],
    }


def test_device_readings_over_mqtt_land_in_the_hubs_database_once_each(
    broker: Mosquitto, tmp_path: Path
) -> None:
    database = tmp_path / "hub.db"
    with sqlite3.connect(database) as conn:
        conn.execute(
            "CREATE TABLE readings (reading_id INTEGER PRIMARY KEY, host TEXT, cputemp INT)"
        )
    hub = FlowController(load_flow_dict(hub_flow(broker.port, database)), tmp_path / "hub")
    device = FlowController(load_flow_dict(device_flow(broker.port)), tmp_path / "device")
    hub.start()
    try:
        consume: Any = hub.nodes["consume"].processor
        deadline = time.monotonic() + 10
        while not consume.wait_connected(0.1):  # scheduled on a worker, then connected
            assert time.monotonic() < deadline, "the hub's ConsumeMQTT did not connect"
        time.sleep(0.2)  # the SUBACK
        device.start()
        deadline = time.monotonic() + 30
        count = 0
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as conn:
                (count,) = conn.execute("SELECT count(*) FROM readings").fetchone()
            if count >= READINGS:
                break
            time.sleep(0.1)
        assert count == READINGS
        with sqlite3.connect(database) as conn:
            (distinct,) = conn.execute("SELECT count(DISTINCT reading_id) FROM readings").fetchone()
        assert distinct == READINGS
        sent = device.repositories.provenance.query(
            component="publish", event_type="SEND", limit=10**6
        )
        assert len(sent) == READINGS
    finally:
        device.stop()
        hub.stop()
