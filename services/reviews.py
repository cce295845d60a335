"""Reviews of modules, votes and abuse reports (spec §2.4, §3.1), and the publisher's
answers to the reviews of its modules.

Anyone reads a module's published reviews; a signed-in account writes one review per
module (not of its own), votes on others' reviews and reports them. Every change that
moves a module's rating recounts it from the reviews under the module's row lock, in the
transaction that makes the change (``models.repositories.reviews``).

The publisher answers a review once, and may edit the answer: ``publisher_responded_at``
keeps the time of the first answer; the review's ``updated_at`` (and the audit log) tell
when it last changed. A review of another publisher's module is as absent as a missing one.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Scope
from domain.discovery import can_view_by_slug
from domain.errors import Conflict, Forbidden, NotFound
from domain.reviews import (
    ReportReason,
    ReviewSort,
    ReviewStatus,
    Vote,
    check_not_author,
    check_report,
    check_review,
    check_reviewer,
    display_name,
    verified_purchase,
)
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.repositories import audit, discovery, outbox, reviews, users
from models.repositories.reviews import ReviewContext
from models.repositories.reviews import ReviewRow as ReviewRow
from models.review import ModuleReview, ReviewReport
from services.accounts import Principal

REVIEW_NOT_FOUND = ("review_not_found", "no such review")
NOT_YOURS = ("review_not_found", "no such review of your modules")


@dataclass(frozen=True)
class ReviewListing:
    """A page of a module's published reviews, with the module's rating."""

    rows: list[ReviewRow]
    total: int
    rating_average: Decimal | None
    rating_count: int
    rating_distribution: dict[int, int]
    """Published reviews per rating, 1 to 5."""


@dataclass(frozen=True)
class VoteCounts:
    review_id: int
    vote: Vote | None
    """The caller's vote now; None after removing it."""
    helpful_count: int
    not_helpful_count: int


# --- who may see and change a review ----------------------------------------------------


async def _module(session: AsyncSession, slug: str, caller: Principal | None) -> MarketplaceModule:
    module = await discovery.module_by_slug(session, slug)
    if module is None or not can_view_by_slug(
        module.status,
        module.visibility,
        module.publisher.status,
        is_owner=caller is not None and caller.user.id == module.publisher.user_id,
    ):
        raise NotFound("module_not_found", "no such module")
    return module


def _public(found: ReviewContext, caller: Principal) -> bool:
    """Whether the review is on the public site for this caller."""
    return found.review.status == ReviewStatus.PUBLISHED and can_view_by_slug(
        found.module_status,
        found.visibility,
        found.publisher_status,
        is_owner=caller.user.id == found.publisher_user_id,
    )


async def _public_review(session: AsyncSession, review_id: int, caller: Principal) -> ReviewContext:
    found = await reviews.context(session, review_id)
    if found is None or not _public(found, caller):
        raise NotFound(*REVIEW_NOT_FOUND)
    return found


async def _authored(
    session: AsyncSession, review_id: int, caller: Principal, *, admin_may: bool
) -> ReviewContext:
    """The caller's review (or, with ``admin_may``, any review for an admin). Someone
    else's review is refused when it is public, and as absent as a missing one when not."""
    found = await reviews.context(session, review_id)
    if found is None:
        raise NotFound(*REVIEW_NOT_FOUND)
    if found.review.user_id == caller.user.id or (admin_may and Scope.ADMIN in caller.scopes):
        return found
    if not _public(found, caller):
        raise NotFound(*REVIEW_NOT_FOUND)
    raise Forbidden("not_review_author", "only its author can change this review")


async def _view(session: AsyncSession, review_id: int) -> ReviewRow:
    row = await reviews.view(session, review_id)
    assert row is not None
    return row


async def _notify_publisher(
    session: AsyncSession, module: MarketplaceModule, review: ModuleReview, who: str
) -> None:
    owner = await users.get_user(session, module.publisher.user_id)
    if owner is None:
        return
    name = " ".join(module.display_name.split())
    body = [
        f"{who} rated {name} {review.rating}/5.",
        "",
        *([review.title, ""] if review.title else []),
        *([review.content, ""] if review.content else []),
        "You can respond to it from your publisher dashboard.",
    ]
    await outbox.enqueue(
        session,
        key=f"review-{review.id}-new",
        kind="review.new",
        to=owner.email,
        subject=f"New review of {name}: {review.rating}/5",
        body="\n".join(body),
    )


