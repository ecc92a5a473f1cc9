"""PutEmail: one email per FlowFile over SMTP, with STARTTLS or TLS, login, and the
content attached as a file.

A trigger sends its batch over one SMTP connection. A server that cannot be reached,
or that answers 4xx (busy, try later), leaves the FlowFiles in their queue, penalized,
with a warning bulletin: mail waits out an outage instead of being lost. A permanent
refusal (5xx: a recipient the server rejects, a message over its size limit) or a
message that cannot be built (no recipient, a bad address) goes to ``failure`` with
the reason in ``error.message``.
"""

from __future__ import annotations

import email.utils
import mimetypes
import re
import smtplib
import ssl
import time
from email.message import EmailMessage

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship, flag
from headwater.processors.failure import route_to_failure
from headwater.services.ssl import StandardSSLContextService
from headwater.units import parse_bool, parse_duration, parse_positive_int

_BOOLEAN = ("true", "false")


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"expected a port number from 1 to 65535, got {text!r}")
    return int(text)


def _addresses(text: str) -> list[str]:
    """The addresses in a comma-separated list; ValueError naming any that is not one."""
    found = []
    for name, address in email.utils.getaddresses([text]):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ValueError(f"not an email address: {(name or address)!r} in {text!r}")
        found.append(address)
    return found


class _Unreachable(Exception):
    """The server is away or said try later: the FlowFiles wait in their queue."""


