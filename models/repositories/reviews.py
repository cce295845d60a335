"""Reviews, votes and reports, and the counters derived from them.

Counters are never adjusted by increments: ``refresh_module_rating`` and
``refresh_vote_counts`` recompute them from the rows in one ``UPDATE ... FROM (SELECT
aggregate)`` statement, after the caller has locked the row they belong to, so concurrent
changes of the same module (or review) queue up and each recount sees the previous commit.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    UnaryExpression,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.reviews import ReportStatus, ReviewSort, ReviewStatus, Vote
from models.commerce import License
from models.module import MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories.errors import unique_violations
from models.review import ModuleReview, ReviewReport, ReviewVote
from models.user import User

STORED_VOTE = {vote: vote.value for vote in Vote}
_VOTE_OF_STORED = {stored: vote for vote, stored in STORED_VOTE.items()}


@dataclass(frozen=True)
class ReviewRow:
    """A review with what its views show beside it."""

    review: ModuleReview
    reviewer_name: str | None
    version: str | None
    module_slug: str


@dataclass(frozen=True)
class ReviewContext:
    """A review with the module and publisher facts that decide who may act on it."""

    review: ModuleReview
    module_status: str
    visibility: str
    publisher_id: int
    publisher_status: str
    publisher_user_id: int


@dataclass(frozen=True)
class ReportRow:
    report: ReviewReport
    review: ReviewRow
    pending_reports: int


# --- locks and recounts -----------------------------------------------------------------


async def lock_module(session: AsyncSession, module_id: int) -> None:
    """Take the module row's lock: every change that moves its rating goes through it."""
    await session.execute(
        select(MarketplaceModule.id).where(MarketplaceModule.id == module_id).with_for_update()
    )


