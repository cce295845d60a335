"""Reviews of modules, votes and abuse reports (spec §2.4, §3.1).

Anyone reads a module's published reviews; a signed-in account writes one review per
module (not of its own), votes on others' reviews and reports them. Every change that
moves a module's rating recounts it from the reviews under the module's row lock, in the
request's transaction (``models.repositories.reviews``).
"""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import AccountPrincipal, MaybePrincipal, Principal, SessionDep
from api.params import IdPath, Limit, Offset, SlugPath
from api.routers.review_schemas import (
    ReportIn,
    ReportOut,
    ReviewIn,
    ReviewOut,
    ReviewPage,
    VoteIn,
    VoteOut,
)
from domain.access import Scope
from domain.discovery import can_view_by_slug
from domain.errors import Conflict, Forbidden, NotFound
from domain.reviews import (
    ReviewSort,
    ReviewStatus,
    check_not_author,
    check_report,
    check_review,
    check_reviewer,
    display_name,
    verified_purchase,
)
from models.module import MarketplaceModule
from models.repositories import audit, discovery, outbox, reviews, users
from models.repositories.reviews import ReviewContext
from models.review import ModuleReview, ReviewReport

router = APIRouter(prefix="/api/v1/marketplace", tags=["reviews"])

REVIEW_NOT_FOUND = ("review_not_found", "no such review")


async def _module(session, slug: str, caller: Principal | None) -> MarketplaceModule:
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


async def _public_review(session, review_id: int, caller: Principal) -> ReviewContext:
    found = await reviews.context(session, review_id)
    if found is None or not _public(found, caller):
        raise NotFound(*REVIEW_NOT_FOUND)
    return found


