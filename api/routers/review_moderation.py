"""Review moderation (spec §3.4): the queue of reported reviews, hiding and restoring a
review with a note, resolving or dismissing reports. Admins only; every action is audited
with its note (``services.review_moderation``).

A hidden review leaves the public listings and the module's rating at once (recounted in
the same transaction). Hiding a review resolves its pending reports with the same note:
there is nothing left for them to ask.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.reviews import (
    HideIn,
    ModeratedReviewOut,
    NoteIn,
    ReportDetailOut,
    ResolveIn,
)
from domain.reviews import ReportStatus
from services import review_moderation as moderation

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


@router.get("/review-reports", response_model=Page[ReportDetailOut])
async def report_queue(
    _: AdminPrincipal,
    session: SessionDep,
    report_status: Annotated[ReportStatus, Query(alias="status")] = ReportStatus.PENDING,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ReportDetailOut]:
    """Reports in a status (pending by default), oldest first, each with its review."""
    rows, total = await moderation.report_queue(
        session, status=report_status, limit=limit, offset=offset
    )
    return Page[ReportDetailOut](
        items=[ReportDetailOut.of(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.post("/reviews/{review_id}/hide", response_model=ModeratedReviewOut)
async def hide_review(
    review_id: IdPath, body: HideIn, principal: AdminPrincipal, session: SessionDep
) -> ModeratedReviewOut:
    """Take a review off the site and out of the rating; the note says why."""
    row = await moderation.hide_review(session, principal, review_id, body.note)
    return ModeratedReviewOut.of(row)


@router.post("/reviews/{review_id}/restore", response_model=ModeratedReviewOut)
async def restore_review(
    review_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: NoteIn | None = None
) -> ModeratedReviewOut:
    """Put a hidden review back on the site and in the rating."""
    note = body.note if body else None
    row = await moderation.restore_review(session, principal, review_id, note)
    return ModeratedReviewOut.of(row)


@router.post("/review-reports/{report_id}/resolve", response_model=ReportDetailOut)
async def resolve_report(
    report_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: ResolveIn | None = None
) -> ReportDetailOut:
    """The report was right. With ``hide``, the review is hidden too (a note is then
    required), which resolves the review's other pending reports as well."""
    body = body or ResolveIn()
    row = await moderation.resolve_report(
        session, principal, report_id, note=body.note, hide=body.hide
    )
    return ReportDetailOut.of(row)


@router.post("/review-reports/{report_id}/dismiss", response_model=ReportDetailOut)
async def dismiss_report(
    report_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: NoteIn | None = None
) -> ReportDetailOut:
    """The report was wrong: the review stays as it is."""
    row = await moderation.dismiss_report(
        session, principal, report_id, body.note if body else None
    )
    return ReportDetailOut.of(row)
