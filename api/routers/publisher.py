"""Publisher accounts: become a publisher, edit the profile, ask for verification."""

from datetime import UTC, datetime

from fastapi import APIRouter, status

from api.deps import (
    AccountPrincipal,
    ActivePublisherDep,
    PublisherDep,
    SessionDep,
    SettingsDep,
)
from api.routers.publisher_schemas import PublisherOut, PublisherRegisterIn, PublisherUpdateIn
from domain.access import role_after_publisher_registration
from domain.errors import Conflict, DomainError
from domain.slugs import slugify
from models.publisher import Publisher
from models.repositories import audit, platform_settings, publishers

router = APIRouter(prefix="/api/v1/publisher", tags=["publisher"])


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=PublisherOut)
async def register_publisher(
    body: PublisherRegisterIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
):
    """Become a publisher, at the platform's commission rate of the day."""
    user = principal.user
    if await publishers.get_publisher_of_user(session, user.id) is not None:
        raise Conflict("already_publisher", "this account already has a publisher profile")
    slug = body.slug or slugify(body.display_name)
    if not slug:
        raise DomainError("slug_required", "choose a slug: the display name has no usable letters")
    platform = await platform_settings.current(session, settings.platform_defaults())
    publisher = await publishers.create_publisher(
        session,
        Publisher(
            user_id=user.id,
            slug=slug,
            created_by=user.id,
            updated_by=user.id,
            commission_rate=platform.commission_rate_percent,
            **body.model_dump(exclude={"slug"}),
        ),
    )
    user.role = role_after_publisher_registration(principal.role)
    await audit.record(
        session,
        actor_id=user.id,
        action="publisher.register",
        entity_type="publisher",
        entity_id=publisher.id,
        changes={"slug": slug},
    )
    await session.refresh(publisher)
    return publisher


@router.get("/profile", response_model=PublisherOut)
async def get_profile(publisher: PublisherDep):
    return publisher


@router.put("/profile", response_model=PublisherOut)
async def update_profile(
    body: PublisherUpdateIn, publisher: ActivePublisherDep, session: SessionDep
):
    changes = body.model_dump(exclude_unset=True)
    if changes.get("display_name", "") is None:
        raise DomainError("display_name_required", "display_name cannot be empty")
    for field, value in changes.items():
        setattr(publisher, field, value if value is not None or field != "social_links" else {})
    publisher.updated_by = publisher.user_id
    await publishers.save_publisher(session, publisher)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="publisher.update",
        entity_type="publisher",
        entity_id=publisher.id,
        changes=changes,
    )
    await session.refresh(publisher)
    return publisher


@router.post("/verify", status_code=status.HTTP_202_ACCEPTED, response_model=PublisherOut)
async def request_verification(publisher: ActivePublisherDep, session: SessionDep):
    if publisher.verified:
        raise Conflict("already_verified", "this publisher is already verified")
    if publisher.verification_requested_at is None:
        publisher.verification_requested_at = datetime.now(UTC)
        await audit.record(
            session,
            actor_id=publisher.user_id,
            action="publisher.verification_requested",
            entity_type="publisher",
            entity_id=publisher.id,
        )
    await session.flush()
    await session.refresh(publisher)
    return publisher
