"""The publisher's side of reviews: read the reviews of its modules and answer them.

One response per review, editable: ``publisher_responded_at`` keeps the time of the first
answer; the review's ``updated_at`` (and the audit log) tell when it last changed. A
review of another publisher's module is as absent as a missing one.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import ActivePublisherDep, PublisherDep, SessionDep
from api.params import IdPath, Limit, Offset
from api.schemas import INT32_MAX, Page
from api.schemas.reviews import ResponseIn, ReviewOut
from domain.reviews import ReviewStatus
from services import reviews

router = APIRouter(prefix="/api/v1/publisher/reviews", tags=["publisher"])


@router.get("", response_model=Page[ReviewOut])
async def list_reviews(
    publisher: PublisherDep,
    session: SessionDep,
    module_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    review_status: Annotated[ReviewStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[ReviewOut]:
    """Reviews of your modules, hidden ones included (their status says so), newest first."""
    rows, total = await reviews.of_publisher(
        session,
        publisher,
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
) -> ReviewOut:
    """Answer a review of your module, or edit your answer."""
    return ReviewOut.of(await reviews.respond(session, publisher, review_id, body.response))


@router.delete("/{review_id}/response", status_code=status.HTTP_204_NO_CONTENT)
async def remove_response(
    review_id: IdPath, publisher: ActivePublisherDep, session: SessionDep
) -> Response:
    """Withdraw your answer; nothing happens if there is none."""
    await reviews.remove_response(session, publisher, review_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
