"""Sending plain-text e-mail through the clinic's SMTP server (standard library only).

Why so small: the only mail acuhead sends is a few fixed lines with a link (a reminder, or an
account's invitation link), so there is no template engine, no HTML part and no attachment.
A batch goes over one connection; a message the server refuses is counted and reported to the
caller by its position, never logged with its address, so the caller can give the reminder
back for the next run (or tell the admin the invitation was not sent).

Configuration (``config.Settings``): ``smtp_host`` (empty: mail is off), ``smtp_port``,
``smtp_user`` / ``smtp_password`` (login only when a user is set), ``smtp_starttls`` and
``mail_from``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

from acuhead.config import Settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class SendResult:
    sent: int
    failed: tuple[int, ...]  # positions in the batch that were not accepted


class Mailer(Protocol):
    def send(self, messages: Sequence[Mail]) -> SendResult: ...


class SmtpMailer:
    """Delivers a batch over one SMTP connection (STARTTLS and login when configured)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        user: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.user = user
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def _message(self, mail: Mail) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        msg["Message-ID"] = make_msgid(domain=domain)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a reminder
        msg.set_content(mail.body)
        return msg

    def send(self, messages: Sequence[Mail]) -> SendResult:
        """Hand every message to the server; those it refuses, or that a dropped connection
        never reached, come back as ``failed``. A message the server accepted is sent."""
        if not messages:
            return SendResult(0, ())
        failed: list[int] = []
        position = 0  # the next message to hand over
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                for position, mail in enumerate(messages):
                    try:
                        smtp.send_message(self._message(mail))
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                        log.warning("mail refused by the server: %s", type(exc).__name__)
                        failed.append(position)
                position = len(messages)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("SMTP delivery stopped: %s", type(exc).__name__)
            failed.extend(range(position, len(messages)))
            failed = sorted(set(failed))
        return SendResult(len(messages) - len(failed), tuple(failed))


def mailer_from_settings(settings: Settings) -> SmtpMailer | None:
    """The configured mailer, or None when ``smtp_host`` is empty (reminders off)."""
    if not settings.smtp_host.strip():
        return None
    return SmtpMailer(
        settings.smtp_host.strip(),
        settings.smtp_port,
        sender=settings.mail_from,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value(),
        starttls=settings.smtp_starttls,
    )
