"""Publisher management for admins: list, verify, suspend, reinstate.

``Publisher.status`` is the one switch of a suspension: discovery, search, purchases,
uploads and payouts all read it. Buyers keep their licenses, their downloads and their
license checks. The search engine is told after the commit, like a listing's own edits.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminPrincipal, SearchDep, SessionDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.publishers import (
    SEARCH_TEXT_MAX,
    AdminPublisherDetail,
    AdminPublisherOut,
    PublisherOut,
    PublisherRevenueOut,
    PublisherSort,
    PublisherStatus,
    ReinstateIn,
    SuspendIn,
)
from services import publishers
from services.publishers import PublisherDetail, PublisherRow

router = APIRouter(prefix="/api/v1/admin/marketplace/publishers", tags=["admin"])


def _summary(row: PublisherRow) -> AdminPublisherOut:
    return AdminPublisherOut(
        **PublisherOut.model_validate(row.publisher).model_dump(),
        owner_email=row.owner_email,
        module_count=row.module_count,
        suspended_at=row.publisher.suspended_at,
        suspension_reason=row.publisher.suspension_reason,
    )


def _detail(found: PublisherDetail) -> AdminPublisherDetail:
    publisher = found.row.publisher
    return AdminPublisherDetail(
        **_summary(found.row).model_dump(),
        user_id=publisher.user_id,
        payout_method=publisher.payout_method,
        paypal_email=publisher.paypal_email,
        stripe_account_id=publisher.stripe_account_id,
        modules_by_status=found.modules_by_status,
        revenue=[PublisherRevenueOut(**vars(line)) for line in found.revenue],
    )


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
) -> Page[AdminPublisherOut]:
    """Publishers with their owner's email and module count, filtered and paged."""
    rows, total = await publishers.list_publishers(
        session,
        status=status.value if status else None,
        verified=verified,
        verification_requested=verification_requested,
        q=q,
        sort=sort.value,
        limit=limit,
        offset=offset,
    )
    return Page[AdminPublisherOut](
        items=[_summary(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{publisher_id}", response_model=AdminPublisherDetail)
async def publisher_details(
    publisher_id: IdPath, _: AdminPrincipal, session: SessionDep
) -> AdminPublisherDetail:
    """One publisher: profile, standing, payout details, modules by status, revenue."""
    return _detail(await publishers.publisher_detail(session, publisher_id))


@router.post("/{publisher_id}/verify", response_model=AdminPublisherDetail)
async def verify_publisher(
    publisher_id: IdPath, principal: AdminPrincipal, session: SessionDep
) -> AdminPublisherDetail:
    """Mark the publisher verified; verifying again changes nothing."""
    return _detail(
        await publishers.verify_publisher(session, publisher_id, actor_id=principal.user.id)
    )


@router.post("/{publisher_id}/suspend", response_model=AdminPublisherDetail)
async def suspend_publisher(
    publisher_id: IdPath,
    body: SuspendIn,
    principal: AdminPrincipal,
    session: SessionDep,
    search: SearchDep,
) -> AdminPublisherDetail:
    """Suspend: the publisher's modules leave the marketplace, uploads and sales stop and
    payouts are held. Buyers keep their licenses and downloads."""
    found = await publishers.suspend_publisher(
        session, publisher_id, body.reason, actor_id=principal.user.id, search=search
    )
    return _detail(found)


@router.post("/{publisher_id}/reinstate", response_model=AdminPublisherDetail)
async def reinstate_publisher(
    publisher_id: IdPath,
    principal: AdminPrincipal,
    session: SessionDep,
    search: SearchDep,
    body: ReinstateIn | None = None,
) -> AdminPublisherDetail:
    """Lift a suspension: the modules are listed again and held payouts resume."""
    found = await publishers.reinstate_publisher(
        session,
        publisher_id,
        body.note if body else None,
        actor_id=principal.user.id,
        search=search,
    )
    return _detail(found)
