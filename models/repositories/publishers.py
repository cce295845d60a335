"""Queries on publisher accounts."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.publisher import Publisher
from models.repositories.errors import unique_violations

PUBLISHER_UNIQUES = {
    "uq_marketplace_publishers_user_id": (
        "already_publisher",
        "this account already has a publisher profile",
    ),
    "ix_marketplace_publishers_slug": ("slug_taken", "this publisher slug is taken"),
}


async def get_publisher_of_user(session: AsyncSession, user_id: int) -> Publisher | None:
    result = await session.execute(select(Publisher).where(Publisher.user_id == user_id))
    return result.scalar_one_or_none()


async def create_publisher(session: AsyncSession, publisher: Publisher) -> Publisher:
    async with unique_violations(session, PUBLISHER_UNIQUES):
        session.add(publisher)
    return publisher


async def save_publisher(session: AsyncSession, publisher: Publisher) -> Publisher:
    async with unique_violations(session, PUBLISHER_UNIQUES):
        pass
    return publisher


async def get_publisher(session: AsyncSession, publisher_id: int) -> Publisher | None:
    return await session.get(Publisher, publisher_id)
