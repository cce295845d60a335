"""Outgoing mail. The embedded default writes each message as a file under the data dir;
production sends through an SMTP server (stdlib ``smtplib``, run in a thread by callers).

Mailers are called by the outbox delivery (activities/notifications.py), which decides what
a failure means from the exception: ``MailRejected`` gives the message up at once,
``MailServerUnavailable`` postpones the whole batch, anything else retries that message.
``compose`` raises ``MailNotComposable`` for a message that can never be built (a header
with a line break, text that cannot be encoded): the delivery gives that one up at once.
"""

import hashlib
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Literal, Protocol

from integrations.private_files import private_directory, write_private


class Mailer(Protocol):
    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        """Hand the message over (blocking). ``dedupe_key`` names the outbox row it came
        from: the file backend writes one file per key, so a repeat overwrites."""


class MailRejected(Exception):
    """The server refused this message for good (5xx for its recipient or content)."""


class MailServerUnavailable(Exception):
    """The server could not be reached or would not take mail from us at all."""


class MailNotComposable(Exception):
    """The stored mail cannot be made into a message, now or ever: retrying is pointless."""


class FileMailer:
    """Writes ``<dedupe_key>.eml`` files, so a retried send overwrites rather than repeats."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        private_directory(self.directory)  # messages hold reset links and personal data
        safe_key = "".join(c if c.isalnum() or c in "-_." else "_" for c in dedupe_key)
        write_private(self.directory / f"{safe_key}.eml", bytes(message))


class SmtpMailer:
    """One SMTP session per message: plain, STARTTLS or implicit TLS, optional login."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Literal["none", "starttls", "ssl"] = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout

    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise MailRejected(f"recipients refused: {error.recipients}") from error
            raise
        except smtplib.SMTPDataError as error:
            if error.smtp_code >= 500:
                raise MailRejected(
                    f"message refused: {error.smtp_code} {error.smtp_error!r}"
                ) from error
            raise
        except OSError as error:
            # Every other SMTPException is an OSError too: connection, TLS, login, sender.
            raise MailServerUnavailable(f"{type(error).__name__}: {error}") from error

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def message_id_for(dedupe_key: str, sender: str) -> str:
    """The same Message-ID for every delivery of one outbox row: delivery is at least once
    (a crash between sending and recording it sends again), and receivers can drop the
    repeat by this header."""
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The message, rendered once here so that whatever cannot be built fails now, as
    ``MailNotComposable``, and not halfway through a send."""
    try:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        if message_id is not None:
            message["Message-ID"] = message_id
        if date is not None:
            message["Date"] = format_datetime(date)
        message.set_content(body)
        message.as_bytes()
    except (ValueError, TypeError, LookupError) as error:
        # email's header and encoding errors (HeaderParseError, UnicodeError) are ValueErrors
        raise MailNotComposable(f"{type(error).__name__}: {error}") from error
    return message
