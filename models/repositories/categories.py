"""Queries on the category tree."""

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.module import MarketplaceCategory, MarketplaceModule
from models.repositories.errors import unique_violations

CATEGORY_UNIQUES = {"ix_marketplace_categories_slug": ("slug_taken", "this category slug is taken")}


async def list_categories(session: AsyncSession, *, active_only: bool) -> list[MarketplaceCategory]:
    query = select(MarketplaceCategory).order_by(
        MarketplaceCategory.order, MarketplaceCategory.name
    )
    if active_only:
        query = query.where(MarketplaceCategory.is_active)
    return list((await session.execute(query)).scalars())


async def get_category(session: AsyncSession, category_id: int) -> MarketplaceCategory | None:
    return await session.get(MarketplaceCategory, category_id)


async def ancestor_ids(session: AsyncSession, category_id: int) -> list[int]:
    """Ids from the category up to its root, to refuse a parent that would make a cycle."""
    chain: list[int] = []
    current: int | None = category_id
    while current is not None and current not in chain:
        chain.append(current)
        current = (
            await session.execute(
                select(MarketplaceCategory.parent_id).where(MarketplaceCategory.id == current)
            )
        ).scalar_one_or_none()
    return chain


async def save_category(session: AsyncSession, category: MarketplaceCategory) -> None:
    async with unique_violations(session, CATEGORY_UNIQUES):
        session.add(category)


async def category_in_use(session: AsyncSession, category_id: int) -> bool:
    child = exists().where(MarketplaceCategory.parent_id == category_id)
    module = exists().where(MarketplaceModule.category_id == category_id)
    return bool((await session.execute(select(child | module))).scalar())


async def delete_category(session: AsyncSession, category: MarketplaceCategory) -> None:
    await session.delete(category)
    await session.flush()
