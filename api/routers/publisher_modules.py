"""A publisher's own module listings: list, create, read, update, archive, submit."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

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
    ListingRevisionOut,
    ListingUpdateOut,
    ModuleCreateIn,
    ModuleOut,
    ModuleUpdateIn,
    ReviewStatusOut,
    SubmissionOut,
    revision_out,
)
from domain.modules import ModuleStatus
from models.module import MarketplaceModule
from services import listing_revisions, publishing
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


@router.put(
    "/{module_id}",
    response_model=ModuleOut,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": ListingUpdateOut,
            "description": "A published module's listing text or media changed: the changes "
            "wait for review in a revision; the module answered is as buyers still see it",
        }
    },
)
async def update_module(
    module_id: IdPath,
    body: ModuleUpdateIn,
    publisher: ActivePublisherDep,
    session: SessionDep,
    search: SearchDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> MarketplaceModule | Response:
    """Change the fields sent. A draft (or rejected) module changes at once (200). On a
    published module the listing text and media (name, descriptions, category, icon,
    banner, video, screenshots, tags, keywords) go into a revision that waits for an
    admin's review (202), merged over the revision already pending; prices and
    visibility change at once."""
    updated = await publishing.update_module(
        session,
        publisher,
        module_id,
        body.model_dump(exclude_unset=True),
        search=search,
        settings=settings,
        workflows=temporal,
    )
    if updated.revision is None:
        return updated.module
    accepted = ListingUpdateOut(
        module=ModuleOut.model_validate(updated.module),
        revision=revision_out(updated.revision, updated.module.slug),
        status_url=f"/api/v1/publisher/modules/{updated.module.id}/revision",
    )
    return JSONResponse(accepted.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


@router.get("/{module_id}/revision", response_model=ListingRevisionOut)
async def listing_revision(
    module_id: IdPath, publisher: PublisherDep, session: SessionDep
) -> ListingRevisionOut:
    """The module's latest listing revision: pending, or how it was decided (a rejection
    with its reason). 404 ``no_revision`` when it never had one."""
    module = await own_module(session, publisher, module_id)
    revision = await listing_revisions.latest_for_publisher(session, module.id)
    return revision_out(revision, module.slug)


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