# --- reviews ----------------------------------------------------------------------------


async def published_reviews(
    session: AsyncSession,
    slug: str,
    caller: Principal | None,
    *,
    sort: ReviewSort,
    limit: int,
    offset: int,
) -> ReviewListing:
    """A module's published reviews (of a module the caller can see), and its rating."""
    module = await _module(session, slug, caller)
    rows, total = await reviews.published_page(
        session, module.id, sort=sort, limit=limit, offset=offset
    )
    return ReviewListing(
        rows=rows,
        total=total,
        rating_average=module.rating_average,
        rating_count=module.rating_count,
        rating_distribution=await reviews.rating_distribution(session, module.id),
    )


async def submit_review(
    session: AsyncSession,
    slug: str,
    caller: Principal,
    *,
    rating: int,
    title: str | None,
    content: str | None,
) -> ReviewRow:
    """One review per module the caller can see and does not publish; the publisher is
    mailed. ``verified_purchase`` tells whether the caller holds (or held) a paid-for
    license of it."""
    module = await _module(session, slug, caller)
    check_reviewer(caller.user.id, module.publisher.user_id)
    check_review(rating, content)
    await reviews.lock_module(session, module.id)
    if await reviews.of_user(session, module.id, caller.user.id) is not None:
        raise Conflict("already_reviewed", "you have reviewed this module already")
    review = ModuleReview(
        module_id=module.id,
        user_id=caller.user.id,
        version_id=await reviews.latest_published_version_id(session, module.id),
        rating=rating,
        title=title,
        content=content,
        status=ReviewStatus.PUBLISHED,
        verified_purchase=verified_purchase(
            await reviews.license_kinds(session, caller.user.id, module.id)
        ),
        created_by=caller.user.id,
        updated_by=caller.user.id,
    )
    await reviews.add(session, review)
    await reviews.refresh_module_rating(session, module.id)
    await _notify_publisher(session, module, review, display_name(caller.user.full_name))
    await session.commit()
    return await _view(session, review.id)


async def update_review(
    session: AsyncSession,
    review_id: int,
    caller: Principal,
    *,
    rating: int,
    title: str | None,
    content: str | None,
) -> ReviewRow:
    """Rewrite the caller's review (every field). A hidden review stays hidden."""
    found = await _authored(session, review_id, caller, admin_may=False)
    check_review(rating, content)
    module_id = found.review.module_id
    await reviews.lock_module(session, module_id)
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound(*REVIEW_NOT_FOUND)
    review.rating, review.title, review.content = rating, title, content
    review.verified_purchase = verified_purchase(
        await reviews.license_kinds(session, caller.user.id, module_id)
    )
    review.version_id = (
        await reviews.latest_published_version_id(session, module_id) or review.version_id
    )
    review.updated_by = caller.user.id
    await reviews.refresh_module_rating(session, module_id)
    await session.commit()
    return await _view(session, review_id)


async def delete_review(session: AsyncSession, review_id: int, caller: Principal) -> None:
    """Delete the caller's review (an admin may delete any, which is audited); its votes
    and reports go with it."""
    found = await _authored(session, review_id, caller, admin_may=True)
    module_id = found.review.module_id
    await reviews.lock_module(session, module_id)
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound(*REVIEW_NOT_FOUND)
    if review.user_id != caller.user.id:
        await audit.record(
            session,
            actor_id=caller.user.id,
            action="review.delete",
            entity_type="review",
            entity_id=review_id,
            changes={"module_id": module_id, "user_id": review.user_id, "rating": review.rating},
        )
    await reviews.remove(session, review)
    await reviews.refresh_module_rating(session, module_id)
    await session.commit()


# --- votes and reports ------------------------------------------------------------------


