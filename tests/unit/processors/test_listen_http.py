"""ListenHTTP through TestRunner with its real server on 127.0.0.1, port 0.

A POST is answered only after a trigger has committed its FlowFile, so each test sends
from a thread, waits until the request is queued, runs the processor, then reads the
answer; what the server answers by itself (404, 405, HEAD, health) needs no trigger.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.engine.controller import FlowController
from headwater.engine.session import ProcessSession
from headwater.errors import RepositoryError
from headwater.flow.loader import load_flow_dict
from headwater.http.server import IngestServer
from headwater.processors.http_listen import ListenHTTP
from headwater.services.records import JsonRecordSetWriter, JsonTreeReader
from headwater.testing import TestRunner

READING = b'{"host": "piups", "cputemp": 44, "memory": 45.7}'


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def listen(**properties: str) -> TestRunner:
    runner = TestRunner(ListenHTTP, {"Listening Port": "0", **properties})
    runner.run(stop=False)  # schedules: the server starts
    return runner


def url(runner: TestRunner, path: str = "/contentListener") -> str:
    server = runner.processor.server  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{server.port}{path}"


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def send(
    pool: ThreadPoolExecutor, method: str, target: str, **kwargs: Any
) -> Future[httpx.Response]:
    return pool.submit(httpx.request, method, target, timeout=10, **kwargs)


def post_and_run(runner: TestRunner, pool: ThreadPoolExecutor, **kwargs: Any) -> httpx.Response:
    answer = send(pool, "POST", url(runner), **kwargs)
    wait_for(runner.processor.has_pending_work)
    runner.run(stop=False)
    return answer.result(10)


def test_post_becomes_one_flowfile_with_nifi_attributes_and_receive(
    pool: ThreadPoolExecutor,
) -> None:
    runner = listen(**{"HTTP Headers to receive as Attributes (Regex)": "X-Device.*"})
    try:
        response = post_and_run(
            runner,
            pool,
            content=READING,
            headers={"Content-Type": "application/json", "X-Device-Id": "bog-1", "X-Other": "no"},
            params={"q": "1"},
        )
        assert response.status_code == 200
        runner.assert_all_transferred(ListenHTTP.SUCCESS, 1)
        out = runner.transferred(ListenHTTP.SUCCESS)[0]
        out.assert_content_equals(READING)
        out.assert_attribute_equals("restlistener.remote.source.host", "127.0.0.1")
        out.assert_attribute_equals("restlistener.request.uri", "/contentListener")
        out.assert_attribute_equals("restlistener.remote.user.dn", "none")
        out.assert_attribute_equals("mime.type", "application/json")
        out.assert_attribute_equals("X-Device-Id", "bog-1")
        assert "X-Other" not in out.attributes
        (event,) = runner.provenance_events()
        assert str(event.event_type) == "RECEIVE"
        assert event.transit_uri == url(runner)
        assert event.details == "Remote DN=none"
    finally:
        runner.close()


def test_answer_waits_for_the_commit(pool: ThreadPoolExecutor) -> None:
    runner = listen(**{"Return Code": "202"})
    try:
        answer = send(pool, "POST", url(runner), content=b"a")
        wait_for(runner.processor.has_pending_work)
        time.sleep(0.05)
        assert not answer.done()  # nothing is acknowledged before it is durable
        runner.run(stop=False)
        assert answer.result(10).status_code == 202
        assert not runner.processor.has_pending_work()
    finally:
        runner.close()


def test_server_answers_other_methods_paths_and_health_itself(pool: ThreadPoolExecutor) -> None:
    runner = listen(**{"Base Path": "ingest/v1"})
    try:
        get = httpx.get(url(runner, "/ingest/v1"))
        assert get.status_code == 405
        assert get.headers["Allow"] == "POST, HEAD"
        assert httpx.put(url(runner, "/ingest/v1"), content=b"x").status_code == 405
        assert httpx.post(url(runner, "/contentListener"), content=b"x").status_code == 404
        assert httpx.head(url(runner, "/ingest/v1")).status_code == 200
        for path in ("/ingest/v1/healthcheck", "/healthcheck"):
            health = httpx.get(url(runner, path))
            assert (health.status_code, health.text) == (200, "OK")
        assert httpx.post(url(runner, "/healthcheck")).status_code == 405
        assert not runner.processor.has_pending_work()
        runner.assert_transferred(ListenHTTP.SUCCESS, 0)
    finally:
        runner.close()


def test_bodies_over_max_request_size_get_413_and_are_not_stored() -> None:
    runner = listen(**{"Max Request Size": "1 KB"})
    try:
        big = b"x" * 2048
        assert httpx.post(url(runner), content=big).status_code == 413
        chunked = httpx.post(url(runner), content=iter([big[:1000], big[1000:]]))
        assert chunked.status_code == 413
        assert not runner.processor.has_pending_work()
    finally:
        runner.close()


def test_oversized_heads_get_431_and_garbage_gets_400() -> None:
    runner = listen(**{"Request Header Maximum Size": "1 KB"})
    try:
        response = httpx.post(url(runner), content=b"x", headers={"X-Big": "y" * 2000})
        assert response.status_code == 431
        port = runner.processor.server.port  # type: ignore[attr-defined]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.1 400 ")
        assert not runner.processor.has_pending_work()
    finally:
        runner.close()


def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    runner = listen()
    try:
        port = runner.processor.server.port  # type: ignore[attr-defined]
        request = b"POST /contentListener HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n%d"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"".join(request % i for i in range(3)) + b"GET /nowhere HTTP/1.1\r\n\r\n")
            wait_for(lambda: len(runner.processor.server._waiting) == 3)  # type: ignore[attr-defined]
            runner.run(stop=False)
            received = b""
            while received.count(b"HTTP/1.1") < 4:
                received += sock.recv(65536)
        statuses = [
            line.split()[1] for line in received.split(b"\r\n") if line.startswith(b"HTTP/")
        ]
        assert statuses == [b"200", b"200", b"200", b"404"]
        contents = sorted(ff.content for ff in runner.transferred(ListenHTTP.SUCCESS))
        assert contents == [b"0", b"1", b"2"]
    finally:
        runner.close()


def records_runner() -> TestRunner:
    runner = TestRunner(
        ListenHTTP,
        {"Listening Port": "0", "record-reader": "json", "record-writer": "out"},
    )
    runner.add_service("json", JsonTreeReader(), {})
    runner.add_service("out", JsonRecordSetWriter(), {"output-grouping": "output-oneline"})
    runner.run(stop=False)
    return runner


def test_record_reader_makes_one_flowfile_of_records_and_refuses_bad_bodies(
    pool: ThreadPoolExecutor,
) -> None:
    runner = records_runner()
    try:
        batch = b"[" + b",".join([READING] * 3) + b"]"
        assert post_and_run(runner, pool, content=batch).status_code == 200
        bad = post_and_run(runner, pool, content=b'[{"host": ')
        assert bad.status_code == 400
        assert "malformed JSON" in bad.text
        (out,) = runner.transferred(ListenHTTP.SUCCESS)
        assert out.content.count(b"\n") == 2
        out.assert_attribute_equals("record.count", "3")
        out.assert_attribute_equals("mime.type", "application/json")
        assert runner.provenance_types() == ["RECEIVE"]
    finally:
        runner.close()


def test_failed_commit_answers_503_and_stores_nothing(
    pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = listen()
    try:

        def broken(self: ProcessSession) -> None:
            raise RepositoryError("disk full")

        monkeypatch.setattr(ProcessSession, "commit", broken)
        answer = send(pool, "POST", url(runner), content=b"a")
        wait_for(runner.processor.has_pending_work)
        runner.run(stop=False, raise_errors=False)
        assert answer.result(10).status_code == 503
        monkeypatch.undo()
        runner.assert_transferred(ListenHTTP.SUCCESS, 0)
    finally:
        runner.close()


def test_stopping_answers_waiting_requests_503_and_closes_the_port(
    pool: ThreadPoolExecutor,
) -> None:
    runner = listen()
    target = url(runner)
    answer = send(pool, "POST", target, content=b"a")
    wait_for(runner.processor.has_pending_work)
    runner.close()
    assert answer.result(10).status_code == 503
    with pytest.raises(httpx.ConnectError):
        httpx.post(target, content=b"a")


def test_configuration_is_checked() -> None:
    runner = TestRunner(ListenHTTP, {"Listening Port": "0", "Base Path": "/lead"})
    runner.assert_invalid("Base Path")
    runner.set_property("Base Path", "ok")
    runner.set_property("Listening Port", "70000")
    runner.assert_invalid("Listening Port")
    runner.set_property("Listening Port", "9090")
    runner.add_service("json", JsonTreeReader(), {})
    runner.set_property("record-reader", "json")
    runner.assert_invalid("record-writer")
    runner.close()


def test_in_a_flow_it_is_triggered_by_arrivals_only(tmp_path: Path) -> None:
    flow = load_flow_dict(
        {
            "flow": "listen",
            "processors": {
                "listen": {
                    "type": "ListenHTTP",
                    "properties": {"Listening Port": 0},
                    "auto-terminate": ["success"],
                }
            },
        },
        "test",
    )
    controller = FlowController(flow, tmp_path)
    controller.start()
    try:
        node = controller.nodes["listen"]
        processor = node.processor
        wait_for(lambda: processor.server is not None)  # type: ignore[attr-defined]
        port = processor.server.port  # type: ignore[attr-defined]
        time.sleep(0.2)
        idle_tasks = node.stats.tasks
        assert idle_tasks <= 2  # scheduled once, then not polled while nothing waits
        with httpx.Client() as client:
            started = time.monotonic()
            for _ in range(5):
                response = client.post(f"http://127.0.0.1:{port}/contentListener", content=b"r")
                assert response.status_code == 200
            assert time.monotonic() - started < 2.0  # no idle wait (0.5 s) per arrival
        assert node.stats.flowfiles_removed == 5
        assert node.stats.tasks <= idle_tasks + 5
    finally:
        controller.stop()


def test_idle_keep_alive_connections_are_closed() -> None:
    server = IngestServer(
        host="127.0.0.1", port=0, base_path="contentListener", max_body_size=10, idle_timeout=0.2
    )
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: a\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.1 200 ")
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server, not by the timeout here
            assert time.monotonic() - started < 3
    finally:
        server.stop()
