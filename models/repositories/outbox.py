"""The mail outbox: written in the transaction of what it tells about, sent by the worker.

Delivery claims due rows with ``FOR UPDATE SKIP LOCKED`` and leases them by moving
``next_attempt_at`` past the send, so two deliverers never hold one row at once and the
lock is released before any mail server is contacted.
"""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, DateTime, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts import SECRET_MAIL_KINDS
from models.platform import NotificationOutbox

KEY_LENGTH = 200
ERROR_LENGTH = 2000
REDACTED = "(redacted once delivered: it carried a single-use code)"


def _body_after_delivery() -> ColumnElement[str]:
    """The body a row keeps once it is sent or given up: a mail carrying a live token
    (``SECRET_MAIL_KINDS``) keeps none of it."""
    return case(
        (NotificationOutbox.kind.in_(sorted(SECRET_MAIL_KINDS)), literal(REDACTED)),
        else_=NotificationOutbox.body,
    )


async def enqueue(
    session: AsyncSession, *, key: str, kind: str, to: str, subject: str, body: str
) -> str:
    """Queue a mail once per ``key``: a retried step queues nothing new. The stored key."""
    key = key[:KEY_LENGTH]
    await session.execute(
        insert(NotificationOutbox)
        .values(dedupe_key=key, kind=kind, to_email=to, subject=subject[:300], body=body)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return key


def _clock(now: datetime | None) -> ColumnElement[datetime]:
    """The database's clock unless a caller (a test) brings its own: rows are stamped with
    ``now()`` when queued, so the app's clock must not decide whether they are due."""
    return func.now() if now is None else literal(now, DateTime(timezone=True))


async def claim_due(
    session: AsyncSession,
    *,
    limit: int,
    lease: timedelta,
    keys: list[str] | None = None,
    now: datetime | None = None,
) -> list[NotificationOutbox]:
    """Take up to ``limit`` pending rows that are due (only ``keys``, when given), oldest
    first, skipping rows another transaction holds; they are not due again for ``lease``."""
    clock = _clock(now)
    due = (
        select(NotificationOutbox.id)
        .where(NotificationOutbox.status == "pending", NotificationOutbox.next_attempt_at <= clock)
        .order_by(NotificationOutbox.next_attempt_at, NotificationOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if keys is not None:
        due = due.where(NotificationOutbox.dedupe_key.in_([k[:KEY_LENGTH] for k in keys]))
    rows = await session.scalars(
        update(NotificationOutbox)
        .where(NotificationOutbox.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=clock + lease)
        .returning(NotificationOutbox),
        execution_options={"synchronize_session": False},
    )
    return sorted(rows.all(), key=lambda row: row.id)


async def mark_sent(session: AsyncSession, row_id: int, *, now: datetime | None = None) -> None:
    clock = _clock(now)
    await session.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.id == row_id, NotificationOutbox.status == "pending")
        .values(
            status="sent",
            attempts=NotificationOutbox.attempts + 1,
            sent_at=clock,
            next_attempt_at=clock,
            body=_body_after_delivery(),
        )
    )


async def mark_failed(
    session: AsyncSession,
    row_id: int,
    *,
    error: str,
    retry_after: timedelta | None,
    now: datetime | None = None,
) -> None:
    """Count a failed attempt: due again after ``retry_after``, or given up (``failed``)
    when that is None."""
    clock = _clock(now)
    values = {
        "attempts": NotificationOutbox.attempts + 1,
        "last_error": error[:ERROR_LENGTH],
    }
    if retry_after is None:
        values |= {"status": "failed", "next_attempt_at": clock, "body": _body_after_delivery()}
    else:
        values["next_attempt_at"] = clock + retry_after
    await session.execute(
        update(NotificationOutbox)
        .where(NotificationOutbox.id == row_id, NotificationOutbox.status == "pending")
        .values(**values)
    )
