"""``Reporter``: the email CDSW sends when a run ends: status, duration, the log's tail
and the files the job names as attachments, to the job's recipients over SMTP.

Sending happens on its own thread, so a slow or absent mail server never holds a
run's end; a failure to send is logged with the server and the reason, and the run's
record is not touched by it.
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import threading
from email.message import EmailMessage
from pathlib import Path

from headwater.jobs.config import SmtpSettings
from headwater.jobs.runner import log_tail
from headwater.jobs.store import JobRow, ProjectRow, RunRow, UserRow

log = logging.getLogger(__name__)
MAX_ATTACHMENT = 10 * 1024 * 1024


def compose(
    job: JobRow, project: ProjectRow, run: RunRow, sender: str, creator: UserRow | None
) -> EmailMessage:
    """The report of one run, ready to send."""
    spec = job.spec
    message = EmailMessage()
    message["Subject"] = f"[{project.owner}/{project.slug}] {spec.name}: run {run.id} {run.status}"
    message["From"] = (
        creator.email if spec.send_from_creator and creator and creator.email else sender
    )
    message["To"] = ", ".join(spec.recipients)
    duration = run.duration
    lines = [
        f"Job: {spec.name} ({spec.script}, {spec.kernel})",
        f"Project: {project.owner}/{project.slug}",
        f"Run: {run.id}",
        f"Status: {run.status}",
        f"Duration: {'unknown' if duration is None else f'{duration:.1f} s'}",
        f"Exit code: {'none' if run.exit_code is None else run.exit_code}",
    ]
    if run.reason:
        lines.append(f"Reason: {run.reason}")
    if run.oom_killed:
        lines.append("Out of memory: yes (oomKilled)")
    if spec.include_logs:
        lines += ["", "Log (last lines):", log_tail(run)]
    message.set_content("\n".join(lines))
    for name in spec.attachments:
        path = Path(project.directory) / name
        if not path.is_file() or path.stat().st_size > MAX_ATTACHMENT:
            continue
        kind, _ = mimetypes.guess_type(path.name)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


class Reporter:
    """Sends run reports through one SMTP server."""

    def __init__(self, smtp: SmtpSettings, timeout: float = 10.0) -> None:
        self.smtp = smtp
        self.timeout = timeout
        self._threads: list[threading.Thread] = []

    def report(
        self, job: JobRow, project: ProjectRow, run: RunRow, creator: UserRow | None
    ) -> None:
        """Send the report on a thread (nothing when the job has no recipients)."""
        if not job.spec.recipients:
            return
        message = compose(job, project, run, self.smtp.sender, creator)
        thread = threading.Thread(target=self.send, args=(message,), daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def send(self, message: EmailMessage) -> bool:
        settings = self.smtp
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=self.timeout) as client:
                if settings.starttls:
                    client.starttls()
                if settings.username:
                    client.login(settings.username, settings.password)
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning(
                "cannot send the report %r to %s via %s:%s: %s",
                message["Subject"],
                message["To"],
                settings.host,
                settings.port,
                exc,
            )
            return False
        return True

    def flush(self, timeout: float = 10.0) -> None:
        """Wait for the reports being sent (at shutdown)."""
        for thread in self._threads:
            thread.join(timeout)
