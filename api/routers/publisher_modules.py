"""A publisher's own module listings: list, create, read, update, archive, submit."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import (
    ActivePublisherDep,
    PublisherDep,
    SearchDep,
    SessionDep,
    SettingsDep,
    WorkflowsDep,
)
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.modules import (
    ModuleCreateIn,
    ModuleOut,
    ModuleUpdateIn,
    ReviewStatusOut,
    SubmissionOut,
)
from domain.modules import ModuleStatus
from models.module import MarketplaceModule
from services import publishing
from services.ownership import own_module

router = APIRouter(prefix="/api/v1/publisher/modules", tags=["publisher modules"])


@router.get("", response_model=Page[ModuleOut])
async def list_my_modules(
    publisher: PublisherDep,
    session: SessionDep,
    status_filter: Annotated[ModuleStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[ModuleOut]:
    items, total = await publishing.list_my_modules(
        session, publisher, status=status_filter, limit=limit, offset=offset
    )
    return Page[ModuleOut](
        items=[ModuleOut.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModuleOut)
async def create_module(
    body: ModuleCreateIn, publisher: ActivePublisherDep, session: SessionDep
) -> MarketplaceModule:
    return await publishing.create_module(session, publisher, body.model_dump())


@router.get("/{module_id}", response_model=ModuleOut)
async def get_my_module(
    module_id: IdPath, publisher: PublisherDep, session: SessionDep
) -> MarketplaceModule:
    return await own_module(session, publisher, module_id)


@router.put("/{module_id}", response_model=ModuleOut)
async def update_module(
    module_id: IdPath,
    body: ModuleUpdateIn,
    publisher: ActivePublisherDep,
    session: SessionDep,
    search: SearchDep,
) -> MarketplaceModule:
    return await publishing.update_module(
        session, publisher, module_id, body.model_dump(exclude_unset=True), search=search
    )


@router.delete("/{module_id}", response_model=ModuleOut)
async def archive_module(
    module_id: IdPath,
    publisher: ActivePublisherDep,
    session: SessionDep,
    search: SearchDep,
    temporal: WorkflowsDep,
) -> MarketplaceModule:
    """Archive: the listing leaves the marketplace; buyers keep what they bought."""
    return await publishing.archive_module(
        session, publisher, module_id, search=search, workflows=temporal
    )


@router.post(
    "/{module_id}/submit", status_code=status.HTTP_202_ACCEPTED, response_model=SubmissionOut
)
async def submit_for_review(
    module_id: IdPath,
    publisher: ActivePublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> SubmissionOut:
    """Send the listing to the review queue. Repeating a submit is harmless."""
    module, workflow_id = await publishing.submit_for_review(
        session, publisher, module_id, settings=settings, workflows=temporal
    )
    return SubmissionOut(
        module=ModuleOut.model_validate(module),
        workflow_id=workflow_id,
        status_url=f"/api/v1/publisher/modules/{module.id}/review",
    )


@router.get("/{module_id}/review", response_model=ReviewStatusOut)
async def review_status(
    module_id: IdPath, publisher: PublisherDep, session: SessionDep, temporal: WorkflowsDep
) -> ReviewStatusOut:
    """Where the review stands: the listing's status and reason, plus live workflow detail."""
    found = await publishing.review_status(session, publisher, module_id, workflows=temporal)
    module = found.module
    return ReviewStatusOut(
        module_id=module.id,
        status=ModuleStatus(module.status),
        rejection_reason=module.rejection_reason,
        submitted_at=module.submitted_at,
        reviewed_at=module.reviewed_at,
        workflow_id=found.workflow_id,
        progress=found.progress,
    )
