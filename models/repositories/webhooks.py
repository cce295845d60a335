"""Webhook events already applied, so a replayed delivery changes nothing."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.commerce import ProcessedWebhookEvent


async def seen(session: AsyncSession, provider: str, event_id: str) -> bool:
    rows = await session.execute(
        select(ProcessedWebhookEvent.id).where(
            ProcessedWebhookEvent.provider == provider,
            ProcessedWebhookEvent.event_id == event_id,
        )
    )
    return rows.first() is not None


async def remember(
    session: AsyncSession, provider: str, event_id: str, event_type: str, at: datetime
) -> None:
    await session.execute(
        insert(ProcessedWebhookEvent)
        .values(provider=provider, event_id=event_id, event_type=event_type, processed_at=at)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
    )
