"""Admin module moderation: the pending queue and decisions sent to the review workflow."""

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.moderation import (
    ApproveIn,
    DecisionOut,
    FeaturedModuleOut,
    FeatureIn,
    FeatureOut,
    PendingModuleOut,
    RejectIn,
)
from api.schemas.modules import ModuleOut
from domain.review import DecisionAction, ReviewDecision
from services import catalog, module_review

router = APIRouter(prefix="/api/v1/admin/marketplace", tags=["admin"])


@router.get("/pending", response_model=Page[PendingModuleOut])
async def pending_modules(
    _: AdminPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> Page[PendingModuleOut]:
    """Modules waiting for a decision, the longest waiting first."""
    rows, total = await module_review.pending_queue(session, limit=limit, offset=offset)
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


async def _decide(
    module_id: int,
    decision: ReviewDecision,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> DecisionOut:
    decided = await module_review.decide_module(
        session, module_id, decision, settings=settings, workflows=temporal
    )
    return DecisionOut(
        module=ModuleOut.model_validate(decided.module), workflow_id=decided.workflow_id
    )


@router.post("/modules/{module_id}/approve", response_model=DecisionOut)
async def approve_module(
    module_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
    body: ApproveIn | None = None,
) -> DecisionOut:
    decision = ReviewDecision(
        action=DecisionAction.APPROVE,
        reason=body.note if body else None,
        admin_id=principal.user.id,
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
) -> DecisionOut:
    decision = ReviewDecision(
        action=DecisionAction.REJECT,
        reason=body.reason,
        admin_id=principal.user.id,
    )
    return await _decide(module_id, decision, session, settings, temporal)


# --- featuring --------------------------------------------------------------------------


@router.post("/modules/{module_id}/feature", response_model=FeatureOut)
async def feature_module(
    module_id: IdPath, principal: AdminPrincipal, session: SessionDep, body: FeatureIn | None = None
) -> FeatureOut:
    """Feature a published module on the marketplace's front page, at ``order``; featuring
    it again moves it. It shows while it stays listed."""
    module = await catalog.feature_module(
        session, module_id, body.order if body is not None else None, actor_id=principal.user.id
    )
    return FeatureOut(module=FeaturedModuleOut.model_validate(module))


@router.post("/modules/{module_id}/unfeature", response_model=FeatureOut)
async def unfeature_module(
    module_id: IdPath, principal: AdminPrincipal, session: SessionDep
) -> FeatureOut:
    """Take a module off the featured list; one not featured is left as it is."""
    module = await catalog.unfeature_module(session, module_id, actor_id=principal.user.id)
    return FeatureOut(module=FeaturedModuleOut.model_validate(module))
