"""PutEmail against aiosmtpd on 127.0.0.1: a mailbox that keeps every message."""

from __future__ import annotations

import email
import json
import ssl
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller  # type: ignore[import-untyped]
from aiosmtpd.smtp import AuthResult, LoginPassword  # type: ignore[import-untyped]

from headwater.flow.model import Schedule
from headwater.processors.email_put import PutEmail
from headwater.services.ssl import StandardSSLContextService
from headwater.testing import TestRunner
from ports import free_port

pytestmark = pytest.mark.integration


class _Mailbox:
    """aiosmtpd's handler: keeps what arrives; refuses recipients at blocked.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@blocked.example"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), mail))
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ops", b"s3cret")
    if ok:
        return AuthResult(success=True)
    # without a message aiosmtpd answers nothing at all, and the client times out
    return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication failed")


def _start(mailbox: _Mailbox, port: int = 0, **kwargs: Any) -> Controller:
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port or free_port(), data_size_limit=200_000, **kwargs
    )
    controller.start()
    return controller


@pytest.fixture
def mailbox() -> Iterator[tuple[_Mailbox, int]]:
    box = _Mailbox()
    controller = _start(box, auth_require_tls=False, authenticator=_authenticate)
    yield box, controller.port
    controller.stop()


def _runner(port: int, **extra: str) -> TestRunner:
    props = {
        "SMTP Hostname": "127.0.0.1",
        "SMTP Port": str(port),
        "From": "hub@headwater.example",
        "To": "${owner}",
        "Subject": "sensor ${sensor_id}",
        "Message": "temperature ${temperature} C",
        "Batch Size": "500",
    }
    return TestRunner(PutEmail, {**props, **extra}, schedule=Schedule(penalty=0.1))


def test_ten_thousand_readings_arrive_in_the_mailbox(mailbox: tuple[_Mailbox, int]) -> None:
    """1,000 emails of 10 readings each, attached as JSON lines: the mailbox is read
    back and every reading counted."""
    box, port = mailbox
    emails, per_email = 1000, 10
    runner = _runner(port, **{"Attach File": "true"})
    for i in range(emails):
        lines = [
            json.dumps({"sensor_id": f"s{i * per_email + k}", "temperature": 21.5})
            for k in range(per_email)
        ]
        runner.enqueue(
            "\n".join(lines).encode(),
            owner=f"owner{i % 7}@site.example",
            sensor_id=f"batch{i}",
            temperature="21.5",
            filename=f"readings-{i}.json",
        )
    started = time.monotonic()
    runner.run(emails // 500)
    elapsed = time.monotonic() - started
    runner.assert_all_transferred(PutEmail.SUCCESS, count=emails)
    assert len(box.messages) == emails
    readings = [
        json.loads(line)["sensor_id"]
        for _, _, mail in box.messages
        for part in mail.walk()
        if part.get_filename()
        for line in part.get_payload(decode=True).decode().splitlines()
    ]
    assert sorted(readings) == sorted(f"s{i}" for i in range(emails * per_email))
    sender, rcpt, first = box.messages[0]
    assert (sender, rcpt) == ("hub@headwater.example", ["owner0@site.example"])
    assert first["Subject"] == "sensor batch0"
    assert first["X-Mailer"] == "NiFi"
    assert runner.provenance_types().count("SEND") == emails
    assert elapsed < 20


def test_login_cc_bcc_and_the_content_attached(mailbox: tuple[_Mailbox, int]) -> None:
    box, port = mailbox
    runner = _runner(
        port,
        **{
            "SMTP Username": "ops",
            "SMTP Password": "s3cret",
            "CC": "lead@site.example",
            "BCC": "audit@site.example",
            "Attach File": "true",
        },
    )
    runner.enqueue(b"day,max\n27,41.5\n", owner="a@site.example", filename="report.csv")
    runner.run()
    runner.assert_all_transferred(PutEmail.SUCCESS, count=1)
    (_, rcpt, mail) = box.messages[0]
    assert rcpt == ["a@site.example", "lead@site.example", "audit@site.example"]
    assert mail["CC"] == "lead@site.example" and mail["BCC"] is None
    (attachment,) = [p for p in mail.walk() if p.get_filename()]
    assert attachment.get_filename() == "report.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == b"day,max\n27,41.5\n"


def test_a_wrong_password_keeps_the_email_queued_with_a_bulletin(
    mailbox: tuple[_Mailbox, int],
) -> None:
    _, port = mailbox
    runner = _runner(port, **{"SMTP Username": "ops", "SMTP Password": "wrong"})
    runner.enqueue(b"", owner="a@site.example")
    runner.run()
    assert runner.queue_size() == 1
    assert "refused the login: (535" in runner.node.bulletins[-1].message


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, StandardSSLContextService, dict[str, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    props = {"Truststore Filename": str(tmp_path / "ca.pem"), "Truststore Type": "PEM"}
    return server, StandardSSLContextService(), props


@pytest.mark.parametrize("mode", ["SMTP STARTTLS", "SMTP SSL"])
def test_starttls_and_implicit_tls_with_the_ssl_context_service(tmp_path: Path, mode: str) -> None:
    box = _Mailbox()
    server_tls, service, tls_props = _tls(tmp_path)
    if mode == "SMTP SSL":
        # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS throughout
        controller = _start(
            box, ssl_context=server_tls, authenticator=_authenticate, auth_require_tls=False
        )
    else:
        controller = _start(
            box, tls_context=server_tls, require_starttls=True, authenticator=_authenticate
        )
    try:
        runner = _runner(
            controller.port,
            **{
                mode: "true",
                "SSL Context Service": "tls",
                "SMTP Username": "ops",
                "SMTP Password": "s3cret",
            },
        )
        runner.add_service("tls", service, tls_props)
        runner.enqueue(b"", owner="a@site.example", sensor_id="s1", temperature="30")
        runner.run()
        runner.assert_all_transferred(PutEmail.SUCCESS, count=1)
        assert box.messages[0][2]["Subject"] == "sensor s1"
    finally:
        controller.stop()


def test_bad_input_goes_to_failure_with_the_reason(mailbox: tuple[_Mailbox, int]) -> None:
    box, port = mailbox
    runner = _runner(port, **{"Attach File": "true"})
    runner.enqueue(b"", owner="")
    runner.enqueue(b"", owner="not an address")
    runner.enqueue(b"", owner="x@blocked.example")
    runner.enqueue(b"x" * 300_000, owner="a@site.example")
    runner.run()
    runner.assert_all_transferred(PutEmail.FAILURE, count=4)
    reasons = [f.attributes["error.message"] for f in runner.transferred("failure")]
    assert "no recipient" in reasons[0]
    assert reasons[1].startswith("not an email address") and "'not an address'" in reasons[1]
    assert "x@blocked.example (550 5.1.1 no such mailbox)" in reasons[2]
    assert reasons[3].startswith("SMTP server refused the email: 552")
    assert box.messages == []


def test_server_down_keeps_mail_queued_and_it_goes_when_the_server_returns() -> None:
    port = free_port()
    runner = _runner(port)
    for i in range(3):
        runner.enqueue(b"", owner="a@site.example", sensor_id=f"s{i}", temperature="1")
    runner.run(stop=False)
    assert runner.queue_size() == 3
    assert "cannot be reached" in runner.node.bulletins[-1].message
    box = _Mailbox()
    controller = _start(box, port=port)
    try:
        time.sleep(0.15)  # the penalty
        runner.run()
    finally:
        controller.stop()
    runner.assert_all_transferred(PutEmail.SUCCESS, count=3)
    assert [m["Subject"] for _, _, m in box.messages] == ["sensor s0", "sensor s1", "sensor s2"]
