"""A publisher's own module listings: list, create, read, update, archive, submit."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from api.deps import ActivePublisherDep, PublisherDep, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.routers.module_schemas import (
    NOT_NULLABLE_ON_UPDATE,
    ModuleCreateIn,
    ModuleOut,
    ModuleUpdateIn,
    ReviewStatusOut,
    SubmissionOut,
)
from api.schemas import Page
from domain import modules as rules
from domain import processes
from domain.errors import DomainError
from domain.modules import LicenseType, ModuleStatus, SubscriptionPeriod
from domain.slugs import slugify
from integrations.search import reindex_module
from models.module import MarketplaceModule
from models.repositories import audit, categories, modules, users
from services import module_review
from services.ownership import own_module

router = APIRouter(prefix="/api/v1/publisher/modules", tags=["publisher modules"])

PRICING_FIELDS = ("license_type", "price", "currency", "subscription_period", "trial_days")


async def _check_category(session, category_id: int | None) -> None:
    if category_id is None:
        return
    category = await categories.get_category(session, category_id)
    if category is None or not category.is_active:
        raise DomainError("unknown_category", f"there is no active category {category_id}")


def _checked_price(values: dict) -> Decimal | None:
    period = values.get("subscription_period")
    return rules.check_pricing(
        LicenseType(values["license_type"]),
        values.get("price"),
        values["currency"],
        SubscriptionPeriod(period) if period else None,
        values.get("trial_days"),
    )


@router.get("", response_model=Page[ModuleOut])
async def list_my_modules(
    publisher: PublisherDep,
    session: SessionDep,
    status_filter: Annotated[ModuleStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
):
    items, total = await modules.list_publisher_modules(
        session, publisher.id, status=status_filter, limit=limit, offset=offset
    )
    return Page[ModuleOut](items=items, total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModuleOut)
async def create_module(body: ModuleCreateIn, publisher: ActivePublisherDep, session: SessionDep):
    values = body.model_dump()
    await _check_category(session, body.category_id)
    values["price"] = _checked_price(values)
    values["slug"] = body.slug or slugify(body.display_name) or slugify(body.technical_name)
    module = await modules.save_module(
        session,
        MarketplaceModule(
            publisher_id=publisher.id,
            status=ModuleStatus.DRAFT,
            created_by=publisher.user_id,
            updated_by=publisher.user_id,
            **values,
        ),
    )
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="module.create",
        entity_type="module",
        entity_id=module.id,
        changes={"slug": module.slug, "technical_name": module.technical_name},
    )
    await session.refresh(module)
    return module


@router.get("/{module_id}", response_model=ModuleOut)
async def get_my_module(module_id: IdPath, publisher: PublisherDep, session: SessionDep):
    return await own_module(session, publisher, module_id)


@router.put("/{module_id}", response_model=ModuleOut)
async def update_module(
    module_id: IdPath,
    body: ModuleUpdateIn,
    request: Request,
    publisher: ActivePublisherDep,
    session: SessionDep,
):
    module = await own_module(session, publisher, module_id, lock=True)
    rules.check_editable(ModuleStatus(module.status))
    changes = body.model_dump(exclude_unset=True)
    for field in NOT_NULLABLE_ON_UPDATE & changes.keys():
        if changes[field] is None:
            raise DomainError("field_required", f"{field} cannot be empty")
    if "slug" in changes and changes["slug"] != module.slug:
        rules.check_slug_change(ModuleStatus(module.status))
    if "category_id" in changes:
        await _check_category(session, changes["category_id"])
    if set(PRICING_FIELDS) & changes.keys():
        merged = {field: getattr(module, field) for field in PRICING_FIELDS} | {
            field: changes[field] for field in PRICING_FIELDS if field in changes
        }
        changes["price"] = _checked_price(merged)
    for field, value in changes.items():
        setattr(module, field, value)
    module.updated_by = publisher.user_id
    await modules.save_module(session, module)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="module.update",
        entity_type="module",
        entity_id=module.id,
        changes=changes,
    )
    await session.commit()
    await reindex_module(request.app.state.adapters.search, session, module.id)
    await session.refresh(module)
    return module


@router.delete("/{module_id}", response_model=ModuleOut)
async def archive_module(
    module_id: IdPath,
    request: Request,
    publisher: ActivePublisherDep,
    session: SessionDep,
    temporal: WorkflowsDep,
):
    """Archive: the listing leaves the marketplace; buyers keep what they bought."""
    module = await own_module(session, publisher, module_id, lock=True)
    if module.status == ModuleStatus.ARCHIVED:
        return module
    was_pending = module.status == ModuleStatus.PENDING
    module.status = ModuleStatus.ARCHIVED
    module.archived_at = datetime.now(UTC)
    module.updated_by = publisher.user_id
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="module.archive",
        entity_type="module",
        entity_id=module.id,
    )
    await session.commit()
    await reindex_module(request.app.state.adapters.search, session, module.id)
    if was_pending:
        await module_review.withdraw(temporal, module.slug)
    await session.refresh(module)
    return module


@router.post(
    "/{module_id}/submit", status_code=status.HTTP_202_ACCEPTED, response_model=SubmissionOut
)
async def submit_for_review(
    module_id: IdPath,
    publisher: ActivePublisherDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
):
    """Send the listing to the review queue. Repeating a submit is harmless."""
    module = await own_module(session, publisher, module_id, lock=True)
    after_decision = module.status == ModuleStatus.REJECTED
    if not rules.submission_is_retry(ModuleStatus(module.status)):
        module.status = ModuleStatus.PENDING
        module.submitted_at = datetime.now(UTC)
        module.rejection_reason = None
        module.updated_by = publisher.user_id
        await audit.record(
            session,
            actor_id=publisher.user_id,
            action="module.submit",
            entity_type="module",
            entity_id=module.id,
        )
    owner = await users.get_user(session, publisher.user_id)
    request = await module_review.current_review_request(session, module, owner.email, settings)
    await session.commit()
    workflow_id = await module_review.start_review(temporal, request, after_decision=after_decision)
    await session.refresh(module)
    return SubmissionOut(
        module=ModuleOut.model_validate(module),
        workflow_id=workflow_id,
        status_url=f"/api/v1/publisher/modules/{module.id}/review",
    )


@router.get("/{module_id}/review", response_model=ReviewStatusOut)
async def review_status(
    module_id: IdPath, publisher: PublisherDep, session: SessionDep, temporal: WorkflowsDep
):
    """Where the review stands: the listing's status and reason, plus live workflow detail."""
    module = await own_module(session, publisher, module_id)
    live = None
    if module.status == ModuleStatus.PENDING:
        live = await module_review.progress(temporal, module.slug)
    return ReviewStatusOut(
        module_id=module.id,
        status=ModuleStatus(module.status),
        rejection_reason=module.rejection_reason,
        submitted_at=module.submitted_at,
        reviewed_at=module.reviewed_at,
        workflow_id=processes.ModuleReview.workflow_id(module.slug),
        progress=live,
    )
