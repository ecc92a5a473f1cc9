"""RemoteProcessGroup's configuration, and what it does when no hub answers."""

from __future__ import annotations

from headwater.s2s.port import InputPort
from headwater.s2s.remote import RemoteProcessGroup
from headwater.testing import TestRunner


def test_target_urls_and_port_name_are_checked() -> None:
    good = {"Target URLs": "https://hub-a:8443, http://hub-b:8080/", "Port Name": "readings"}
    with TestRunner(RemoteProcessGroup, good) as runner:
        runner.assert_valid()
    for bad in ("ftp://hub:21", "hub:8080", " , "):
        with TestRunner(RemoteProcessGroup, {**good, "Target URLs": bad}) as runner:
            runner.assert_invalid("Target URLs")
    with TestRunner(RemoteProcessGroup, {**good, "Port Name": "a/b"}) as runner:
        runner.assert_invalid("Port Name")
    with TestRunner(RemoteProcessGroup, {**good, "Transport Protocol": "RAW"}) as runner:
        runner.assert_invalid("Transport Protocol")


def test_unreachable_hubs_leave_everything_queued_with_a_bulletin() -> None:
    properties = {"Target URLs": "http://127.0.0.1:9,http://127.0.0.1:9/x", "Port Name": "p"}
    with TestRunner(RemoteProcessGroup, properties) as runner:
        runner.enqueue(b"reading", filename="r.json")
        runner.run()
        assert runner.queue_size() == 1
        assert runner.provenance_types() == []
        (bulletin,) = runner.node.bulletins
        assert bulletin.level == "WARNING"
        assert "no hub took the transaction" in bulletin.message
        assert "(0 taken)" in bulletin.message  # the queue was not touched
        assert bulletin.message.count("http://127.0.0.1:9") == 2


def test_input_port_defaults() -> None:
    with TestRunner(InputPort, {}) as runner:
        runner.assert_valid()
    with TestRunner(InputPort, {"Transaction TTL": "soon"}) as runner:
        runner.assert_invalid("Transaction TTL")
