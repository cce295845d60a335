"""Publishers: becoming one, the profile, asking for verification; and the admins'
management of them (list, verify, suspend, reinstate).

``Publisher.status`` is the one switch of a suspension: discovery, search, purchases,
uploads and payouts all read it. Buyers keep their licenses, their downloads and their
license checks. The search engine is told after the commit, like a listing's own edits.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Role, role_after_publisher_registration
from domain.errors import Conflict, DomainError, NotFound
from domain.slugs import slugify
from integrations.search import SearchBackend, reindex_module
from models.publisher import Publisher
from models.repositories import audit, outbox, platform_settings, publishers, users
from models.repositories.listed import SUSPENDED
from models.repositories.publishers import PublisherRow as PublisherRow
from models.repositories.publishers import Revenue
from models.user import User
from services.accounts import require_verified_email
from settings import Settings

log = logging.getLogger("marketplace.admin")

ACTIVE = "active"


# --- the publisher's own account ----------------------------------------------------------


async def become_publisher(
    session: AsyncSession, user: User, values: dict[str, Any], *, settings: Settings
) -> Publisher:
    """Become a publisher, at the platform's commission rate of the day. ``values``: the
    profile fields and ``slug`` (None: made from the display name). The account's address
    must be verified (``email_not_verified``): buyers and payouts must reach whoever
    publishes."""
    if await publishers.get_publisher_of_user(session, user.id) is not None:
        raise Conflict("already_publisher", "this account already has a publisher profile")
    require_verified_email(user, "become a publisher")
    slug = values.get("slug") or slugify(values["display_name"])
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
            **{field: value for field, value in values.items() if field != "slug"},
        ),
    )
    user.role = role_after_publisher_registration(Role(user.role))
    await audit.record(
        session,
        actor_id=user.id,
        action="publisher.register",
        entity_type="publisher",
        entity_id=publisher.id,
        changes={"slug": slug},
    )
    await session.commit()
    await session.refresh(publisher)
    return publisher


async def update_profile(
    session: AsyncSession, publisher: Publisher, changes: dict[str, Any]
) -> Publisher:
    """``changes``: only the fields sent; social links sent as null are emptied."""
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
    await session.commit()
    await session.refresh(publisher)
    return publisher


async def request_verification(session: AsyncSession, publisher: Publisher) -> Publisher:
    """Ask the admins for the verified badge; asking again changes nothing."""
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
    await session.commit()
    await session.refresh(publisher)
    return publisher


# --- the admins' management ---------------------------------------------------------------


@dataclass(frozen=True)
class PublisherDetail:
    row: PublisherRow
    """The publisher, its owner's email and module count."""
    modules_by_status: dict[str, int]
    revenue: list[Revenue]
    """Sales less refunds, per currency."""


async def list_publishers(
    session: AsyncSession,
    *,
    status: str | None,
    verified: bool | None,
    verification_requested: bool | None,
    q: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[PublisherRow], int]:
    """Publishers with their owner's email and module count, filtered and paged. ``q``:
    part of the name, company, slug or owner's email (blank: any)."""
    filters = publishers.AdminFilters(
        status=status,
        verified=verified,
        verification_requested=verification_requested,
        q=q.strip() if q and q.strip() else None,
    )
    return await publishers.admin_list(session, filters, sort=sort, limit=limit, offset=offset)


async def publisher_detail(session: AsyncSession, publisher_id: int) -> PublisherDetail:
    """One publisher: profile, standing, payout details, modules by status, revenue."""
    row = await publishers.admin_row(session, publisher_id)
    if row is None:
        raise NotFound("publisher_not_found", "no such publisher")
    revenue = await publishers.revenue_by_currency(session, row.publisher.id)
    return PublisherDetail(
        row=row,
        modules_by_status=await publishers.modules_by_status(session, row.publisher.id),
        revenue=revenue,
    )


async def _locked(session: AsyncSession, publisher_id: int) -> Publisher:
    publisher = await publishers.get_publisher_for_update(session, publisher_id)
    if publisher is None:
        raise NotFound("publisher_not_found", "no such publisher")
    return publisher


