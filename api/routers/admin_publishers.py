"""Publisher management for admins: list, verify, suspend, reinstate.

``Publisher.status`` is the one switch of a suspension: discovery, search, purchases,
uploads and payouts all read it. Buyers keep their licenses, their downloads and their
license checks. The search engine is told after the commit, like a listing's own edits.
"""

import logging
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath, Limit, Offset
from api.routers.publisher_schemas import PublisherOut
from api.schemas import Page, Strict
from domain.errors import Conflict, NotFound
from domain.review import REASON_MAX
from integrations.search import reindex_module
from models.publisher import Publisher
from models.repositories import audit, outbox, publishers, users
from models.repositories.listed import SUSPENDED

router = APIRouter(prefix="/api/v1/admin/marketplace/publishers", tags=["admin"])
log = logging.getLogger("marketplace.admin")

ACTIVE = "active"
SEARCH_TEXT_MAX = 100


class PublisherStatus(StrEnum):
    ACTIVE = ACTIVE
    SUSPENDED = SUSPENDED


class PublisherSort(StrEnum):
    NEWEST = "newest"
    NAME = "name"
    REVENUE = "revenue"
    """Ledger gross net of refunds, summed over currencies: a ranking only."""


class AdminPublisherOut(PublisherOut):
    owner_email: str
    module_count: int
    suspended_at: datetime | None
    suspension_reason: str | None


class RevenueOut(BaseModel):
    currency: str
    gross: Decimal
    commission: Decimal
    net: Decimal


class AdminPublisherDetail(AdminPublisherOut):
    user_id: int
    payout_method: str
    paypal_email: str | None
    stripe_account_id: str | None
    modules_by_status: dict[str, int]
    revenue: list[RevenueOut] = Field(description="Sales less refunds, per currency")


class SuspendIn(Strict):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class ReinstateIn(Strict):
    note: str | None = Field(default=None, max_length=REASON_MAX)


def _summary(row: publishers.PublisherRow) -> AdminPublisherOut:
    return AdminPublisherOut(
        **PublisherOut.model_validate(row.publisher).model_dump(),
        owner_email=row.owner_email,
        module_count=row.module_count,
        suspended_at=row.publisher.suspended_at,
        suspension_reason=row.publisher.suspension_reason,
    )


async def _detail(session, publisher_id: int) -> AdminPublisherDetail:
    row = await publishers.admin_row(session, publisher_id)
    if row is None:
        raise NotFound("publisher_not_found", "no such publisher")
    publisher = row.publisher
    revenue = await publishers.revenue_by_currency(session, publisher.id)
    return AdminPublisherDetail(
        **_summary(row).model_dump(),
        user_id=publisher.user_id,
        payout_method=publisher.payout_method,
        paypal_email=publisher.paypal_email,
        stripe_account_id=publisher.stripe_account_id,
        modules_by_status=await publishers.modules_by_status(session, publisher.id),
        revenue=[RevenueOut(**vars(line)) for line in revenue],
    )


async def _locked(session, publisher_id: int) -> Publisher:
    publisher = await publishers.get_publisher_for_update(session, publisher_id)
    if publisher is None:
        raise NotFound("publisher_not_found", "no such publisher")
    return publisher


