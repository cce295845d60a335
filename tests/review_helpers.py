"""What the review tests share: a reviewable module, writing reviews through the API, and
the checks that counters equal a fresh count of the rows."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from domain.modules import ModuleStatus
from domain.reviews import Vote, average_rating
from models.module import MarketplaceModule, ModuleVersion
from models.platform import AuditLogEntry, NotificationOutbox
from models.repositories.reviews import STORED_VOTE
from models.review import ModuleReview, ReviewReport, ReviewVote

MARKET = "/api/v1/marketplace"
PUBLISHER = "/api/v1/publisher/reviews"
ADMIN = "/api/v1/admin/marketplace"


def reviews_of(module) -> str:
    return f"{MARKET}/modules/{module.slug}/reviews"


async def reviewable(make, **fields):
    """A published public module with a published 1.0.0; returns (owner user, module)."""
    owner, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED, **fields)
    async with make.sessions() as session:
        session.add(
            ModuleVersion(
                module_id=module.id,
                version="1.0.0",
                semver_major=1,
                semver_minor=0,
                semver_patch=0,
                zip_file_url="modules/x/1.0.0.zip",
                status="published",
                is_latest=True,
                published_at=datetime.now(UTC),
            )
        )
        await session.commit()
    return owner, module


async def write(api, user, module, rating=5, **fields):
    response = await api.request(
        "POST", reviews_of(module), as_user=user, json={"rating": rating, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def assert_rating_exact(sessions, module_id: int) -> tuple:
    """The module's rating equals a fresh count of its published reviews, in Python."""
    async with sessions() as session:
        module = await session.get(MarketplaceModule, module_id, populate_existing=True)
        ratings = (
            await session.scalars(
                select(ModuleReview.rating).where(
                    ModuleReview.module_id == module_id, ModuleReview.status == "published"
                )
            )
        ).all()
    assert (module.rating_average, module.rating_count) == (average_rating(ratings), len(ratings))
    return module.rating_average, module.rating_count


async def assert_votes_exact(sessions, review_id: int) -> tuple[int, int]:
    async with sessions() as session:
        review = await session.get(ModuleReview, review_id, populate_existing=True)
        votes = (
            await session.scalars(select(ReviewVote.vote).where(ReviewVote.review_id == review_id))
        ).all()
    expected = (
        votes.count(STORED_VOTE[Vote.HELPFUL]),
        votes.count(STORED_VOTE[Vote.NOT_HELPFUL]),
    )
    assert len(votes) == sum(expected)
    assert (review.helpful_count, review.not_helpful_count) == expected
    return expected


async def snapshot(sessions) -> dict:
    """Everything a refused call must leave as it was."""
    async with sessions() as session:
        counts = {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (ModuleReview, ReviewVote, ReviewReport, AuditLogEntry, NotificationOutbox)
        }
        reviews = (
            await session.execute(
                select(
                    ModuleReview.id,
                    ModuleReview.rating,
                    ModuleReview.title,
                    ModuleReview.content,
                    ModuleReview.status,
                    ModuleReview.helpful_count,
                    ModuleReview.not_helpful_count,
                    ModuleReview.publisher_response,
                    ModuleReview.updated_at,
                ).order_by(ModuleReview.id)
            )
        ).all()
        ratings = (
            await session.execute(
                select(
                    MarketplaceModule.id,
                    MarketplaceModule.rating_average,
                    MarketplaceModule.rating_count,
                ).order_by(MarketplaceModule.id)
            )
        ).all()
        reports = (
            await session.execute(
                select(ReviewReport.id, ReviewReport.status).order_by(ReviewReport.id)
            )
        ).all()
    return {**counts, "reviews": reviews, "ratings": ratings, "reports": reports}
