"""Queries on module listings, including the review queue."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from domain.modules import ModuleStatus
from models.module import MarketplaceCategory, MarketplaceModule
from models.publisher import Publisher
from models.repositories.errors import unique_violations
from models.user import User

MODULE_UNIQUES = {
    "ix_marketplace_modules_slug": ("slug_taken", "this module slug is taken"),
    "ix_marketplace_modules_technical_name": (
        "technical_name_taken",
        "this technical name is taken",
    ),
}


async def save_module(session: AsyncSession, module: MarketplaceModule) -> MarketplaceModule:
    async with unique_violations(session, MODULE_UNIQUES):
        session.add(module)
    return module


async def get_module(session: AsyncSession, module_id: int) -> MarketplaceModule | None:
    return await session.get(MarketplaceModule, module_id)


async def get_module_for_update(session: AsyncSession, module_id: int) -> MarketplaceModule | None:
    """Lock the row, so concurrent submit, archive and decisions see one another."""
    result = await session.execute(
        select(MarketplaceModule)
        .where(MarketplaceModule.id == module_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def list_publisher_modules(
    session: AsyncSession,
    publisher_id: int,
    *,
    status: ModuleStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[MarketplaceModule], int]:
    where = [MarketplaceModule.publisher_id == publisher_id]
    if status is not None:
        where.append(MarketplaceModule.status == status)
    total = (
        await session.execute(select(func.count()).select_from(MarketplaceModule).where(*where))
    ).scalar_one()
    rows = await session.execute(
        select(MarketplaceModule)
        .where(*where)
        .order_by(MarketplaceModule.created_at.desc(), MarketplaceModule.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


async def pending_queue(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[MarketplaceModule], int]:
    """Modules waiting for review, the longest waiting first."""
    where = MarketplaceModule.status == ModuleStatus.PENDING
    total = (
        await session.execute(select(func.count()).select_from(MarketplaceModule).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(MarketplaceModule)
        .options(joinedload(MarketplaceModule.publisher))
        .where(where)
        .order_by(MarketplaceModule.submitted_at.asc(), MarketplaceModule.id.asc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


async def apply_review_decision(
    session: AsyncSession,
    *,
    module_id: int,
    status: ModuleStatus,
    reason: str | None,
    decided_by: int,
    decided_at: datetime,
) -> MarketplaceModule | None:
    """Record a decision if the module still waits for one; None when it no longer does.

    Conditional on the pending status, so a retried activity changes nothing twice and a
    module archived meanwhile stays archived.
    """
    result = await session.execute(
        update(MarketplaceModule)
        .where(MarketplaceModule.id == module_id, MarketplaceModule.status == ModuleStatus.PENDING)
        .values(
            status=status,
            rejection_reason=reason,
            reviewed_by=decided_by,
            reviewed_at=decided_at,
            updated_by=decided_by,
        )
        .returning(MarketplaceModule.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return await session.get(MarketplaceModule, module_id, populate_existing=True)


async def module_with_owner_email(
    session: AsyncSession, module_id: int
) -> tuple[MarketplaceModule, str] | None:
    row = (
        await session.execute(
            select(MarketplaceModule, User.email)
            .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
            .join(User, User.id == Publisher.user_id)
            .where(MarketplaceModule.id == module_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def owner_user_id(session: AsyncSession, module_id: int) -> int | None:
    """The id of the user whose publisher profile owns the module."""
    return await session.scalar(
        select(Publisher.user_id)
        .join(MarketplaceModule, MarketplaceModule.publisher_id == Publisher.id)
        .where(MarketplaceModule.id == module_id)
    )


async def module_for_index(
    session: AsyncSession, module_id: int
) -> tuple[MarketplaceModule, str, str | None] | None:
    """A module with its publisher's and category's slugs, as the search index needs."""
    row = (
        await session.execute(
            select(MarketplaceModule, Publisher.slug, MarketplaceCategory.slug)
            .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
            .outerjoin(MarketplaceCategory, MarketplaceCategory.id == MarketplaceModule.category_id)
            .where(MarketplaceModule.id == module_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])
