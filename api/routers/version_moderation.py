"""Admin decisions on versions the pipeline held for manual review."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AdminPrincipal, SessionDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.routers.moderation import ApproveIn, RejectIn
from api.schemas import Page
from api.schemas.versions import VersionDetailOut
from domain.access import Role
from domain.errors import Conflict, NotFound
from domain.ingest import VersionDecision
from domain.versions import VersionStatus
from models.repositories import versions
from services import ingestion

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


class VersionDecisionOut(BaseModel):
    version: VersionDetailOut
    status: VersionStatus


@router.get("/pending-versions", response_model=Page[VersionDetailOut])
async def versions_in_manual_review(
    _: AdminPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
):
    """Versions held for a person (medium findings, audit unavailable), oldest first."""
    rows, total = await versions.in_manual_review(session, limit=limit, offset=offset)
    return Page[VersionDetailOut](
        items=[VersionDetailOut.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


async def _decide(version_id, decision, session, temporal) -> VersionDecisionOut:
    row = await versions.get_version(session, version_id)
    if row is None:
        raise NotFound("version_not_found", "no such version")
    if row.status != VersionStatus.MANUAL_REVIEW or not row.workflow_id:
        raise Conflict("not_in_manual_review", f"the version is {row.status}")
    workflow_id = row.workflow_id
    await session.rollback()
    status = await ingestion.decide(temporal, workflow_id, decision)
    row = await versions.get_version(session, version_id)
    await session.refresh(row)
    return VersionDecisionOut(version=VersionDetailOut.model_validate(row), status=status)


@router.post("/versions/{version_id}/approve", response_model=VersionDecisionOut)
async def approve_version(
    version_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    temporal: WorkflowsDep,
    body: ApproveIn | None = None,
):
    decision = VersionDecision(
        approve=True,
        reason=body.note if body else None,
        admin_id=principal.user.id,
        admin_role=Role(principal.user.role),
    )
    return await _decide(version_id, decision, session, temporal)


@router.post("/versions/{version_id}/reject", response_model=VersionDecisionOut)
async def reject_version(
    version_id: IdPath,
    body: RejectIn,
    principal: AdminPrincipal,
    session: SessionDep,
    temporal: WorkflowsDep,
):
    decision = VersionDecision(
        approve=False,
        reason=body.reason,
        admin_id=principal.user.id,
        admin_role=Role(principal.user.role),
    )
    return await _decide(version_id, decision, session, temporal)