async def _authored(
    session, review_id: int, caller: Principal, *, admin_may: bool
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


async def _out(session, review_id: int) -> ReviewOut:
    row = await reviews.view(session, review_id)
    assert row is not None
    return ReviewOut.of(row)


async def _notify_publisher(session, module: MarketplaceModule, review: ModuleReview, who: str):
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


@router.get("/modules/{slug}/reviews", response_model=ReviewPage)
async def list_reviews(
    slug: SlugPath,
    session: SessionDep,
    caller: MaybePrincipal,
    sort: Annotated[ReviewSort, Query()] = ReviewSort.NEWEST,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """A module's published reviews with the publisher's responses, and its rating."""
    module = await _module(session, slug, caller)
    rows, total = await reviews.published_page(
        session, module.id, sort=sort, limit=limit, offset=offset
    )
    return ReviewPage(
        items=[ReviewOut.of(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        rating_average=module.rating_average,
        rating_count=module.rating_count,
    )


@router.post(
    "/modules/{slug}/reviews", status_code=status.HTTP_201_CREATED, response_model=ReviewOut
)
async def submit_review(
    slug: SlugPath, body: ReviewIn, principal: AccountPrincipal, session: SessionDep
):
    """Review a module you can see and do not publish: one review per module.
    ``verified_purchase`` tells whether you hold (or held) a paid-for license of it."""
    module = await _module(session, slug, principal)
    check_reviewer(principal.user.id, module.publisher.user_id)
    rating, title, content = body.cleaned()
    check_review(rating, content)
    await reviews.lock_module(session, module.id)
    if await reviews.of_user(session, module.id, principal.user.id) is not None:
        raise Conflict("already_reviewed", "you have reviewed this module already")
    review = ModuleReview(
        module_id=module.id,
        user_id=principal.user.id,
        version_id=await reviews.latest_published_version_id(session, module.id),
        rating=rating,
        title=title,
        content=content,
        status=ReviewStatus.PUBLISHED,
        verified_purchase=verified_purchase(
            await reviews.license_kinds(session, principal.user.id, module.id)
        ),
        created_by=principal.user.id,
        updated_by=principal.user.id,
    )
    await reviews.add(session, review)
    await reviews.refresh_module_rating(session, module.id)
    await _notify_publisher(session, module, review, display_name(principal.user.full_name))
    return await _out(session, review.id)


@router.put("/reviews/{review_id}", response_model=ReviewOut)
async def update_review(
    review_id: IdPath, body: ReviewIn, principal: AccountPrincipal, session: SessionDep
):
    """Rewrite your review (every field). A hidden review stays hidden."""
    found = await _authored(session, review_id, principal, admin_may=False)
    rating, title, content = body.cleaned()
    check_review(rating, content)
    module_id = found.review.module_id
    await reviews.lock_module(session, module_id)
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound(*REVIEW_NOT_FOUND)
    review.rating, review.title, review.content = rating, title, content
    review.verified_purchase = verified_purchase(
        await reviews.license_kinds(session, principal.user.id, module_id)
    )
    review.version_id = (
        await reviews.latest_published_version_id(session, module_id) or review.version_id
    )
    review.updated_by = principal.user.id
    await reviews.refresh_module_rating(session, module_id)
    return await _out(session, review_id)


@router.delete("/reviews/{review_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_review(review_id: IdPath, principal: AccountPrincipal, session: SessionDep):
    """Delete your review (an admin may delete any, which is audited); its votes and
    reports go with it."""
    found = await _authored(session, review_id, principal, admin_may=True)
    module_id = found.review.module_id
    await reviews.lock_module(session, module_id)
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound(*REVIEW_NOT_FOUND)
    if review.user_id != principal.user.id:
        await audit.record(
            session,
            actor_id=principal.user.id,
            action="review.delete",
            entity_type="review",
            entity_id=review_id,
            changes={"module_id": module_id, "user_id": review.user_id, "rating": review.rating},
        )
    await reviews.remove(session, review)
    await reviews.refresh_module_rating(session, module_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _counts(session, review_id: int, user_id: int) -> VoteOut:
    review = await reviews.get(session, review_id)
    assert review is not None
    vote = await reviews.vote_of(session, review_id, user_id)
    return VoteOut(
        review_id=review_id,
        vote=vote,
        helpful_count=review.helpful_count,
        not_helpful_count=review.not_helpful_count,
    )


@router.post("/reviews/{review_id}/vote", response_model=VoteOut)
async def vote(review_id: IdPath, body: VoteIn, principal: AccountPrincipal, session: SessionDep):
    """Say whether a review helped: one vote per account, changeable; the same vote again
    changes nothing. Not on your own review."""
    found = await _public_review(session, review_id, principal)
    check_not_author(principal.user.id, found.review.user_id)
    if await reviews.get(session, review_id, lock=True) is None:  # deleted meanwhile
        raise NotFound(*REVIEW_NOT_FOUND)
    await reviews.put_vote(session, review_id, principal.user.id, body.vote)
    await reviews.refresh_vote_counts(session, review_id)
    return await _counts(session, review_id, principal.user.id)


@router.delete("/reviews/{review_id}/vote", response_model=VoteOut)
async def remove_vote(review_id: IdPath, principal: AccountPrincipal, session: SessionDep):
    """Take back your vote (nothing happens if you had none)."""
    await _public_review(session, review_id, principal)
    if await reviews.get(session, review_id, lock=True) is None:  # deleted meanwhile
        raise NotFound(*REVIEW_NOT_FOUND)
    await reviews.drop_vote(session, review_id, principal.user.id)
    await reviews.refresh_vote_counts(session, review_id)
    return await _counts(session, review_id, principal.user.id)


@router.post(
    "/reviews/{review_id}/report", status_code=status.HTTP_201_CREATED, response_model=ReportOut
)
async def report(
    review_id: IdPath, body: ReportIn, principal: AccountPrincipal, session: SessionDep
):
    """Report a review to the moderators: once per review, not your own; ``details`` are
    required when the reason is ``other``. The review stays up until a moderator acts."""
    found = await _public_review(session, review_id, principal)
    check_not_author(principal.user.id, found.review.user_id)
    check_report(body.reason, body.details)
    if await reviews.get(session, review_id, lock=True) is None:  # deleted meanwhile
        raise NotFound(*REVIEW_NOT_FOUND)
    row = ReviewReport(
        review_id=review_id,
        reporter_id=principal.user.id,
        reason=body.reason,
        details=body.details or None,
    )
    return await reviews.add_report(session, row)