async def refresh_module_rating(session: AsyncSession, module_id: int) -> None:
    """Set the module's average (``round(avg, 2)``: half up for positive values) and count
    from its published reviews. The listing's ``updated_at`` is kept: a new review is not
    a change of the listing."""
    await session.flush()
    fresh = (
        select(
            literal(module_id, Integer).label("module_id"),
            func.round(func.avg(ModuleReview.rating), 2).label("average"),
            func.count().label("count"),
        )
        .where(
            ModuleReview.module_id == module_id,
            ModuleReview.status == ReviewStatus.PUBLISHED,
        )
        .subquery()
    )
    await session.execute(
        update(MarketplaceModule)
        .where(MarketplaceModule.id == fresh.c.module_id)
        .values(
            rating_average=fresh.c.average,
            rating_count=fresh.c.count,
            updated_at=MarketplaceModule.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


async def rating_distribution(session: AsyncSession, module_id: int) -> dict[int, int]:
    """Published reviews of the module per rating, 1 to 5 (a rating nobody gave: 0)."""
    rows = await session.execute(
        select(ModuleReview.rating, func.count())
        .where(
            ModuleReview.module_id == module_id,
            ModuleReview.status == ReviewStatus.PUBLISHED,
        )
        .group_by(ModuleReview.rating)
    )
    counts = {rating: 0 for rating in range(1, 6)}
    counts.update({rating: n for rating, n in rows.tuples()})
    return counts


async def refresh_vote_counts(session: AsyncSession, review_id: int) -> None:
    """Set the review's helpful / not helpful counts from its votes; the review's
    ``updated_at`` is kept (a vote is not an edit)."""
    fresh = (
        select(
            literal(review_id, Integer).label("review_id"),
            func.count().filter(ReviewVote.vote == STORED_VOTE[Vote.HELPFUL]).label("helpful"),
            func.count()
            .filter(ReviewVote.vote == STORED_VOTE[Vote.NOT_HELPFUL])
            .label("not_helpful"),
        )
        .where(ReviewVote.review_id == review_id)
        .subquery()
    )
    await session.execute(
        update(ModuleReview)
        .where(ModuleReview.id == fresh.c.review_id)
        .values(
            helpful_count=fresh.c.helpful,
            not_helpful_count=fresh.c.not_helpful,
            updated_at=ModuleReview.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


# --- reviews ----------------------------------------------------------------------------


async def get(session: AsyncSession, review_id: int, *, lock: bool = False) -> ModuleReview | None:
    query = (
        select(ModuleReview)
        .where(ModuleReview.id == review_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def context(session: AsyncSession, review_id: int) -> ReviewContext | None:
    row = (
        await session.execute(
            select(
                ModuleReview,
                MarketplaceModule.status,
                MarketplaceModule.visibility,
                Publisher.id,
                Publisher.status,
                Publisher.user_id,
            )
            .join(MarketplaceModule, MarketplaceModule.id == ModuleReview.module_id)
            .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
            .where(ModuleReview.id == review_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return ReviewContext(*row) if row else None


async def of_user(session: AsyncSession, module_id: int, user_id: int) -> ModuleReview | None:
    return await session.scalar(
        select(ModuleReview).where(
            ModuleReview.module_id == module_id, ModuleReview.user_id == user_id
        )
    )


async def license_kinds(
    session: AsyncSession, user_id: int, module_id: int
) -> list[tuple[str, str]]:
    """(license_type, status) of every license the user has held for the module."""
    rows = await session.execute(
        select(License.license_type, License.status).where(
            License.user_id == user_id, License.module_id == module_id
        )
    )
    return [(license_type, status) for license_type, status in rows]


async def latest_published_version_id(session: AsyncSession, module_id: int) -> int | None:
    return await session.scalar(
        select(ModuleVersion.id)
        .where(ModuleVersion.module_id == module_id, ModuleVersion.status == "published")
        .order_by(
            ModuleVersion.is_latest.desc(),
            ModuleVersion.published_at.desc().nulls_last(),
            ModuleVersion.id.desc(),
        )
        .limit(1)
    )


async def add(session: AsyncSession, review: ModuleReview) -> ModuleReview:
    async with unique_violations(
        session,
        {"uq_module_review_user": ("already_reviewed", "you have reviewed this module already")},
    ):
        session.add(review)
    return review


async def remove(session: AsyncSession, review: ModuleReview) -> None:
    """Delete the review; its votes and reports go with it (ON DELETE CASCADE)."""
    await session.delete(review)
    await session.flush()


# --- views ------------------------------------------------------------------------------


def _views() -> Select[ModuleReview, str | None, str, str]:
    return (
        select(ModuleReview, User.full_name, ModuleVersion.version, MarketplaceModule.slug)
        .join(User, User.id == ModuleReview.user_id)
        .join(MarketplaceModule, MarketplaceModule.id == ModuleReview.module_id)
        .outerjoin(ModuleVersion, ModuleVersion.id == ModuleReview.version_id)
        .execution_options(populate_existing=True)
    )


_ORDER: dict[ReviewSort, list[UnaryExpression[Any]]] = {
    ReviewSort.NEWEST: [],
    ReviewSort.HELPFUL: [ModuleReview.helpful_count.desc(), ModuleReview.not_helpful_count.asc()],
    ReviewSort.RATING_HIGH: [ModuleReview.rating.desc()],
    ReviewSort.RATING_LOW: [ModuleReview.rating.asc()],
}


async def view(session: AsyncSession, review_id: int) -> ReviewRow | None:
    await session.flush()
    row = (await session.execute(_views().where(ModuleReview.id == review_id))).one_or_none()
    return ReviewRow(*row) if row else None


async def _page(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    order: list[UnaryExpression[Any]],
    limit: int,
    offset: int,
) -> tuple[list[ReviewRow], int]:
    total = await session.scalar(select(func.count()).select_from(ModuleReview).where(*where))
    rows = await session.execute(
        _views()
        .where(*where)
        .order_by(*order, ModuleReview.created_at.desc(), ModuleReview.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [ReviewRow(*row) for row in rows], total or 0


async def published_page(
    session: AsyncSession, module_id: int, *, sort: ReviewSort, limit: int, offset: int
) -> tuple[list[ReviewRow], int]:
    where: list[ColumnElement[bool]] = [
        ModuleReview.module_id == module_id,
        ModuleReview.status == ReviewStatus.PUBLISHED,
    ]
    return await _page(session, where, _ORDER[sort], limit, offset)


async def publisher_page(
    session: AsyncSession,
    publisher_id: int,
    *,
    module_id: int | None,
    status: ReviewStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[ReviewRow], int]:
    """Reviews of the publisher's modules, hidden ones included, newest first."""
    where: list[ColumnElement[bool]] = [
        ModuleReview.module_id.in_(
            select(MarketplaceModule.id).where(MarketplaceModule.publisher_id == publisher_id)
        )
    ]
    if module_id is not None:
        where.append(ModuleReview.module_id == module_id)
    if status is not None:
        where.append(ModuleReview.status == status)
    return await _page(session, where, [], limit, offset)


# --- votes ------------------------------------------------------------------------------


async def put_vote(session: AsyncSession, review_id: int, user_id: int, vote: Vote) -> None:
    """Cast or change the user's vote; the same vote again changes nothing."""
    stored = STORED_VOTE[vote]
    await session.execute(
        insert(ReviewVote)
        .values(review_id=review_id, user_id=user_id, vote=stored)
        .on_conflict_do_update(
            constraint="uq_review_vote_user",
            set_={"vote": stored, "updated_at": func.now()},
            where=ReviewVote.vote != stored,
        )
    )


async def drop_vote(session: AsyncSession, review_id: int, user_id: int) -> None:
    await session.execute(
        delete(ReviewVote).where(ReviewVote.review_id == review_id, ReviewVote.user_id == user_id)
    )


async def vote_of(session: AsyncSession, review_id: int, user_id: int) -> Vote | None:
    stored = await session.scalar(
        select(ReviewVote.vote).where(
            ReviewVote.review_id == review_id, ReviewVote.user_id == user_id
        )
    )
    return _VOTE_OF_STORED.get(stored) if stored else None


# --- reports ----------------------------------------------------------------------------


async def add_report(session: AsyncSession, report: ReviewReport) -> ReviewReport:
    async with unique_violations(
        session,
        {
            "uq_marketplace_review_reports_review_id_reporter_id": (
                "already_reported",
                "you have reported this review already",
            )
        },
    ):
        session.add(report)
    await session.refresh(report)
    return report


async def get_report(
    session: AsyncSession, report_id: int, *, lock: bool = False
) -> ReviewReport | None:
    query = (
        select(ReviewReport)
        .where(ReviewReport.id == report_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def close_report(
    session: AsyncSession,
    report: ReviewReport,
    *,
    status: ReportStatus,
    admin_id: int,
    note: str | None,
    at: datetime,
) -> None:
    report.status = status
    report.resolved_by = admin_id
    report.resolution_note = note
    report.resolved_at = at
    await session.flush()
    await session.refresh(report)


async def resolve_pending(
    session: AsyncSession, review_id: int, *, admin_id: int, note: str | None, at: datetime
) -> list[int]:
    """Resolve every pending report of a review (it was just hidden); their ids."""
    rows = await session.execute(
        update(ReviewReport)
        .where(ReviewReport.review_id == review_id, ReviewReport.status == ReportStatus.PENDING)
        .values(
            status=ReportStatus.RESOLVED,
            resolved_by=admin_id,
            resolution_note=note,
            resolved_at=at,
        )
        .returning(ReviewReport.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows.scalars())


async def pending_count(session: AsyncSession, review_id: int) -> int:
    count = await session.scalar(
        select(func.count()).where(
            ReviewReport.review_id == review_id, ReviewReport.status == ReportStatus.PENDING
        )
    )
    return count or 0


async def report_queue(
    session: AsyncSession, *, status: ReportStatus, limit: int, offset: int
) -> tuple[list[ReportRow], int]:
    """Reports in ``status``, oldest first, each with its review and how many reports of
    that review are still pending."""
    where = [ReviewReport.status == status]
    total = await session.scalar(select(func.count()).select_from(ReviewReport).where(*where))
    pending = aliased(ReviewReport)
    pending_count = (
        select(func.count())
        .where(pending.review_id == ModuleReview.id, pending.status == ReportStatus.PENDING)
        .scalar_subquery()
    )
    rows = await session.execute(
        _views()
        .add_columns(ReviewReport, pending_count)
        .join(ReviewReport, ReviewReport.review_id == ModuleReview.id)
        .where(*where)
        .order_by(ReviewReport.created_at.asc(), ReviewReport.id.asc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        ReportRow(report=report, review=ReviewRow(review, name, version, slug), pending_reports=n)
        for review, name, version, slug, report, n in rows
    ]
    return items, total or 0
