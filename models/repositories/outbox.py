"""The mail outbox: written in the transaction of what it tells about, sent by the worker."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.platform import NotificationOutbox


async def enqueue(
    session: AsyncSession, *, key: str, kind: str, to: str, subject: str, body: str
) -> None:
    """Queue a mail once per ``key``: a retried step queues nothing new."""
    await session.execute(
        insert(NotificationOutbox)
        .values(dedupe_key=key[:200], kind=kind, to_email=to, subject=subject[:300], body=body)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
