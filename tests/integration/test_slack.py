"""PutSlack and PublishSlack against a Slack stand-in on 127.0.0.1 that logs every
request and answers 429 when told to."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from bulk import enqueue_many

from headwater.flow.model import Schedule
from headwater.processors.slack import RETRY_AFTER, PublishSlack, PutSlack
from headwater.testing import TestRunner

pytestmark = pytest.mark.integration


class _Slack(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.log: list[dict[str, Any]] = []
        self.limit_next = 0  # answer this many requests with 429
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Slack
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: bytes, **headers: str) -> None:
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            if self.server.limit_next > 0:
                self.server.limit_next -= 1
                self._reply(429, b"rate limited", Retry_After="1")
                return
            self.server.log.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": body}
            )
        if self.path == "/hook":
            self._reply(200, b"ok")
        elif self.path == "/api/chat.postMessage":
            sent = json.loads(body)
            ok = sent["channel"] != "C-ARCHIVED"
            answer = {"ok": ok, "channel": sent["channel"], "ts": f"{len(self.server.log)}.0001"}
            if not ok:
                answer["error"] = "is_archived"
            self._reply(200, json.dumps(answer).encode())
        elif self.path == "/api/conversations.list":
            page = b'{"ok": true, "channels": [{"id": "C0ALERTS", "name": "alerts"}],'
            self._reply(200, page + b' "response_metadata": {"next_cursor": ""}}')
        elif self.path == "/api/files.getUploadURLExternal":
            upload = f"{self.server.url}/upload/F123"
            self._reply(
                200, json.dumps({"ok": True, "upload_url": upload, "file_id": "F123"}).encode()
            )
        elif self.path == "/upload/F123":
            self._reply(200, b"OK - 4")
        elif self.path == "/api/files.completeUploadExternal":
            self._reply(200, b'{"ok": true, "files": [{"id": "F123"}]}')
        else:
            self._reply(404, b"no_such_method")


@pytest.fixture
def slack() -> Iterator[_Slack]:
    server = _Slack()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _put(slack: _Slack, **extra: str) -> TestRunner:
    props = {"webhook-url": slack.url + "/hook", "webhook-text": "${sensor_id}: ${temperature} C"}
    return TestRunner(PutSlack, {**props, **extra})


def test_put_slack_posts_each_reading_to_the_webhook_with_channel_and_icon(slack: _Slack) -> None:
    runner = _put(slack, channel="#alerts", username="headwater", **{"icon-emoji": ":fire:"})
    count = 10_000
    enqueue_many(
        runner,
        ((b"", {"sensor_id": f"s{i}", "temperature": str(20 + i % 10)}) for i in range(count)),
    )
    started = time.monotonic()
    runner.run(count // 100)
    runner.assert_all_transferred(PutSlack.SUCCESS, count=count)
    bodies = [json.loads(r["body"]) for r in slack.log]
    assert len(bodies) == count
    assert bodies[7] == {
        "text": "s7: 27 C",
        "channel": "#alerts",
        "username": "headwater",
        "icon_emoji": ":fire:",
    }
    assert {b["text"].split(":")[0] for b in bodies} == {f"s{i}" for i in range(count)}
    assert runner.provenance_types().count("SEND") == count
    assert time.monotonic() - started < 20


def test_a_429_routes_to_rate_limited_and_the_processor_waits_out_retry_after(
    slack: _Slack,
) -> None:
    runner = _put(slack)
    runner.enqueue(b"", sensor_id="s1", temperature="31")
    runner.enqueue(b"", sensor_id="s2", temperature="32")
    slack.limit_next = 1
    runner.run(2, stop=False)  # the second trigger yields at once: no request
    runner.assert_transferred(PutSlack.RATE_LIMITED, 1)
    limited = runner.transferred(PutSlack.RATE_LIMITED)[0]
    assert limited.attributes[RETRY_AFTER] == "1"
    assert limited.penalized
    assert runner.queue_size() == 1, "the second message waits: Slack said wait a second"
    assert runner.context.yield_requested
    assert "rate limit" in runner.node.bulletins[-1].message
    time.sleep(1.05)
    runner.run(1)
    runner.assert_transferred(PutSlack.SUCCESS, 1)
    assert [json.loads(r["body"])["text"] for r in slack.log] == ["s2: 32 C"]


def test_slack_unreachable_keeps_the_message_queued_and_it_goes_when_slack_returns(
    slack: _Slack,
) -> None:
    url = slack.url
    slack.shutdown()
    slack.server_close()
    runner = TestRunner(
        PutSlack,
        {"webhook-url": url + "/hook", "webhook-text": "${sensor_id}: ${temperature} C"},
        schedule=Schedule(penalty=0.2),
    )
    runner.enqueue(b"", sensor_id="s1", temperature="40")
    runner.run(1)
    assert runner.queue_size() == 1, "nothing lost: the alert stays queued"
    for rel in ("success", "failure", "rate limited"):
        runner.assert_transferred(rel, 0)
    assert "cannot be reached" in runner.node.bulletins[-1].message
    back = _Slack(int(url.rsplit(":", 1)[1]))
    threading.Thread(target=back.serve_forever, daemon=True).start()
    try:
        time.sleep(0.25)  # the penalty
        runner.run(1)
    finally:
        back.shutdown()
        back.server_close()
    runner.assert_all_transferred(PutSlack.SUCCESS, count=1)
    assert [json.loads(r["body"])["text"] for r in back.log] == ["s1: 40 C"]


def test_an_empty_text_goes_to_failure_with_the_reason(slack: _Slack) -> None:
    runner = _put(slack, **{"webhook-text": "${missing}"})
    runner.enqueue(b"")
    runner.run()
    runner.assert_all_transferred(PutSlack.FAILURE, count=1)
    assert "empty message" in runner.transferred("failure")[0].attributes["error.message"]


def _publish(slack: _Slack, **extra: str) -> TestRunner:
    props = {
        "Access Token": "xoxb-test",
        "Channel": "${channel}",
        "Methods Endpoint Url Prefix": slack.url + "/api/",
    }
    return TestRunner(PublishSlack, {**props, **extra})


def test_publish_slack_sends_the_content_as_the_message_with_the_token(slack: _Slack) -> None:
    runner = _publish(slack, **{"Thread Timestamp": "${thread}"})
    runner.enqueue("temperature 41.5 C at s7", channel="C0123", thread="111.222")
    runner.run()
    runner.assert_all_transferred(PublishSlack.SUCCESS, count=1)
    (request,) = slack.log
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["Authorization"] == "Bearer xoxb-test"
    assert json.loads(request["body"]) == {
        "channel": "C0123",
        "thread_ts": "111.222",
        "text": "temperature 41.5 C at s7",
    }
    out = runner.transferred("success")[0]
    assert out.attributes["slack.channel.id"] == "C0123"
    assert out.attributes["slack.ts"] == "1.0001"


def test_publish_slack_uploads_the_content_as_a_file_with_the_text(slack: _Slack) -> None:
    runner = _publish(
        slack,
        **{
            "Publish Strategy": "Use 'Message Text' Property",
            "Message Text": "report for ${day}",
            "Include FlowFile Content as Attachment": "true",
        },
    )
    runner.enqueue(b"a,b\n1,2\n", channel="C0123", day="2026-11-27", filename="report.csv")
    runner.run()
    runner.assert_all_transferred(PublishSlack.SUCCESS, count=1)
    paths = [r["path"] for r in slack.log]
    assert paths == [
        "/api/files.getUploadURLExternal",
        "/upload/F123",
        "/api/files.completeUploadExternal",
    ]
    assert slack.log[1]["body"] == b"a,b\n1,2\n"
    share = json.loads(slack.log[2]["body"])
    assert share == {
        "files": [{"id": "F123", "title": "report.csv"}],
        "channel_id": "C0123",
        "initial_comment": "report for 2026-11-27",
    }


def test_publish_slack_routes_slacks_refusal_to_failure_and_429_to_rate_limited(
    slack: _Slack,
) -> None:
    runner = _publish(slack)
    runner.enqueue("hello", channel="C-ARCHIVED")
    runner.run(stop=False)
    runner.assert_all_transferred(PublishSlack.FAILURE, count=1)
    reason = runner.transferred("failure")[0].attributes["error.message"]
    assert reason == "chat.postMessage: Slack refused the message: is_archived"
    slack.limit_next = 1
    runner.enqueue("hello", channel="C0123")
    runner.run()
    runner.assert_transferred(PublishSlack.RATE_LIMITED, 1)


def test_publish_slack_checks_its_configuration() -> None:
    runner = TestRunner(PublishSlack, {"Channel": "C1", "Publish Strategy": "Send Content"})
    runner.assert_invalid("Access Token", "Publish Strategy")


def test_publish_slack_finds_a_channel_by_name_once(slack: _Slack) -> None:
    runner = _publish(slack)
    runner.enqueue("one", channel="#alerts")
    runner.enqueue("two", channel="#alerts")
    runner.enqueue("three", channel="#nowhere")
    runner.run()
    runner.assert_transferred(PublishSlack.SUCCESS, 2)
    paths = [r["path"] for r in slack.log]
    assert paths.count("/api/conversations.list") == 2  # alerts once; nowhere not found
    posted = [json.loads(r["body"]) for r in slack.log if r["path"].endswith("postMessage")]
    assert [p["channel"] for p in posted] == ["C0ALERTS", "C0ALERTS"]
    reason = runner.transferred("failure")[0].attributes["error.message"]
    assert reason == "no public channel named '#nowhere'; give its id instead"
