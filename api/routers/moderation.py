"""Admin module moderation: the pending queue and decisions sent to the review workflow."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import AdminPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.schemas import INT32_MAX, Int, Page, Strict
from api.schemas.modules import ModuleOut
from domain import processes
from domain.access import Role
from domain.errors import Conflict, NotFound
from domain.modules import ModuleStatus
from domain.review import REASON_MAX, DecisionAction, ReviewDecision
from models.repositories import audit, modules
from services import module_review

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


class PendingModuleOut(ModuleOut):
    publisher_slug: str
    publisher_name: str
    waiting_since: datetime | None


class ApproveIn(Strict):
    note: str | None = Field(default=None, max_length=REASON_MAX)


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class DecisionOut(BaseModel):
    module: ModuleOut
    workflow_id: str


@router.get("/pending", response_model=Page[PendingModuleOut])
async def pending_modules(
    _: AdminPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
):
    """Modules waiting for a decision, the longest waiting first."""
    rows, total = await modules.pending_queue(session, limit=limit, offset=offset)
    items = [
        PendingModuleOut(
            **ModuleOut.model_validate(m).model_dump(),
            publisher_slug=m.publisher.slug,
            publisher_name=m.publisher.display_name,
            waiting_since=m.submitted_at,
        )
        for m in rows
    ]
    return Page[PendingModuleOut](items=items, total=total, limit=limit, offset=offset)


async def _decide(module_id, decision, session, settings, temporal) -> DecisionOut:
    module = await modules.get_module(session, module_id)
    if module is None:
        raise NotFound("module_not_found", "no such module")
    if module.status != ModuleStatus.PENDING:
        raise Conflict(
            "module_not_pending", f"the module is {module.status}, not waiting for review"
        )
    found = await modules.module_with_owner_email(session, module.id)
    request = await module_review.current_review_request(session, module, found[1], settings)
    await session.rollback()
    await module_review.decide(temporal, request, decision)
    module = await modules.get_module(session, module_id)
    await session.refresh(module)
    return DecisionOut(
        module=ModuleOut.model_validate(module),
        workflow_id=processes.ModuleReview.workflow_id(module.slug),
    )


@router.post("/modules/{module_id}/approve", response_model=DecisionOut)
async def approve_module(
    module_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
    body: ApproveIn | None = None,
):
    decision = ReviewDecision(
        action=DecisionAction.APPROVE,
        reason=body.note if body else None,
        admin_id=principal.user.id,
        admin_role=Role(principal.user.role),
    )
    return await _decide(module_id, decision, session, settings, temporal)


@router.post("/modules/{module_id}/reject", response_model=DecisionOut)
async def reject_module(
    module_id: IdPath,
    body: RejectIn,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
):
    decision = ReviewDecision(
        action=DecisionAction.REJECT,
        reason=body.reason,
        admin_id=principal.user.id,
        admin_role=Role(principal.user.role),
    )
    return await _decide(module_id, decision, session, settings, temporal)


# --- featuring --------------------------------------------------------------------------


class FeatureIn(Strict):
    order: Int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Place in the featured list, lowest first; omitted: its current place, "
        "or after those with one",
    )


class FeaturedModuleOut(ModuleOut):
    featured_order: int | None


@router.post("/modules/{module_id}/feature", response_model=FeaturedModuleOut)
async def feature_module(
    module_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: FeatureIn | None = None
):
    """Feature a published module on the marketplace's front page, at ``order``; featuring
    it again moves it. It shows while it stays listed."""
    module = await modules.get_module_for_update(session, module_id)
    if module is None:
        raise NotFound("module_not_found", "no such module")
    if module.status != ModuleStatus.PUBLISHED:
        raise Conflict(
            "module_not_published",
            f"the module is {module.status}: only published modules can be featured",
        )
    order = body.order if body is not None else None
    if order is None and module.featured:
        order = module.featured_order
    before = {"featured": module.featured, "featured_order": module.featured_order}
    module.featured, module.featured_order = True, order
    module.updated_by = principal.user.id
    if before != {"featured": True, "featured_order": order}:
        await audit.record(
            session,
            actor_id=principal.user.id,
            action="module.feature",
            entity_type="module",
            entity_id=module.id,
            changes={"before": before, "after": {"featured": True, "featured_order": order}},
        )
    await session.flush()
    await session.refresh(module)
    return module


@router.post("/modules/{module_id}/unfeature", response_model=FeaturedModuleOut)
async def unfeature_module(module_id: IdPath, principal: AdminPrincipal, session: SessionDep):
    """Take a module off the featured list; one not featured is left as it is."""
    module = await modules.get_module_for_update(session, module_id)
    if module is None:
        raise NotFound("module_not_found", "no such module")
    if module.featured or module.featured_order is not None:
        before = {"featured": module.featured, "featured_order": module.featured_order}
        module.featured, module.featured_order = False, None
        module.updated_by = principal.user.id
        await audit.record(
            session,
            actor_id=principal.user.id,
            action="module.unfeature",
            entity_type="module",
            entity_id=module.id,
            changes={"before": before},
        )
        await session.flush()
        await session.refresh(module)
    return module