async def _counts(session: AsyncSession, review_id: int, user_id: int) -> VoteCounts:
    review = await reviews.get(session, review_id)
    assert review is not None
    return VoteCounts(
        review_id=review_id,
        vote=await reviews.vote_of(session, review_id, user_id),
        helpful_count=review.helpful_count,
        not_helpful_count=review.not_helpful_count,
    )


async def vote(
    session: AsyncSession, review_id: int, caller: Principal, choice: Vote
) -> VoteCounts:
    """One vote per account and public review, changeable; the same vote again changes
    nothing. Not on one's own review."""
    found = await _public_review(session, review_id, caller)
    check_not_author(caller.user.id, found.review.user_id)
    if await reviews.get(session, review_id, lock=True) is None:  # deleted meanwhile
        raise NotFound(*REVIEW_NOT_FOUND)
    await reviews.put_vote(session, review_id, caller.user.id, choice)
    await reviews.refresh_vote_counts(session, review_id)
    await session.commit()
    return await _counts(session, review_id, caller.user.id)


async def remove_vote(session: AsyncSession, review_id: int, caller: Principal) -> VoteCounts:
    """Take back the caller's vote (nothing happens if there is none)."""
    await _public_review(session, review_id, caller)
    if await reviews.get(session, review_id, lock=True) is None:  # deleted meanwhile
        raise NotFound(*REVIEW_NOT_FOUND)
    await reviews.drop_vote(session, review_id, caller.user.id)
    await reviews.refresh_vote_counts(session, review_id)
    await session.commit()
    return await _counts(session, review_id, caller.user.id)


async def report(
    session: AsyncSession,
    review_id: int,
    caller: Principal,
    *,
    reason: ReportReason,
    details: str | None,
) -> ReviewReport:
    """Report a public review to the moderators: once per review, not one's own; details
    are required when the reason is ``other``. The review stays up until a moderator acts."""
    found = await _public_review(session, review_id, caller)
    check_not_author(caller.user.id, found.review.user_id)
    check_report(reason, details)
    if await reviews.get(session, review_id, lock=True) is None:  # deleted meanwhile
        raise NotFound(*REVIEW_NOT_FOUND)
    row = ReviewReport(
        review_id=review_id,
        reporter_id=caller.user.id,
        reason=reason,
        details=details or None,
    )
    added = await reviews.add_report(session, row)
    await session.commit()
    return added


# --- the publisher's side ---------------------------------------------------------------


async def of_publisher(
    session: AsyncSession,
    publisher: Publisher,
    *,
    module_id: int | None,
    status: ReviewStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[ReviewRow], int]:
    """Reviews of the publisher's modules, hidden ones included, newest first."""
    return await reviews.publisher_page(
        session, publisher.id, module_id=module_id, status=status, limit=limit, offset=offset
    )


async def _own_review(session: AsyncSession, publisher: Publisher, review_id: int) -> ModuleReview:
    found = await reviews.context(session, review_id)
    if found is None or found.publisher_id != publisher.id:
        raise NotFound(*NOT_YOURS)
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound(*NOT_YOURS)
    return review


async def respond(
    session: AsyncSession, publisher: Publisher, review_id: int, response: str
) -> ReviewRow:
    """Answer a review of the publisher's module, or edit the answer."""
    review = await _own_review(session, publisher, review_id)
    first = review.publisher_response is None
    review.publisher_response = response
    if first:
        review.publisher_responded_at = datetime.now(UTC)
    review.updated_by = publisher.user_id
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="review.response." + ("create" if first else "update"),
        entity_type="review",
        entity_id=review_id,
        changes={"response": response},
    )
    await session.commit()
    return await _view(session, review_id)


async def remove_response(session: AsyncSession, publisher: Publisher, review_id: int) -> None:
    """Withdraw the publisher's answer; nothing happens if there is none."""
    review = await _own_review(session, publisher, review_id)
    if review.publisher_response is not None:
        review.publisher_response = None
        review.publisher_responded_at = None
        review.updated_by = publisher.user_id
        await audit.record(
            session,
            actor_id=publisher.user_id,
            action="review.response.delete",
            entity_type="review",
            entity_id=review_id,
        )
        await session.commit()
