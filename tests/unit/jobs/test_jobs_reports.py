"""Run reports reach an SMTP server (aiosmtpd): status, duration, log tail, attachments."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import Jobs, make_config


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's start check cannot take port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_finished_run_is_reported_by_email(
    tmp_path: Path, open_jobs: Callable[..., Jobs], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    config = make_config(tmp_path, smtp={"port": port, "sender": "jobs@example.com"})
    (tmp_path / "scripts" / "report.html").write_text("<p>the report</p>")
    jobs = open_jobs(config)
    job = jobs.create(
        name="boom",
        script="boom.py",
        report={"recipients": ["ops@example.com"], "attachments": ["report.html", "none.csv"]},
    )
    quiet = jobs.create(name="quiet", script="hello.py")
    jobs.wait(quiet["id"], jobs.start(quiet["id"])["latest"]["id"])
    run = jobs.wait(job["id"], jobs.start(job["id"])["latest"]["id"])
    deadline = time.monotonic() + 10
    while not inbox.messages:
        assert time.monotonic() < deadline, "no report arrived"
        time.sleep(0.02)
    time.sleep(0.2)
    (mail,) = inbox.messages
    assert mail["To"] == "ops@example.com" and mail["From"] == "jobs@example.com"
    assert mail["Subject"] == f"[tspann/edge-to-ai] boom: run {run['id']} failed"
    body, attachment = (part for part in mail.walk() if not part.is_multipart())
    text = body.get_payload(decode=True).decode()
    assert "Status: failed" in text and "Exit code: 1" in text and "Duration: " in text
    assert "RuntimeError: boom: the data is bad" in text
    assert attachment.get_filename() == "report.html"
    assert attachment.get_payload(decode=True) == b"<p>the report</p>"
