"""Queries on listing revisions: proposed listing changes of published modules."""

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from domain.listing import REVIEWED_FIELDS, RevisionStatus
from models.module import ListingRevision, MarketplaceModule


async def add_revision(
    session: AsyncSession, *, module_id: int, key: str, changes: dict[str, Any], submitted_by: int
) -> ListingRevision:
    revision = ListingRevision(
        module_id=module_id,
        key=key,
        changes=to_jsonable_python(changes),
        status=RevisionStatus.PENDING,
        submitted_by=submitted_by,
    )
    session.add(revision)
    await session.flush()
    return revision


async def get_revision(
    session: AsyncSession, revision_id: int, *, lock: bool = False
) -> ListingRevision | None:
    query = (
        select(ListingRevision)
        .options(joinedload(ListingRevision.module))
        .where(ListingRevision.id == revision_id)
    )
    if lock:
        query = query.with_for_update(of=ListingRevision).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def pending_revision(session: AsyncSession, module_id: int) -> ListingRevision | None:
    """The module's revision waiting for review, locked (callers hold the module's lock)."""
    return (
        await session.execute(
            select(ListingRevision)
            .where(
                ListingRevision.module_id == module_id,
                ListingRevision.status == RevisionStatus.PENDING,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def latest_revision(session: AsyncSession, module_id: int) -> ListingRevision | None:
    return (
        await session.execute(
            select(ListingRevision)
            .where(ListingRevision.module_id == module_id)
            .order_by(ListingRevision.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def pending_queue(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[ListingRevision], int]:
    """Revisions waiting for review, the longest waiting first, with module and publisher."""
    where = ListingRevision.status == RevisionStatus.PENDING
    total = (
        await session.execute(select(func.count()).select_from(ListingRevision).where(where))
    ).scalar_one()
    rows = await session.execute(
        select(ListingRevision)
        .options(joinedload(ListingRevision.module).joinedload(MarketplaceModule.publisher))
        .where(where)
        .order_by(ListingRevision.created_at.asc(), ListingRevision.id.asc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


def apply_to_module(revision: ListingRevision, module: MarketplaceModule) -> dict[str, Any]:
    """Write the revision's changes onto the module (reviewed fields only); what changed."""
    applied = {f: v for f, v in revision.changes.items() if f in REVIEWED_FIELDS}
    for field, value in applied.items():
        setattr(module, field, value)
    return applied


def close(
    revision: ListingRevision,
    status: RevisionStatus,
    *,
    decided_by: int | None = None,
    decided_at: datetime | None = None,
    reason: str | None = None,
) -> None:
    revision.status = status
    revision.decided_by = decided_by
    revision.decided_at = decided_at
    revision.rejection_reason = reason