async def _tell_owner(
    session: AsyncSession,
    publisher: Publisher,
    kind: str,
    since: datetime,
    subject: str,
    body: str,
) -> None:
    """Mail the publisher's owner, once per change (``since`` names the change)."""
    owner = await users.get_user(session, publisher.user_id)
    assert owner is not None
    await outbox.enqueue(
        session,
        key=f"{kind}:{publisher.id}:{since.isoformat()}",
        kind=kind,
        to=owner.email,
        subject=subject,
        body=body,
    )


async def _reindex(search: SearchBackend, session: AsyncSession, publisher_id: int) -> None:
    """Bring the search engine in line with the publisher's new standing. A failure here
    leaves a stale document, which search results drop anyway (they are re-read from
    Postgres), so it is logged rather than undoing the committed decision."""
    for module_id in await publishers.module_ids(session, publisher_id):
        try:
            await reindex_module(search, session, module_id)
        except Exception:
            log.warning("re-indexing module %s failed", module_id, exc_info=True)


async def verify_publisher(
    session: AsyncSession, publisher_id: int, *, actor_id: int
) -> PublisherDetail:
    """Mark the publisher verified and tell its owner; verifying again changes nothing."""
    publisher = await _locked(session, publisher_id)
    if not publisher.verified:
        now = datetime.now(UTC)
        publisher.verified = True
        publisher.verification_date = now
        publisher.updated_by = actor_id
        await audit.record(
            session,
            actor_id=actor_id,
            action="publisher.verify",
            entity_type="publisher",
            entity_id=publisher.id,
            changes={"verified": True},
        )
        await _tell_owner(
            session,
            publisher,
            "publisher_verified",
            now,
            "Your publisher account is verified",
            f"{publisher.display_name} now shows as a verified publisher on the marketplace.",
        )
    await session.commit()
    return await publisher_detail(session, publisher_id)


async def suspend_publisher(
    session: AsyncSession,
    publisher_id: int,
    reason: str,
    *,
    actor_id: int,
    search: SearchBackend,
) -> PublisherDetail:
    """Suspend: the publisher's modules leave the marketplace, uploads and sales stop and
    payouts are held. Buyers keep their licenses and downloads."""
    publisher = await _locked(session, publisher_id)
    if publisher.status == SUSPENDED:
        raise Conflict("already_suspended", "this publisher is already suspended")
    before = publisher.status
    publisher.status = SUSPENDED
    publisher.suspended_at = datetime.now(UTC)
    publisher.suspension_reason = reason
    publisher.updated_by = actor_id
    await audit.record(
        session,
        actor_id=actor_id,
        action="publisher.suspend",
        entity_type="publisher",
        entity_id=publisher.id,
        changes={"status": [before, SUSPENDED], "reason": reason},
    )
    await _tell_owner(
        session,
        publisher,
        "publisher_suspended",
        publisher.suspended_at,
        "Your publisher account is suspended",
        f"{publisher.display_name} is suspended: its modules are off the marketplace, "
        f"uploads and payouts are on hold.\n\nReason: {reason}\n",
    )
    await session.commit()
    await _reindex(search, session, publisher_id)
    return await publisher_detail(session, publisher_id)


async def reinstate_publisher(
    session: AsyncSession,
    publisher_id: int,
    note: str | None,
    *,
    actor_id: int,
    search: SearchBackend,
) -> PublisherDetail:
    """Lift a suspension: the modules are listed again and held payouts resume."""
    publisher = await _locked(session, publisher_id)
    if publisher.status != SUSPENDED:
        raise Conflict("not_suspended", "this publisher is not suspended")
    suspended_at = publisher.suspended_at
    previous = {"suspended_at": suspended_at, "reason": publisher.suspension_reason}
    publisher.status = ACTIVE
    publisher.suspended_at = None
    publisher.suspension_reason = None
    publisher.updated_by = actor_id
    await audit.record(
        session,
        actor_id=actor_id,
        action="publisher.reinstate",
        entity_type="publisher",
        entity_id=publisher.id,
        changes={"status": [SUSPENDED, ACTIVE], "note": note, "suspension": previous},
    )
    await _tell_owner(
        session,
        publisher,
        "publisher_reinstated",
        suspended_at or datetime.now(UTC),
        "Your publisher account is active again",
        f"{publisher.display_name} is active again: its modules are back on the "
        "marketplace.\n" + (f"\nNote: {note}\n" if note else ""),
    )
    await session.commit()
    await _reindex(search, session, publisher_id)
    return await publisher_detail(session, publisher_id)
