"""Queries on the category tree."""

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.modules import ModuleStatus, Visibility
from models.module import MarketplaceCategory, MarketplaceModule
from models.repositories.errors import unique_violations

CATEGORY_UNIQUES = {"ix_marketplace_categories_slug": ("slug_taken", "this category slug is taken")}


async def list_categories(
    session: AsyncSession, *, active_only: bool
) -> list[tuple[MarketplaceCategory, int]]:
    """Categories in display order (``order``, then name whatever its case), each with the
    number of published public modules filed directly under it."""
    listed = (
        select(MarketplaceModule.category_id, func.count().label("modules"))
        .where(
            MarketplaceModule.status == ModuleStatus.PUBLISHED,
            MarketplaceModule.visibility == Visibility.PUBLIC,
        )
        .group_by(MarketplaceModule.category_id)
        .subquery()
    )
    query = (
        select(MarketplaceCategory, func.coalesce(listed.c.modules, 0))
        .outerjoin(listed, listed.c.category_id == MarketplaceCategory.id)
        .order_by(
            MarketplaceCategory.order,
            func.lower(MarketplaceCategory.name),
            MarketplaceCategory.name,
            MarketplaceCategory.id,
        )
    )
    if active_only:
        query = query.where(MarketplaceCategory.is_active)
    return [(category, count) for category, count in (await session.execute(query)).all()]


async def get_category(session: AsyncSession, category_id: int) -> MarketplaceCategory | None:
    return await session.get(MarketplaceCategory, category_id)


async def by_slug(session: AsyncSession, slug: str) -> MarketplaceCategory | None:
    rows = await session.execute(
        select(MarketplaceCategory).where(MarketplaceCategory.slug == slug)
    )
    return rows.scalar_one_or_none()


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