async def _tell_owner(
    session, publisher: Publisher, kind: str, since: datetime, subject: str, body: str
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


async def _reindex(request: Request, session, publisher_id: int) -> None:
    """Bring the search engine in line with the publisher's new standing. A failure here
    leaves a stale document, which search results drop anyway (they are re-read from
    Postgres), so it is logged rather than undoing the committed decision."""
    search = request.app.state.adapters.search
    for module_id in await publishers.module_ids(session, publisher_id):
        try:
            await reindex_module(search, session, module_id)
        except Exception:
            log.warning("re-indexing module %s failed", module_id, exc_info=True)


@router.get("", response_model=Page[AdminPublisherOut])
async def list_publishers(
    _: AdminPrincipal,
    session: SessionDep,
    status: PublisherStatus | None = None,
    verified: bool | None = None,
    verification_requested: Annotated[
        bool | None,
        Query(description="true: asked for verification and not verified yet; false: never"),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=SEARCH_TEXT_MAX,
            pattern=r"^[^\x00]*$",
            description="Part of the name, company, slug or owner's email",
        ),
    ] = None,
    sort: PublisherSort = PublisherSort.NEWEST,
    limit: Limit = 20,
    offset: Offset = 0,
):
    """Publishers with their owner's email and module count, filtered and paged."""
    filters = publishers.AdminFilters(
        status=status.value if status else None,
        verified=verified,
        verification_requested=verification_requested,
        q=q.strip() if q and q.strip() else None,
    )
    rows, total = await publishers.admin_list(
        session, filters, sort=sort.value, limit=limit, offset=offset
    )
    return Page[AdminPublisherOut](
        items=[_summary(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{publisher_id}", response_model=AdminPublisherDetail)
async def publisher_details(publisher_id: IdPath, _: AdminPrincipal, session: SessionDep):
    """One publisher: profile, standing, payout details, modules by status, revenue."""
    return await _detail(session, publisher_id)


@router.post("/{publisher_id}/verify", response_model=AdminPublisherDetail)
async def verify_publisher(publisher_id: IdPath, principal: AdminPrincipal, session: SessionDep):
    """Mark the publisher verified; verifying again changes nothing."""
    publisher = await _locked(session, publisher_id)
    if not publisher.verified:
        now = datetime.now(UTC)
        publisher.verified = True
        publisher.verification_date = now
        publisher.updated_by = principal.user.id
        await audit.record(
            session,
            actor_id=principal.user.id,
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
    await session.flush()
    return await _detail(session, publisher_id)


@router.post("/{publisher_id}/suspend", response_model=AdminPublisherDetail)
async def suspend_publisher(
    publisher_id: IdPath,
    body: SuspendIn,
    request: Request,
    principal: AdminPrincipal,
    session: SessionDep,
):
    """Suspend: the publisher's modules leave the marketplace, uploads and sales stop and
    payouts are held. Buyers keep their licenses and downloads."""
    publisher = await _locked(session, publisher_id)
    if publisher.status == SUSPENDED:
        raise Conflict("already_suspended", "this publisher is already suspended")
    before = publisher.status
    publisher.status = SUSPENDED
    publisher.suspended_at = datetime.now(UTC)
    publisher.suspension_reason = body.reason
    publisher.updated_by = principal.user.id
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="publisher.suspend",
        entity_type="publisher",
        entity_id=publisher.id,
        changes={"status": [before, SUSPENDED], "reason": body.reason},
    )
    await _tell_owner(
        session,
        publisher,
        "publisher_suspended",
        publisher.suspended_at,
        "Your publisher account is suspended",
        f"{publisher.display_name} is suspended: its modules are off the marketplace, "
        f"uploads and payouts are on hold.\n\nReason: {body.reason}\n",
    )
    await session.commit()
    await _reindex(request, session, publisher_id)
    return await _detail(session, publisher_id)


@router.post("/{publisher_id}/reinstate", response_model=AdminPublisherDetail)
async def reinstate_publisher(
    publisher_id: IdPath,
    request: Request,
    principal: AdminPrincipal,
    session: SessionDep,
    body: ReinstateIn | None = None,
):
    """Lift a suspension: the modules are listed again and held payouts resume."""
    publisher = await _locked(session, publisher_id)
    if publisher.status != SUSPENDED:
        raise Conflict("not_suspended", "this publisher is not suspended")
    note = body.note if body else None
    previous = {"suspended_at": publisher.suspended_at, "reason": publisher.suspension_reason}
    publisher.status = ACTIVE
    publisher.suspended_at = None
    publisher.suspension_reason = None
    publisher.updated_by = principal.user.id
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="publisher.reinstate",
        entity_type="publisher",
        entity_id=publisher.id,
        changes={"status": [SUSPENDED, ACTIVE], "note": note, "suspension": previous},
    )
    await _tell_owner(
        session,
        publisher,
        "publisher_reinstated",
        previous["suspended_at"] or datetime.now(UTC),
        "Your publisher account is active again",
        f"{publisher.display_name} is active again: its modules are back on the "
        "marketplace.\n" + (f"\nNote: {note}\n" if note else ""),
    )
    await session.commit()
    await _reindex(request, session, publisher_id)
    return await _detail(session, publisher_id)
