"""Queries on publisher accounts."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, UnaryExpression, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.commerce import EarningEntry
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.repositories.errors import unique_violations
from models.user import User

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


# --- the admin console -----------------------------------------------------------------


@dataclass(frozen=True)
class AdminFilters:
    status: str | None = None
    verified: bool | None = None
    verification_requested: bool | None = None
    """True: asked and not yet verified; False: never asked."""
    q: str | None = None
    """Part of the display name, company name, slug or the owner's email, as plain text."""


@dataclass(frozen=True)
class PublisherRow:
    publisher: Publisher
    owner_email: str
    module_count: int


def _module_count() -> ScalarSelect[int]:
    return (
        select(func.count(MarketplaceModule.id))
        .where(MarketplaceModule.publisher_id == Publisher.id)
        .correlate(Publisher)
        .scalar_subquery()
    )


def _gross_sales() -> ScalarSelect[Decimal]:
    """Gross of the ledger net of refunds, summed over currencies: a ranking, not money."""
    return (
        select(func.coalesce(func.sum(EarningEntry.gross), 0))
        .where(EarningEntry.publisher_id == Publisher.id)
        .correlate(Publisher)
        .scalar_subquery()
    )


def _admin_where(filters: AdminFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.status is not None:
        where.append(Publisher.status == filters.status)
    if filters.verified is not None:
        where.append(Publisher.verified.is_(filters.verified))
    if filters.verification_requested is True:
        where += [Publisher.verification_requested_at.is_not(None), Publisher.verified.is_(False)]
    elif filters.verification_requested is False:
        where.append(Publisher.verification_requested_at.is_(None))
    if filters.q:
        where.append(
            or_(
                *(
                    column.icontains(filters.q, autoescape=True)
                    for column in (
                        Publisher.display_name,
                        Publisher.company_name,
                        Publisher.slug,
                        User.email,
                    )
                )
            )
        )
    return where


ADMIN_SORTS: dict[str, Callable[[], list[UnaryExpression[Any]]]] = {
    "newest": lambda: [Publisher.created_at.desc(), Publisher.id.desc()],
    "name": lambda: [func.lower(Publisher.display_name).asc(), Publisher.id.asc()],
    "revenue": lambda: [_gross_sales().desc(), Publisher.id.asc()],
}


async def admin_list(
    session: AsyncSession, filters: AdminFilters, *, sort: str, limit: int, offset: int
) -> tuple[list[PublisherRow], int]:
    """A page of publishers with their owner's email and module count, and the total."""
    where = _admin_where(filters)
    total = (
        await session.execute(
            select(func.count())
            .select_from(Publisher)
            .join(User, User.id == Publisher.user_id)
            .where(*where)
        )
    ).scalar_one()
    found = await session.execute(
        select(Publisher, User.email, _module_count())
        .join(User, User.id == Publisher.user_id)
        .where(*where)
        .order_by(*ADMIN_SORTS[sort]())
        .limit(limit)
        .offset(offset)
    )
    return [PublisherRow(p, email, int(count)) for p, email, count in found.all()], total


async def admin_row(session: AsyncSession, publisher_id: int) -> PublisherRow | None:
    found = (
        await session.execute(
            select(Publisher, User.email, _module_count())
            .join(User, User.id == Publisher.user_id)
            .where(Publisher.id == publisher_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return None if found is None else PublisherRow(found[0], found[1], int(found[2]))


async def modules_by_status(session: AsyncSession, publisher_id: int) -> dict[str, int]:
    found = await session.execute(
        select(MarketplaceModule.status, func.count())
        .where(MarketplaceModule.publisher_id == publisher_id)
        .group_by(MarketplaceModule.status)
    )
    return {status: int(count) for status, count in found.all()}


@dataclass(frozen=True)
class Revenue:
    currency: str
    gross: Decimal
    commission: Decimal
    net: Decimal


async def revenue_by_currency(session: AsyncSession, publisher_id: int) -> list[Revenue]:
    """The publisher's ledger totals (sales less refunds), one line per currency."""
    found = await session.execute(
        select(
            EarningEntry.currency,
            func.sum(EarningEntry.gross),
            func.sum(EarningEntry.commission),
            func.sum(EarningEntry.net),
        )
        .where(EarningEntry.publisher_id == publisher_id)
        .group_by(EarningEntry.currency)
        .order_by(EarningEntry.currency)
    )
    return [Revenue(*row) for row in found.all()]


async def get_publisher_for_update(session: AsyncSession, publisher_id: int) -> Publisher | None:
    """Lock the row, so two admins' suspend and reinstate see one another."""
    found = await session.execute(
        select(Publisher)
        .where(Publisher.id == publisher_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found.scalar_one_or_none()


async def module_ids(session: AsyncSession, publisher_id: int) -> list[int]:
    found = await session.execute(
        select(MarketplaceModule.id)
        .where(MarketplaceModule.publisher_id == publisher_id)
        .order_by(MarketplaceModule.id)
    )
    return list(found.scalars())
