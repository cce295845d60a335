"""Mail delivery from the outbox (spec §4.2 NotificationService).

Every notification is a ``notification_outbox`` row, queued in a database transaction with
``models.repositories.outbox.enqueue`` (one row per dedupe key). Delivery claims due rows
(``SKIP LOCKED``, then leased), sends each through the configured mailer and marks it
sent; a failed send is counted and retried with exponential backoff, and after
``Backoff.max_attempts`` the row is given up as ``failed``. Nothing queued is lost. A row
that cannot be made into a message (``MailNotComposable``) or that the server refuses for
good is ``failed`` at once with the reason in ``last_error``; the rest of its batch goes on.

Delivery is at least once: a crash between the send and marking the row sends the mail
again once its lease runs out. Every delivery of a row carries the same Message-ID
(derived from the dedupe key), so receivers can drop the repeat.

Who delivers: the ``notification-delivery`` schedule (workflows/notifications.py) every
minute, and, for mails queued with ``queue_mail``, the queueing activity right away.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from integrations.mail import (
    Mailer,
    MailNotComposable,
    MailRejected,
    MailServerUnavailable,
    compose,
    message_id_for,
)
from models.platform import NotificationOutbox
from models.repositories import outbox

log = activity.logger
"""Temporal's activity logger: the workflow, run and attempt go on every line."""


@dataclass(frozen=True)
class Backoff:
    """When to try a failed mail again: ``first``, doubling each time, at most ``cap``."""

    first: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=4)
    max_attempts: int = 10

    def retry_after(self, attempts: int) -> timedelta | None:
        """The wait after the ``attempts``-th failed try; None once it is the last one."""
        if attempts >= self.max_attempts:
            return None
        return min(self.first * (1 << min(max(attempts - 1, 0), 32)), self.cap)


class DeliveryReport(BaseModel):
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass
class NotificationActivities:
    sessions: async_sessionmaker[AsyncSession]
    mailer: Mailer
    mail_from: str
    backoff: Backoff = Backoff()
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=10)
    """Longer than a batch can take to send, so no other deliverer claims it meanwhile."""
    time_budget: timedelta = timedelta(minutes=3)
    """One run stops claiming after this; the next scheduled run goes on."""

    @activity.defn(name="notifications.deliver_due")
    async def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Send every due mail, a batch at a time. ``now`` stands in for the database's
        clock (tests)."""
        report = DeliveryReport()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.time_budget.total_seconds()
        while loop.time() < deadline:
            batch = await self._claim(now)
            if not batch:
                break
            await self._send(batch, report, now)
        if report != DeliveryReport():
            log.info("outbox delivery: %s", report)
        return report

    async def queue(self, *, key: str, kind: str, to: str, subject: str, body: str) -> None:
        """Queue a mail and claim it in one transaction, then send it at once."""
        async with self.sessions.begin() as session:
            stored = await outbox.enqueue(
                session, key=key, kind=kind, to=to, subject=subject, body=body
            )
            claimed = await outbox.claim_due(session, limit=1, lease=self.lease, keys=[stored])
        if claimed:
            await self._send(claimed, DeliveryReport(), None)

    async def _claim(self, now: datetime | None) -> list[NotificationOutbox]:
        async with self.sessions.begin() as session:
            return await outbox.claim_due(session, limit=self.batch_size, lease=self.lease, now=now)

    async def _send(
        self, batch: list[NotificationOutbox], report: DeliveryReport, now: datetime | None
    ) -> None:
        for position, row in enumerate(batch):
            try:
                # A mail that cannot be built fails alone: raising here would abort the
                # batch, and every later run would claim the same row and abort again.
                message = compose(
                    sender=self.mail_from,
                    to=row.to_email,
                    subject=row.subject,
                    body=row.body,
                    message_id=message_id_for(row.dedupe_key, self.mail_from),
                    date=row.created_at,
                )
                await asyncio.to_thread(self.mailer.send, message, dedupe_key=row.dedupe_key)
            except (MailNotComposable, MailRejected) as error:
                await self._failed(row, error, report, now, give_up=True)
            except MailServerUnavailable as error:
                # No point trying the rest of the batch now: all of it waits its backoff.
                for waiting in batch[position:]:
                    await self._failed(waiting, error, report, now)
                return
            except Exception as error:
                await self._failed(row, error, report, now)
            else:
                async with self.sessions.begin() as session:
                    await outbox.mark_sent(session, row.id, now=now)
                report.sent += 1
            if activity.in_activity():
                activity.heartbeat(row.id)

    async def _failed(
        self,
        row: NotificationOutbox,
        error: Exception,
        report: DeliveryReport,
        now: datetime | None,
        *,
        give_up: bool = False,
    ) -> None:
        attempts = row.attempts + 1
        retry_after = None if give_up else self.backoff.retry_after(attempts)
        async with self.sessions.begin() as session:
            await outbox.mark_failed(
                session,
                row.id,
                error=f"{type(error).__name__}: {error}",
                retry_after=retry_after,
                now=now,
            )
        if retry_after is None:
            report.failed += 1
            log.error("mail %s given up after %d attempts: %s", row.dedupe_key, attempts, error)
        else:
            report.retrying += 1
            log.warning("mail %s failed (attempt %d): %s", row.dedupe_key, attempts, error)


async def queue_mail(
    sessions: async_sessionmaker[AsyncSession],
    mailer: Mailer,
    mail_from: str,
    *,
    key: str,
    kind: str,
    to: str,
    subject: str,
    body: str,
) -> None:
    """Queue a mail in the outbox, then try to deliver it at once; if that fails the row
    stays pending and the delivery schedule retries it. Safe to repeat: one row per key,
    and a row already sent or being sent is left alone."""
    await NotificationActivities(sessions, mailer, mail_from).queue(
        key=key, kind=kind, to=to, subject=subject, body=body
    )
