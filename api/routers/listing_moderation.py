"""Admin decisions on listing revisions: published modules' listing changes under review."""

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.moderation import (
    ApproveIn,
    PendingRevisionOut,
    RejectIn,
    RevisionDecisionOut,
)
from api.schemas.modules import ListingFieldsOut, ModuleOut, revision_out
from domain.decisions import DecisionAction
from services import listing_revisions

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


@router.get("/pending-revisions", response_model=Page[PendingRevisionOut])
async def pending_revisions(
    _: AdminPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> Page[PendingRevisionOut]:
    """Listing changes of published modules waiting for a decision, oldest first, each with
    the listing as buyers see it now."""
    rows, total = await listing_revisions.pending_queue(session, limit=limit, offset=offset)
    items = [
        PendingRevisionOut(
            **revision_out(r, r.module.slug).model_dump(),
            module_slug=r.module.slug,
            publisher_slug=r.module.publisher.slug,
            publisher_name=r.module.publisher.display_name,
            live=ListingFieldsOut.model_validate(r.module),
        )
        for r in rows
    ]
    return Page[PendingRevisionOut](items=items, total=total, limit=limit, offset=offset)


async def _decide(
    revision_id: int,
    action: DecisionAction,
    reason: str | None,
    admin_id: int,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> RevisionDecisionOut:
    revision, _ = await listing_revisions.decide_revision(
        session,
        revision_id,
        admin_id=admin_id,
        action=action,
        reason=reason,
        settings=settings,
        workflows=temporal,
    )
    return RevisionDecisionOut(
        revision=revision_out(revision, revision.module.slug),
        module=ModuleOut.model_validate(revision.module),
    )


@router.post("/revisions/{revision_id}/approve", response_model=RevisionDecisionOut)
async def approve_revision(
    revision_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
    body: ApproveIn | None = None,
) -> RevisionDecisionOut:
    """Approve the listing changes: they go live and into the search index."""
    note = body.note if body else None
    return await _decide(
        revision_id, DecisionAction.APPROVE, note, principal.user.id, session, settings, temporal
    )


@router.post("/revisions/{revision_id}/reject", response_model=RevisionDecisionOut)
async def reject_revision(
    revision_id: IdPath,
    body: RejectIn,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> RevisionDecisionOut:
    """Reject the listing changes: the listing stays as it is; the publisher is mailed
    the reason."""
    return await _decide(
        revision_id,
        DecisionAction.REJECT,
        body.reason,
        principal.user.id,
        session,
        settings,
        temporal,
    )
