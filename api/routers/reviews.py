"""Reviews of modules, votes and abuse reports (spec §2.4, §3.1).

Anyone reads a module's published reviews; a signed-in account writes one review per
module (not of its own), votes on others' reviews and reports them. The rules, and the
rating recounts every change triggers, are in ``services.reviews``.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import AccountPrincipal, MaybePrincipal, SessionDep
from api.params import IdPath, Limit, Offset, SlugPath
from api.schemas.reviews import (
    ReportIn,
    ReportOut,
    ReviewIn,
    ReviewOut,
    ReviewPage,
    VoteIn,
    VoteOut,
)
from domain.reviews import ReviewSort
from models.review import ReviewReport
from services import reviews

router = APIRouter(prefix="/api/v1/marketplace", tags=["reviews"])


@router.get("/modules/{slug}/reviews", response_model=ReviewPage)
async def list_reviews(
    slug: SlugPath,
    session: SessionDep,
    caller: MaybePrincipal,
    sort: Annotated[ReviewSort, Query()] = ReviewSort.NEWEST,
    limit: Limit = 20,
    offset: Offset = 0,
) -> ReviewPage:
    """A module's published reviews with the publisher's responses, and its rating."""
    listing = await reviews.published_reviews(
        session, slug, caller, sort=sort, limit=limit, offset=offset
    )
    return ReviewPage(
        items=[ReviewOut.of(row) for row in listing.rows],
        total=listing.total,
        limit=limit,
        offset=offset,
        rating_average=listing.rating_average,
        rating_count=listing.rating_count,
        rating_distribution={
            str(rating): n for rating, n in sorted(listing.rating_distribution.items())
        },
    )


@router.post(
    "/modules/{slug}/reviews", status_code=status.HTTP_201_CREATED, response_model=ReviewOut
)
async def submit_review(
    slug: SlugPath, body: ReviewIn, principal: AccountPrincipal, session: SessionDep
) -> ReviewOut:
    """Review a module you can see and do not publish: one review per module.
    ``verified_purchase`` tells whether you hold (or held) a paid-for license of it."""
    rating, title, content = body.cleaned()
    row = await reviews.submit_review(
        session, slug, principal, rating=rating, title=title, content=content
    )
    return ReviewOut.of(row)


@router.put("/reviews/{review_id}", response_model=ReviewOut)
async def update_review(
    review_id: IdPath, body: ReviewIn, principal: AccountPrincipal, session: SessionDep
) -> ReviewOut:
    """Rewrite your review (every field). A hidden review stays hidden."""
    rating, title, content = body.cleaned()
    row = await reviews.update_review(
        session, review_id, principal, rating=rating, title=title, content=content
    )
    return ReviewOut.of(row)


@router.delete("/reviews/{review_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_review(
    review_id: IdPath, principal: AccountPrincipal, session: SessionDep
) -> Response:
    """Delete your review (an admin may delete any, which is audited); its votes and
    reports go with it."""
    await reviews.delete_review(session, review_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/reviews/{review_id}/vote", response_model=VoteOut)
async def vote(
    review_id: IdPath, body: VoteIn, principal: AccountPrincipal, session: SessionDep
) -> VoteOut:
    """Say whether a review helped: one vote per account, changeable; the same vote again
    changes nothing. Not on your own review."""
    counts = await reviews.vote(session, review_id, principal, body.vote)
    return VoteOut.model_validate(counts, from_attributes=True)


@router.delete("/reviews/{review_id}/vote", response_model=VoteOut)
async def remove_vote(
    review_id: IdPath, principal: AccountPrincipal, session: SessionDep
) -> VoteOut:
    """Take back your vote (nothing happens if you had none)."""
    counts = await reviews.remove_vote(session, review_id, principal)
    return VoteOut.model_validate(counts, from_attributes=True)


@router.post(
    "/reviews/{review_id}/report", status_code=status.HTTP_201_CREATED, response_model=ReportOut
)
async def report(
    review_id: IdPath, body: ReportIn, principal: AccountPrincipal, session: SessionDep
) -> ReviewReport:
    """Report a review to the moderators: once per review, not your own; ``details`` are
    required when the reason is ``other``. The review stays up until a moderator acts."""
    return await reviews.report(
        session, review_id, principal, reason=body.reason, details=body.details
    )
