"""Review moderation (spec §3.4): the queue of reported reviews, hiding and restoring a
review with a note, resolving or dismissing reports. Admins only; every action is audited
with its note.

A hidden review leaves the public listings and the module's rating at once (recounted in
the same transaction). Hiding a review resolves its pending reports with the same note:
there is nothing left for them to ask.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminPrincipal, Principal, SessionDep
from api.params import IdPath, Limit, Offset
from api.routers.review_schemas import (
    HideIn,
    ModeratedReviewOut,
    NoteIn,
    ReportDetailOut,
    ResolveIn,
)
from api.schemas import Page
from domain.errors import Conflict, DomainError, NotFound
from domain.reviews import ReportStatus, ReviewStatus
from models.repositories import audit, reviews
from models.repositories.reviews import ReportRow

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


async def _audit(session, principal: Principal, action: str, kind: str, key: int, changes):
    await audit.record(
        session,
        actor_id=principal.user.id,
        action=action,
        entity_type=kind,
        entity_id=key,
        changes=changes,
    )


async def _set_status(
    session, principal: Principal, review_id: int, target: ReviewStatus, note: str | None
) -> list[int]:
    """Hide or restore under the module's lock, recount the rating; on hiding, resolve the
    review's pending reports. Returns the reports resolved."""
    found = await reviews.context(session, review_id)
    if found is None:
        raise NotFound("review_not_found", "no such review")
    await reviews.lock_module(session, found.review.module_id)
    review = await reviews.get(session, review_id, lock=True)
    if review is None:
        raise NotFound("review_not_found", "no such review")
    if review.status == target:
        raise Conflict(f"review_already_{target}", f"the review is {target} already")
    now = datetime.now(UTC)
    review.status = target
    review.moderation_note = note
    review.moderated_by = principal.user.id
    review.moderated_at = now
    review.updated_by = principal.user.id
    resolved: list[int] = []
    if target is ReviewStatus.HIDDEN:
        resolved = await reviews.resolve_pending(
            session, review_id, admin_id=principal.user.id, note=note, at=now
        )
    await reviews.refresh_module_rating(session, review.module_id)
    return resolved


async def _moderated(session, review_id: int) -> ModeratedReviewOut:
    row = await reviews.view(session, review_id)
    assert row is not None
    return ModeratedReviewOut.of(row)


@router.get("/review-reports", response_model=Page[ReportDetailOut])
async def report_queue(
    _: AdminPrincipal,
    session: SessionDep,
    report_status: Annotated[ReportStatus, Query(alias="status")] = ReportStatus.PENDING,
    limit: Limit = 50,
    offset: Offset = 0,
):
    """Reports in a status (pending by default), oldest first, each with its review."""
    rows, total = await reviews.report_queue(
        session, status=report_status, limit=limit, offset=offset
    )
    return Page[ReportDetailOut](
        items=[ReportDetailOut.of(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.post("/reviews/{review_id}/hide", response_model=ModeratedReviewOut)
async def hide_review(
    review_id: IdPath, body: HideIn, principal: AdminPrincipal, session: SessionDep
):
    """Take a review off the site and out of the rating; the note says why."""
    resolved = await _set_status(session, principal, review_id, ReviewStatus.HIDDEN, body.note)
    await _audit(
        session,
        principal,
        "review.hide",
        "review",
        review_id,
        {"note": body.note, "resolved_reports": resolved},
    )
    return await _moderated(session, review_id)


@router.post("/reviews/{review_id}/restore", response_model=ModeratedReviewOut)
async def restore_review(
    review_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: NoteIn | None = None
):
    """Put a hidden review back on the site and in the rating."""
    note = body.note if body else None
    await _set_status(session, principal, review_id, ReviewStatus.PUBLISHED, note or None)
    await _audit(session, principal, "review.restore", "review", review_id, {"note": note})
    return await _moderated(session, review_id)


async def _close(
    session, principal: Principal, report_id: int, outcome: ReportStatus, note: str | None
) -> ReportDetailOut:
    report = await reviews.get_report(session, report_id, lock=True)
    if report is None:
        raise NotFound("report_not_found", "no such report")
    if report.status != ReportStatus.PENDING:
        raise Conflict("report_not_pending", f"the report is {report.status} already")
    await reviews.close_report(
        session,
        report,
        status=outcome,
        admin_id=principal.user.id,
        note=note,
        at=datetime.now(UTC),
    )
    return await _report_out(session, report.id)


async def _report_out(session, report_id: int) -> ReportDetailOut:
    report = await reviews.get_report(session, report_id)
    assert report is not None
    row = await reviews.view(session, report.review_id)
    assert row is not None
    pending = await reviews.pending_count(session, report.review_id)
    return ReportDetailOut.of(ReportRow(report=report, review=row, pending_reports=pending))


@router.post("/review-reports/{report_id}/resolve", response_model=ReportDetailOut)
async def resolve_report(
    report_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: ResolveIn | None = None
):
    """The report was right. With ``hide``, the review is hidden too (a note is then
    required), which resolves the review's other pending reports as well."""
    body = body or ResolveIn()
    note = body.note or None
    if body.hide and note is None:
        raise DomainError("note_required", "say why the review is hidden")
    report = await reviews.get_report(session, report_id)
    if report is None:
        raise NotFound("report_not_found", "no such report")
    review_id = report.review_id
    if body.hide:
        found = await reviews.context(session, review_id)
        assert found is not None
        await reviews.lock_module(session, found.review.module_id)
    out = await _close(session, principal, report_id, ReportStatus.RESOLVED, note)
    if body.hide:
        review = await reviews.get(session, review_id, lock=True)
        if review is not None and review.status != ReviewStatus.HIDDEN:
            resolved = await _set_status(session, principal, review_id, ReviewStatus.HIDDEN, note)
            await _audit(
                session,
                principal,
                "review.hide",
                "review",
                review_id,
                {"note": note, "resolved_reports": resolved, "via_report": report_id},
            )
            out = await _report_out(session, report_id)
    await _audit(
        session,
        principal,
        "review_report.resolve",
        "review_report",
        report_id,
        {"note": note, "hide": body.hide, "review_id": review_id},
    )
    return out


@router.post("/review-reports/{report_id}/dismiss", response_model=ReportDetailOut)
async def dismiss_report(
    report_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: NoteIn | None = None
):
    """The report was wrong: the review stays as it is."""
    note = (body.note if body else None) or None
    out = await _close(session, principal, report_id, ReportStatus.DISMISSED, note)
    await _audit(
        session,
        principal,
        "review_report.dismiss",
        "review_report",
        report_id,
        {"note": note, "review_id": out.review_id},
    )
    return out
