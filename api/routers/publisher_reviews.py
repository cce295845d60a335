"""The publisher's side of reviews: read the reviews of its modules and answer them.

One response per review, editable: ``publisher_responded_at`` keeps the time of the first
answer; the review's ``updated_at`` (and the audit log) tell when it last changed. A
review of another publisher's module is as absent as a missing one.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import ActivePublisherDep, PublisherDep, SessionDep
from api.params import IdPath, Limit, Offset
from api.routers.review_schemas import ResponseIn, ReviewOut
from api.schemas import INT32_MAX, Page
from domain.errors import NotFound
from domain.reviews import ReviewStatus
from models.publisher import Publisher
from models.repositories import audit, reviews
from models.review import ModuleReview

router = APIRouter(prefix="/api/v1/publisher/reviews", tags=["publisher"])


async def _own_review(session, publisher: Publisher, review_id: int) -> ModuleReview:
    found = await reviews.context(session, review_id)
    if found is None or found.publisher_id != publisher.id:
        raise NotFound("review_not_found", "no such review of your modules")
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound("review_not_found", "no such review of your modules")
    return review


async def _out(session, review_id: int) -> ReviewOut:
    row = await reviews.view(session, review_id)
    assert row is not None
    return ReviewOut.of(row)


@router.get("", response_model=Page[ReviewOut])
async def list_reviews(
    publisher: PublisherDep,
    session: SessionDep,
    module_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    review_status: Annotated[ReviewStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """Reviews of your modules, hidden ones included (their status says so), newest first."""
    rows, total = await reviews.publisher_page(
        session,
        publisher.id,
        module_id=module_id,
        status=review_status,
        limit=limit,
        offset=offset,
    )
    return Page[ReviewOut](
        items=[ReviewOut.of(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.put("/{review_id}/response", response_model=ReviewOut)
async def respond(
    review_id: IdPath, body: ResponseIn, publisher: ActivePublisherDep, session: SessionDep
):
    """Answer a review of your module, or edit your answer."""
    review = await _own_review(session, publisher, review_id)
    first = review.publisher_response is None
    review.publisher_response = body.response
    if first:
        review.publisher_responded_at = datetime.now(UTC)
    review.updated_by = publisher.user_id
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="review.response." + ("create" if first else "update"),
        entity_type="review",
        entity_id=review_id,
        changes={"response": body.response},
    )
    return await _out(session, review_id)


@router.delete("/{review_id}/response", status_code=status.HTTP_204_NO_CONTENT)
async def remove_response(review_id: IdPath, publisher: ActivePublisherDep, session: SessionDep):
    """Withdraw your answer; nothing happens if there is none."""
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
    return Response(status_code=status.HTTP_204_NO_CONTENT)
