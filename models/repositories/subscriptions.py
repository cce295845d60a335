"""Queries on subscriptions: the billing state of subscription and trial licenses."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.checkout import SubscriptionStatus
from models.commerce import License, Subscription


async def open(session: AsyncSession, subscription: Subscription) -> None:
    """One subscription per license, even when the step runs twice."""
    values = {
        column.key: getattr(subscription, column.key)
        for column in Subscription.__table__.columns
        if getattr(subscription, column.key, None) is not None
    }
    await session.execute(
        insert(Subscription).values(**values).on_conflict_do_nothing(index_elements=["license_id"])
    )


async def of_license(
    session: AsyncSession, license_id: int, *, lock: bool = False
) -> Subscription | None:
    query = select(Subscription).where(Subscription.license_id == license_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def with_license(
    session: AsyncSession, license_id: int, *, lock: bool = False
) -> tuple[Subscription, License] | None:
    query = (
        select(Subscription, License)
        .join(License, License.id == Subscription.license_id)
        .where(Subscription.license_id == license_id)
    )
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def end_for_licenses(
    session: AsyncSession, license_ids: list[int], status: SubscriptionStatus, at: datetime
) -> None:
    if not license_ids:
        return
    await session.execute(
        update(Subscription)
        .where(
            Subscription.license_id.in_(license_ids),
            Subscription.status.in_([s.value for s in SubscriptionStatus if s.is_live]),
        )
        .values(status=status.value, ended_at=at, cancel_at_period_end=False)
    )
