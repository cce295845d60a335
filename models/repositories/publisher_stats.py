"""The nightly roll-up of ``PublisherStats``: aggregates for a batch of publishers, and an
idempotent upsert of their rows (unique per publisher and period)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain.modules import ModuleStatus
from models.analytics import ModuleDownload
from models.commerce import EarningEntry
from models.module import MarketplaceModule
from models.publisher import Publisher, PublisherStats
from models.review import ModuleReview

VISIBLE_REVIEW = "published"


@dataclass
class PublisherFigures:
    """What the roll-up reads for one publisher; the recent ones are since ``since``."""

    published_modules: int = 0
    downloads: int = 0
    recent_downloads: int = 0
    revenue: Decimal = Decimal(0)
    recent_revenue: Decimal = Decimal(0)
    reviews: int = 0
    rating_sum: int = 0
    recent_reviews: int = 0
    recent_rating_sum: int = 0


async def publisher_ids_after(session: AsyncSession, after: int, limit: int) -> list[int]:
    rows = await session.execute(
        select(Publisher.id).where(Publisher.id > after).order_by(Publisher.id).limit(limit)
    )
    return list(rows.scalars())


async def figures(
    session: AsyncSession, ids: list[int], *, since: datetime, until: datetime, currency: str
) -> dict[int, PublisherFigures]:
    """The figures of each publisher in ``ids``. All-time downloads are the module
    counters; recent ones count the events in ``[since, until)``. Revenue is net ledger
    earnings (sales minus refunds) in ``currency``; ratings are of published reviews."""
    found = {publisher_id: PublisherFigures() for publisher_id in ids}
    theirs = MarketplaceModule.publisher_id.in_(ids)

    modules = await session.execute(
        select(
            MarketplaceModule.publisher_id,
            func.count().filter(MarketplaceModule.status == ModuleStatus.PUBLISHED),
            func.coalesce(func.sum(MarketplaceModule.download_count), 0),
        )
        .where(theirs)
        .group_by(MarketplaceModule.publisher_id)
    )
    for publisher_id, published, downloads in modules.all():
        found[publisher_id].published_modules = published
        found[publisher_id].downloads = int(downloads)

    recent = await session.execute(
        select(MarketplaceModule.publisher_id, func.count())
        .select_from(ModuleDownload)
        .join(MarketplaceModule, MarketplaceModule.id == ModuleDownload.module_id)
        .where(theirs, ModuleDownload.created_at >= since, ModuleDownload.created_at < until)
        .group_by(MarketplaceModule.publisher_id)
    )
    for publisher_id, n in recent.all():
        found[publisher_id].recent_downloads = n

    is_recent = (EarningEntry.occurred_at >= since) & (EarningEntry.occurred_at < until)
    revenue = await session.execute(
        select(
            EarningEntry.publisher_id,
            func.coalesce(func.sum(EarningEntry.net), 0),
            func.coalesce(func.sum(EarningEntry.net).filter(is_recent), 0),
        )
        .where(EarningEntry.publisher_id.in_(ids), EarningEntry.currency == currency)
        .group_by(EarningEntry.publisher_id)
    )
    for publisher_id, total, recent_total in revenue.all():
        found[publisher_id].revenue = total
        found[publisher_id].recent_revenue = recent_total

    is_new = (ModuleReview.created_at >= since) & (ModuleReview.created_at < until)
    reviews = await session.execute(
        select(
            MarketplaceModule.publisher_id,
            func.count(),
            func.coalesce(func.sum(ModuleReview.rating), 0),
            func.count().filter(is_new),
            func.coalesce(func.sum(ModuleReview.rating).filter(is_new), 0),
        )
        .select_from(ModuleReview)
        .join(MarketplaceModule, MarketplaceModule.id == ModuleReview.module_id)
        .where(theirs, ModuleReview.status == VISIBLE_REVIEW)
        .group_by(MarketplaceModule.publisher_id)
    )
    for publisher_id, n, rating_total, recent_n, recent_rating_total in reviews.all():
        figures_of = found[publisher_id]
        figures_of.reviews, figures_of.rating_sum = n, int(rating_total)
        figures_of.recent_reviews, figures_of.recent_rating_sum = recent_n, int(recent_rating_total)
    return found


async def upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or overwrite each (publisher, period) row: running it twice changes nothing
    but ``calculated_at``."""
    if not rows:
        return
    statement = insert(PublisherStats).values(rows)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[PublisherStats.publisher_id, PublisherStats.period],
            set_={
                "total_modules": excluded.total_modules,
                "total_downloads": excluded.total_downloads,
                "total_revenue": excluded.total_revenue,
                "average_rating": excluded.average_rating,
                "total_reviews": excluded.total_reviews,
                "calculated_at": excluded.calculated_at,
                "updated_at": func.now(),
            },
        )
    )
