"""Outgoing mail. The embedded default writes each message as a file under the data dir."""

from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


class Mailer(Protocol):
    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        """Send once per ``dedupe_key``: a retry with the same key sends nothing new."""


class FileMailer:
    """Writes ``<dedupe_key>.eml`` files, so a retried send overwrites rather than repeats."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage, *, dedupe_key: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        safe_key = "".join(c if c.isalnum() or c in "-_." else "_" for c in dedupe_key)
        target = self.directory / f"{safe_key}.eml"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(bytes(message))
        temporary.replace(target)


def compose(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message
