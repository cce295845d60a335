"""Review moderation (spec §3.4): the queue of reported reviews, hiding and restoring a
review with a note, resolving or dismissing reports. Every action is audited with its note.

A hidden review leaves the public listings and the module's rating at once (recounted in
the same transaction). Hiding a review resolves its pending reports with the same note:
there is nothing left for them to ask.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, DomainError, NotFound
from domain.reviews import ReportStatus, ReviewStatus
from models.repositories import audit, reviews
from models.repositories.reviews import ReportRow as ReportRow
from models.repositories.reviews import ReviewRow as ReviewRow
from services.accounts import Principal


async def _audit(
    session: AsyncSession,
    admin: Principal,
    action: str,
    kind: str,
    key: int,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        session,
        actor_id=admin.user.id,
        action=action,
        entity_type=kind,
        entity_id=key,
        changes=changes,
    )


async def _set_status(
    session: AsyncSession,
    admin: Principal,
    review_id: int,
    target: ReviewStatus,
    note: str | None,
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
    review.moderated_by = admin.user.id
    review.moderated_at = now
    review.updated_by = admin.user.id
    resolved: list[int] = []
    if target is ReviewStatus.HIDDEN:
        resolved = await reviews.resolve_pending(
            session, review_id, admin_id=admin.user.id, note=note, at=now
        )
    await reviews.refresh_module_rating(session, review.module_id)
    return resolved


async def _view(session: AsyncSession, review_id: int) -> ReviewRow:
    row = await reviews.view(session, review_id)
    assert row is not None
    return row


async def report_queue(
    session: AsyncSession, *, status: ReportStatus, limit: int, offset: int
) -> tuple[list[ReportRow], int]:
    """Reports in a status, oldest first, each with its review."""
    return await reviews.report_queue(session, status=status, limit=limit, offset=offset)


async def hide_review(
    session: AsyncSession, admin: Principal, review_id: int, note: str
) -> ReviewRow:
    """Take a review off the site and out of the rating; the note says why."""
    resolved = await _set_status(session, admin, review_id, ReviewStatus.HIDDEN, note)
    await _audit(
        session,
        admin,
        "review.hide",
        "review",
        review_id,
        {"note": note, "resolved_reports": resolved},
    )
    await session.commit()
    return await _view(session, review_id)


async def restore_review(
    session: AsyncSession, admin: Principal, review_id: int, note: str | None
) -> ReviewRow:
    """Put a hidden review back on the site and in the rating."""
    await _set_status(session, admin, review_id, ReviewStatus.PUBLISHED, note or None)
    await _audit(session, admin, "review.restore", "review", review_id, {"note": note})
    await session.commit()
    return await _view(session, review_id)


async def _close(
    session: AsyncSession,
    admin: Principal,
    report_id: int,
    outcome: ReportStatus,
    note: str | None,
) -> ReportRow:
    report = await reviews.get_report(session, report_id, lock=True)
    if report is None:
        raise NotFound("report_not_found", "no such report")
    if report.status != ReportStatus.PENDING:
        raise Conflict("report_not_pending", f"the report is {report.status} already")
    await reviews.close_report(
        session,
        report,
        status=outcome,
        admin_id=admin.user.id,
        note=note,
        at=datetime.now(UTC),
    )
    return await _report_row(session, report.id)


async def _report_row(session: AsyncSession, report_id: int) -> ReportRow:
    report = await reviews.get_report(session, report_id)
    assert report is not None
    row = await reviews.view(session, report.review_id)
    assert row is not None
    pending = await reviews.pending_count(session, report.review_id)
    return ReportRow(report=report, review=row, pending_reports=pending)


async def resolve_report(
    session: AsyncSession, admin: Principal, report_id: int, *, note: str | None, hide: bool
) -> ReportRow:
    """The report was right. With ``hide``, the review is hidden too (a note is then
    required), which resolves the review's other pending reports as well."""
    note = note or None
    if hide and note is None:
        raise DomainError("note_required", "say why the review is hidden")
    report = await reviews.get_report(session, report_id)
    if report is None:
        raise NotFound("report_not_found", "no such report")
    review_id = report.review_id
    if hide:
        found = await reviews.context(session, review_id)
        assert found is not None
        await reviews.lock_module(session, found.review.module_id)
    out = await _close(session, admin, report_id, ReportStatus.RESOLVED, note)
    if hide:
        review = await reviews.get(session, review_id, lock=True)
        if review is not None and review.status != ReviewStatus.HIDDEN:
            resolved = await _set_status(session, admin, review_id, ReviewStatus.HIDDEN, note)
            await _audit(
                session,
                admin,
                "review.hide",
                "review",
                review_id,
                {"note": note, "resolved_reports": resolved, "via_report": report_id},
            )
            out = await _report_row(session, report_id)
    await _audit(
        session,
        admin,
        "review_report.resolve",
        "review_report",
        report_id,
        {"note": note, "hide": hide, "review_id": review_id},
    )
    await session.commit()
    return out


async def dismiss_report(
    session: AsyncSession, admin: Principal, report_id: int, note: str | None
) -> ReportRow:
    """The report was wrong: the review stays as it is."""
    note = note or None
    out = await _close(session, admin, report_id, ReportStatus.DISMISSED, note)
    await _audit(
        session,
        admin,
        "review_report.dismiss",
        "review_report",
        report_id,
        {"note": note, "review_id": out.report.review_id},
    )
    await session.commit()
    return out