class PutEmail(Processor):
    """Sends an email for each FlowFile to the To, CC and BCC recipients, with the
    Message (Expression Language) as the body and, optionally, the content attached.

    SMTP STARTTLS upgrades a plain connection (port 587); SMTP SSL speaks TLS from the
    start (port 465). The SSL Context Service supplies the trust for either.
    """

    tags = ("email", "put", "notify", "smtp")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose email the server accepted.")
    FAILURE = Relationship(
        "failure", "FlowFiles whose email could not be built or was refused (error.message)."
    )

    host = Property("SMTP Hostname", "The SMTP server's host", required=True, expression=True)
    port = Property("SMTP Port", "The SMTP server's port", default="25", required=True, parse=_port)
    username = Property("SMTP Username", "User name to log in with", expression=True)
    password = Property("SMTP Password", "Password to log in with", sensitive=True, expression=True)
    auth = flag("SMTP Auth", "Log in when a user name is given", default="true", required=True)
    starttls = flag(
        "SMTP TLS",
        "Upgrade the connection with STARTTLS before logging in",
        default="false",
        required=True,
        display_name="SMTP STARTTLS",
    )
    implicit_tls = flag(
        "SMTP SSL", "Speak TLS from the start (SMTPS, port 465)", default="false", required=True
    )
    ssl_context = Property[StandardSSLContextService](
        "SSL Context Service",
        "Trust for STARTTLS and SMTP SSL; the system's trust store when unset",
        service=StandardSSLContextService,
    )
    mailer = Property(
        "SMTP X-Mailer Header", "The X-Mailer header", default="NiFi", expression=True
    )
    content_type = Property(
        "Content Type",
        "MIME type of the body",
        default="text/plain",
        required=True,
        expression=True,
    )
    sender = Property("From", "The sender's address", required=True, expression=True)
    to = Property("To", "Recipients, comma-separated", expression=True)
    cc = Property("CC", "Copied recipients, comma-separated", expression=True)
    bcc = Property("BCC", "Hidden recipients, comma-separated", expression=True)
    subject = Property(
        "Subject", "The subject", default="Message from NiFi", required=True, expression=True
    )
    message = Property("Message", "The body of the email", expression=True)
    attach = flag("Attach File", "Attach the content as a file", default="false", required=True)
    include_attributes = Property(
        "Include All Attributes In Message",
        "Append every attribute to the body",
        default="false",
        required=True,
        allowed=_BOOLEAN,
        parse=parse_bool,
    )
    charset = Property(
        "Input Character Set", "Encoding of the body", default="UTF-8", required=True
    )
    timeout = Property(
        "Connection Timeout",
        "How long to wait for the server",
        default="30 sec",
        required=True,
        parse=parse_duration,
    )
    batch_size = Property(
        "Batch Size",
        "Emails sent over one connection per trigger",
        default="100",
        parse=parse_positive_int,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(context[self.batch_size])
        if not batch:
            return
        host = context.evaluate(self.host, batch[0])
        try:
            smtp = self._connect(context, host, batch[0])
        except (OSError, smtplib.SMTPException) as exc:
            if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
                why = f"SMTP server {host} refused the login: {exc}"  # settings, not data
            else:
                why = f"SMTP server {host} cannot be reached: {exc}"
            self._wait(context, session, batch, why)
            return
        transit = f"smtp://{host}:{context[self.port]}"
        try:
            for index, ff in enumerate(batch):
                try:
                    self._send(context, session, smtp, ff, transit)
                except _Unreachable as exc:
                    self._wait(context, session, batch[index:], str(exc))
                    return
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _wait(
        self, context: ProcessContext, session: ProcessSession, batch: list[FlowFile], why: str
    ) -> None:
        context.logger.warning("%s; %d email(s) stay queued and are tried again", why, len(batch))
        session.transfer_all([session.penalize(ff) for ff in batch])
        context.yield_()

    def _connect(self, context: ProcessContext, host: str, ff: FlowFile) -> smtplib.SMTP:
        tls = context.get(self.ssl_context)
        tls_context = (
            tls.create_client_context() if tls is not None else ssl.create_default_context()
        )
        port, timeout = context[self.port], context[self.timeout]
        smtp: smtplib.SMTP
        if context[self.implicit_tls]:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if context[self.starttls] and not context[self.implicit_tls]:
                smtp.starttls(context=tls_context)
            user = context.evaluate(self.username, ff) if context.is_set(self.username) else ""
            if context[self.auth] and user:
                password = (
                    context.evaluate(self.password, ff) if context.is_set(self.password) else ""
                )
                smtp.login(user, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _send(
        self,
        context: ProcessContext,
        session: ProcessSession,
        smtp: smtplib.SMTP,
        ff: FlowFile,
        transit: str,
    ) -> None:
        started = time.monotonic()
        try:
            mail, recipients = self._build(context, session, ff)
        except (ValueError, LookupError) as exc:
            route_to_failure(context, session, ff, self.FAILURE, exc)
            return
        try:
            smtp.send_message(mail, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(
                f"{a} ({c} {m.decode(errors='replace')})" for a, (c, m) in exc.recipients.items()
            )
            if all(400 <= c < 500 for c, _ in exc.recipients.values()):
                raise _Unreachable(f"SMTP server deferred {refused}") from exc
            route_to_failure(context, session, ff, self.FAILURE, f"recipients refused: {refused}")
            return
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            if 400 <= exc.smtp_code < 500:
                raise _Unreachable(
                    f"SMTP server deferred the email: {exc.smtp_code} {text}"
                ) from exc
            route_to_failure(
                context,
                session,
                ff,
                self.FAILURE,
                f"SMTP server refused the email: {exc.smtp_code} {text}",
            )
            return
        except (OSError, smtplib.SMTPException) as exc:
            raise _Unreachable(f"SMTP connection lost: {exc}") from exc
        millis = int((time.monotonic() - started) * 1000)
        session.provenance.send(ff, transit, details=", ".join(recipients), millis=millis)
        session.transfer(ff, self.SUCCESS)

    def _build(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[EmailMessage, list[str]]:
        """The email for ``ff`` and every recipient (BCC ones appear in no header)."""

        def text(prop: Property[str]) -> str:
            return context.evaluate(prop, ff).strip() if context.is_set(prop) else ""

        mail = EmailMessage()
        sender = text(self.sender)
        _addresses(sender)
        mail["From"] = sender
        recipients: list[str] = []
        for prop, header in ((self.to, "To"), (self.cc, "CC"), (self.bcc, None)):
            value = text(prop)
            if value:
                recipients += _addresses(value)
                if header:
                    mail[header] = value
        if not recipients:
            raise ValueError("no recipient: To, CC and BCC are all empty for this FlowFile")
        mail["Subject"] = text(self.subject)
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["X-Mailer"] = text(self.mailer)
        body = text(self.message)
        if context[self.include_attributes]:
            body += "\n\n" + "\n".join(f"{k}: {v}" for k, v in sorted(ff.attributes.items()))
        maintype, _, subtype = text(self.content_type).partition("/")
        charset = context[self.charset]
        "".encode(charset)  # LookupError for an unknown charset
        mail.set_content(body, subtype=subtype or "plain", charset=charset)
        if maintype and maintype != "text":
            raise ValueError(f"Content Type must be text/..., got {text(self.content_type)!r}")
        if context[self.attach]:
            name = ff.attributes.get("filename", ff.uuid)
            guessed = ff.attributes.get("mime.type") or mimetypes.guess_type(name)[0]
            main, _, sub = (guessed or "application/octet-stream").partition("/")
            mail.add_attachment(session.read(ff), maintype=main, subtype=sub, filename=name)
        return mail, recipients
