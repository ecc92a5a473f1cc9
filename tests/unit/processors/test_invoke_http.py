"""InvokeHTTP against a real HTTP server on 127.0.0.1 (stdlib, in a thread)."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from headwater.processors.http_invoke import InvokeHTTP
from headwater.testing import TestRunner


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse shows

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, code: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", "test")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while size := int(self.rfile.readline().strip() or b"0", 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(length) if length else b""
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body": body.decode(),
            "client": self.client_address,
        }
        self.server.seen.append(seen)
        if self.path == "/json":
            self._reply(200, b'{"id": "42", "status": "scheduling"}')
        elif self.path == "/echo":
            self._reply(200, json.dumps(seen).encode())
        elif self.path == "/missing":
            self._reply(404, b"no such job", "text/plain")
        elif self.path == "/busy":
            self._reply(503, b"try later", "text/plain")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/auth":
            expected = "Basic " + base64.b64encode(b"jobs-user:s3cr:et").decode()
            if self.headers.get("Authorization") == expected:
                self._reply(200, b'{"authorized": true}')
            else:
                self._reply(401, b"who are you?", "text/plain")
        elif self.path == "/slow":
            self.server.release.wait(5)
            self._reply(200, b"{}")
        else:
            self._reply(400, b"unknown path", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[dict[str, Any]] = []
        self.release = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture()
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _runner(server: _Server, path: str, **props: str) -> TestRunner:
    return TestRunner(InvokeHTTP, {"Remote URL": server.base + path, **props})


def test_get_200_routes_original_and_response_with_attributes(server: _Server) -> None:
    with _runner(server, "/json") as runner:
        runner.enqueue(b"ignored", filename="a")
        runner.run()
        runner.assert_transferred(InvokeHTTP.ORIGINAL, 1)
        runner.assert_transferred(InvokeHTTP.RESPONSE, 1)
        original = runner.transferred(InvokeHTTP.ORIGINAL)[0]
        response = runner.transferred(InvokeHTTP.RESPONSE)[0]
        assert original.content == b"ignored"
        original.assert_attribute_equals("invokehttp.status.code", "200")
        original.assert_attribute_equals("invokehttp.status.message", "OK")
        original.assert_attribute_equals("invokehttp.request.url", server.base + "/json")
        assert json.loads(response.content) == {"id": "42", "status": "scheduling"}
        response.assert_attribute_equals("mime.type", "application/json")
        response.assert_attribute_equals("X-Served-By", "test")
        response.assert_attribute_equals("filename", "a")
        tx = original.attributes["invokehttp.tx.id"]
        response.assert_attribute_equals("invokehttp.tx.id", tx)
        assert server.seen[0]["method"] == "GET"
        assert server.seen[0]["body"] == ""
        assert "Content-Type" not in server.seen[0]["headers"]
        assert sorted(runner.provenance_types()) == ["FETCH", "FORK", "REMOTE_INVOCATION"]


def test_seed_post_basic_auth_json_empty_body_not_chunked(server: _Server) -> None:
    props = {
        "HTTP Method": "POST",
        "Basic Authentication Username": "api-key",
        "Content-Type": "application/json",
        "send-message-body": "true",
        "Use Chunked Encoding": "false",
        "Always Output Response": "true",
    }
    with _runner(server, "/echo", **props) as runner:
        runner.assert_valid()
        runner.enqueue(b"")
        runner.run()
        runner.assert_transferred(InvokeHTTP.ORIGINAL, 1)
        headers = server.seen[0]["headers"]
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"api-key:").decode()
        assert headers["Content-Type"] == "application/json"
        assert headers["Content-Length"] == "0"
        assert "Transfer-Encoding" not in headers
        assert server.seen[0]["method"] == "POST"
        assert sorted(runner.provenance_types()) == ["FETCH", "FORK", "REMOTE_INVOCATION"]


def test_post_sends_content_with_length_and_records_send(server: _Server) -> None:
    props = {"HTTP Method": "${verb}", "X-Job": "${job}", "Attributes to Send": "trace\\..*"}
    with _runner(server, "/echo", **props) as runner:
        runner.enqueue(b'{"a": 1}', {"verb": "post", "job": "j7", "trace.id": "t1", "other": "x"})
        runner.run()
        seen = server.seen[0]
        assert seen["body"] == '{"a": 1}'
        assert seen["headers"]["Content-Length"] == "8"
        assert seen["headers"]["Content-Type"] == "application/octet-stream"
        assert seen["headers"]["X-Job"] == "j7"
        assert seen["headers"]["trace.id"] == "t1"
        assert "other" not in seen["headers"]
        assert "Date" in seen["headers"]
        assert sorted(runner.provenance_types()) == ["FETCH", "FORK", "SEND"]


def test_chunked_encoding_and_mime_type_content_type(server: _Server) -> None:
    props = {"HTTP Method": "PUT", "Use Chunked Encoding": "true"}
    with _runner(server, "/echo", **props) as runner:
        runner.enqueue(b"hello", {"mime.type": "text/plain"})
        runner.run()
        seen = server.seen[0]
        assert seen["headers"]["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in seen["headers"]
        assert seen["headers"]["Content-Type"] == "text/plain"
        assert seen["body"] == "hello"


def test_send_message_body_false_sends_empty_body(server: _Server) -> None:
    with _runner(
        server, "/echo", **{"HTTP Method": "POST", "Send Message Body": "false"}
    ) as runner:
        runner.enqueue(b"secret")
        runner.run()
        assert server.seen[0]["body"] == ""
        assert server.seen[0]["headers"]["Content-Length"] == "0"
        assert "SEND" not in runner.provenance_types()


def test_404_routes_no_retry_with_body_attribute(server: _Server) -> None:
    with _runner(server, "/missing") as runner:
        runner.enqueue(b"x")
        runner.run()
        runner.assert_all_transferred(InvokeHTTP.NO_RETRY, count=1)
        out = runner.transferred(InvokeHTTP.NO_RETRY)[0]
        out.assert_attribute_equals("invokehttp.status.code", "404")
        out.assert_attribute_equals("invokehttp.status.message", "Not Found")
        out.assert_attribute_equals("invokehttp.response.body", "no such job")
        assert not out.penalized
        assert runner.provenance_types() == ["REMOTE_INVOCATION"]


def test_404_penalized_when_asked(server: _Server) -> None:
    with _runner(server, "/missing", **{'Penalize on "No Retry"': "true"}) as runner:
        runner.enqueue(b"x")
        runner.run()
        assert runner.transferred(InvokeHTTP.NO_RETRY)[0].penalized


def test_503_routes_retry_penalized(server: _Server) -> None:
    with _runner(server, "/busy") as runner:
        runner.enqueue(b"x")
        runner.run()
        runner.assert_all_transferred(InvokeHTTP.RETRY, count=1)
        out = runner.transferred(InvokeHTTP.RETRY)[0]
        out.assert_attribute_equals("invokehttp.status.code", "503")
        assert out.penalized


def test_always_output_response_on_error(server: _Server) -> None:
    with _runner(server, "/busy", **{"Always Output Response": "true"}) as runner:
        runner.enqueue(b"x")
        runner.run()
        runner.assert_transferred(InvokeHTTP.RETRY, 1)
        runner.assert_transferred(InvokeHTTP.RESPONSE, 1)
        response = runner.transferred(InvokeHTTP.RESPONSE)[0]
        assert response.content == b"try later"
        response.assert_attribute_equals("invokehttp.status.code", "503")
        response.assert_attribute_equals("mime.type", "text/plain")


def test_put_response_body_in_attribute(server: _Server) -> None:
    props = {"Put Response Body In Attribute": "job.${kind}", "Max Length To Put In Attribute": "8"}
    with _runner(server, "/json", **props) as runner:
        runner.enqueue(b"x", kind="start")
        runner.run()
        runner.assert_all_transferred(InvokeHTTP.ORIGINAL, count=1)
        out = runner.transferred(InvokeHTTP.ORIGINAL)[0]
        out.assert_attribute_equals("job.start", '{"id": "')


def test_follow_redirects(server: _Server) -> None:
    with _runner(server, "/redirect") as runner:
        runner.enqueue(b"")
        runner.run()
        out = runner.transferred(InvokeHTTP.RESPONSE)[0]
        out.assert_attribute_equals("invokehttp.status.code", "200")
        out.assert_attribute_equals("invokehttp.response.url", server.base + "/json")
    with _runner(server, "/redirect", **{"Follow Redirects": "False"}) as runner:
        runner.enqueue(b"")
        runner.run()
        runner.assert_all_transferred(InvokeHTTP.NO_RETRY, count=1)


def test_read_timeout_routes_failure_penalized(server: _Server) -> None:
    with _runner(server, "/slow", **{"Read Timeout": "200 millis"}) as runner:
        runner.enqueue(b"x")
        runner.run()
        server.release.set()
        runner.assert_all_transferred(InvokeHTTP.FAILURE, count=1)
        out = runner.transferred(InvokeHTTP.FAILURE)[0]
        assert out.penalized
        assert out.attributes["invokehttp.java.exception.class"].endswith("ReadTimeout")
        assert out.attributes["invokehttp.java.exception.message"]


def test_connection_refused_routes_failure_penalized() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/x"
        with TestRunner(InvokeHTTP, {"Remote URL": url}) as runner:
            runner.enqueue(b"x")
            runner.run()
            runner.assert_all_transferred(InvokeHTTP.FAILURE, count=1)
            out = runner.transferred(InvokeHTTP.FAILURE)[0]
            assert out.penalized
            assert out.attributes["invokehttp.java.exception.class"].endswith("ConnectError")
            assert "invokehttp.tx.id" in out.attributes
            assert runner.provenance_types() == ["ATTRIBUTES_MODIFIED"]


def test_bad_url_from_expression_routes_failure() -> None:
    with TestRunner(InvokeHTTP, {"Remote URL": "${target}"}) as runner:
        runner.enqueue(b"x", target="ftp://example.com/file")
        runner.run()
        runner.assert_all_transferred(InvokeHTTP.FAILURE, count=1)
        out = runner.transferred(InvokeHTTP.FAILURE)[0]
        assert "http" in out.attributes["invokehttp.java.exception.message"]


def test_connection_reused_between_triggers(server: _Server) -> None:
    with _runner(server, "/json") as runner:
        for _ in range(3):
            runner.enqueue(b"")
        runner.run(3)
        runner.assert_transferred(InvokeHTTP.ORIGINAL, 3)
    assert len({seen["client"] for seen in server.seen}) == 1  # one connection, reused


def test_configuration_validation() -> None:
    with TestRunner(InvokeHTTP, {}) as runner:
        runner.assert_invalid("Remote URL")
    with TestRunner(InvokeHTTP, {"Remote URL": "not a url"}) as runner:
        runner.assert_invalid("Remote URL")
    with TestRunner(InvokeHTTP, {"Remote URL": "http://h/", "Read Timeout": "soon"}) as runner:
        runner.assert_invalid("Read Timeout")
    with TestRunner(InvokeHTTP, {"Remote URL": "http://h/", "HTTP Method": "${m}"}) as runner:
        runner.assert_valid()
    assert InvokeHTTP.property_named("Basic Authentication Password").sensitive  # type: ignore[union-attr]


def test_large_body_streams_with_content_length(server: _Server) -> None:
    data = bytes(range(256)) * 1024  # 256 KiB, several read chunks
    with _runner(server, "/echo", **{"HTTP Method": "POST"}) as runner:
        runner.enqueue(data.hex())
        runner.run()
        seen = server.seen[0]
        assert seen["headers"]["Content-Length"] == str(len(data) * 2)
        assert "Transfer-Encoding" not in seen["headers"]
        assert seen["body"] == data.hex()


def test_delete_and_head_send_no_body(server: _Server) -> None:
    for method in ("DELETE", "HEAD"):
        with _runner(server, "/json", **{"HTTP Method": method}) as runner:
            runner.enqueue(b"content")
            runner.run()
            runner.assert_transferred(InvokeHTTP.ORIGINAL, 1)
    assert [(s["method"], s["body"]) for s in server.seen] == [("DELETE", ""), ("HEAD", "")]
    assert all("Content-Length" not in s["headers"] for s in server.seen)


def test_response_headers_to_request_and_ignored_content(server: _Server) -> None:
    props = {"Add Response Headers to Request": "true", "ignore-response-content": "true"}
    with _runner(server, "/json", **props) as runner:
        runner.enqueue(b"")
        runner.run()
        runner.transferred(InvokeHTTP.ORIGINAL)[0].assert_attribute_equals("X-Served-By", "test")
        response = runner.transferred(InvokeHTTP.RESPONSE)[0]
        assert response.content == b""
        response.assert_attribute_equals("mime.type", "application/json")


def test_basic_auth_with_a_password_and_a_wrong_one(server: _Server) -> None:
    props = {"Basic Authentication Username": "jobs-user"}
    with _runner(server, "/auth", **props, **{"Basic Authentication Password": "s3cr:et"}) as ok:
        ok.enqueue(b"")
        ok.run()
        ok.assert_transferred(InvokeHTTP.ORIGINAL, 1)
        assert json.loads(ok.transferred(InvokeHTTP.RESPONSE)[0].content) == {"authorized": True}
    with _runner(server, "/auth", **props, **{"Basic Authentication Password": "guess"}) as bad:
        bad.enqueue(b"")
        bad.run()
        bad.assert_all_transferred(InvokeHTTP.NO_RETRY, count=1)
        out = bad.transferred(InvokeHTTP.NO_RETRY)[0]
        out.assert_attribute_equals("invokehttp.status.code", "401")
        out.assert_attribute_equals("invokehttp.response.body", "who are you?")
    assert [s["path"] for s in server.seen] == ["/auth", "/auth"]
