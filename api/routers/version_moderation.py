"""Admin decisions on versions the pipeline held for manual review."""

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.moderation import ApproveIn, RejectIn, VersionDecisionOut
from api.schemas.versions import VersionDetailOut
from domain.ingest import VersionDecision
from services import ingestion

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


@router.get("/pending-versions", response_model=Page[VersionDetailOut])
async def versions_in_manual_review(
    _: AdminPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> Page[VersionDetailOut]:
    """Versions held for a person (medium findings, audit unavailable), oldest first."""
    rows, total = await ingestion.pending_versions(session, limit=limit, offset=offset)
    return Page[VersionDetailOut](
        items=[VersionDetailOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


async def _decide(
    version_id: int, decision: VersionDecision, session: SessionDep, temporal: WorkflowsDep
) -> VersionDecisionOut:
    row, status = await ingestion.decide_version(session, version_id, decision, workflows=temporal)
    return VersionDecisionOut(version=VersionDetailOut.model_validate(row), status=status)


@router.post("/versions/{version_id}/approve", response_model=VersionDecisionOut)
async def approve_version(
    version_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    temporal: WorkflowsDep,
    body: ApproveIn | None = None,
) -> VersionDecisionOut:
    decision = VersionDecision(
        approve=True,
        reason=body.note if body else None,
        admin_id=principal.user.id,
    )
    return await _decide(version_id, decision, session, temporal)


@router.post("/versions/{version_id}/reject", response_model=VersionDecisionOut)
async def reject_version(
    version_id: IdPath,
    body: RejectIn,
    principal: AdminPrincipal,
    session: SessionDep,
    temporal: WorkflowsDep,
) -> VersionDecisionOut:
    decision = VersionDecision(
        approve=False,
        reason=body.reason,
        admin_id=principal.user.id,
    )
    return await _decide(version_id, decision, session, temporal)
