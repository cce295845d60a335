"""Listing revisions: a published module's listing edits wait for an admin's review.

``publishing.update_module`` hands the reviewed fields of an edit to ``propose``; the live
listing (public pages, the search index) stays as it is until an admin approves the
revision through its ``ListingRevisionReview`` workflow, which applies it and reindexes.
See ``domain.listing`` for which fields are reviewed.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.decisions import DecisionAction, DecisionReference, DecisionSubject
from domain.errors import NotFound
from domain.listing import (
    REVIEWED_FIELDS,
    RevisionOutcome,
    RevisionReviewRequest,
    RevisionStatus,
    check_revision_decider,
    check_revision_pending,
    reviewed_changes,
)
from integrations.temporal.front_door import StartPolicy, TemporalFrontDoor
from models.module import ListingRevision, MarketplaceModule
from models.repositories import audit, listing_revisions, modules, platform_settings
from settings import Settings

REVIEW_REMINDER_DAYS = "review_reminder_days"


def live_listing(module: MarketplaceModule) -> dict[str, Any]:
    """The module's reviewed fields as buyers see them now."""
    values: dict[str, Any] = to_jsonable_python(
        {field: getattr(module, field) for field in REVIEWED_FIELDS}
    )
    return values


def workflow_id_of(module: MarketplaceModule, revision: ListingRevision) -> str:
    return processes.ListingRevisionReview.workflow_id(module.slug, revision.key)


@dataclass(frozen=True)
class Proposal:
    revision: ListingRevision | None
    """The revision pending after the edit (None: none is)."""
    withdrawn: ListingRevision | None
    """The pending revision the edit replaced, whose review must be told."""


async def propose(
    session: AsyncSession, module: MarketplaceModule, changes: dict[str, Any], *, user_id: int
) -> Proposal:
    """Merge the reviewed fields of ``changes`` over the module's pending revision (a new
    edit replaces it, keeping what it does not touch) into a new pending revision, in the
    caller's transaction; the module (locked by the caller) is not changed. Fields equal
    to the live listing are dropped; an edit that changes nothing keeps the pending one."""
    pending = await listing_revisions.pending_revision(session, module.id)
    sent = to_jsonable_python({f: changes[f] for f in REVIEWED_FIELDS if f in changes})
    merged = (dict(pending.changes) if pending else {}) | sent
    wanted = reviewed_changes(live_listing(module), merged)
    if pending is not None and wanted == pending.changes:
        return Proposal(pending, None)
    if pending is not None:
        listing_revisions.close(pending, RevisionStatus.WITHDRAWN)
        await audit.record(
            session,
            actor_id=user_id,
            action="listing_revision.replace",
            entity_type="module",
            entity_id=module.id,
            changes={"revision": pending.id},
        )
        await session.flush()
    if not wanted:
        return Proposal(None, pending)
    revision = await listing_revisions.add_revision(
        session, module_id=module.id, key=uuid.uuid4().hex, changes=wanted, submitted_by=user_id
    )
    await audit.record(
        session,
        actor_id=user_id,
        action="listing_revision.propose",
        entity_type="module",
        entity_id=module.id,
        changes={"revision": revision.id, "fields": sorted(wanted)},
    )
    return Proposal(revision, pending)


async def review_request(
    session: AsyncSession, module: MarketplaceModule, revision: ListingRevision, settings: Settings
) -> RevisionReviewRequest:
    days = await platform_settings.effective_setting(session, REVIEW_REMINDER_DAYS, None)
    reminder_after = timedelta(days=days) if days is not None else settings.review_reminder_after
    return RevisionReviewRequest(
        revision_id=revision.id,
        module_id=module.id,
        slug=module.slug,
        display_name=module.display_name,
        reminder_after_seconds=reminder_after.total_seconds(),
        escalate_after_reminders=settings.review_escalate_after_reminders,
    )


async def start_reviews(
    workflows: TemporalFrontDoor,
    module: MarketplaceModule,
    proposal: Proposal,
    request: RevisionReviewRequest | None,
) -> None:
    """After the commit: tell the replaced revision's review, start the new one (joining
    it when it runs already: a repeated edit)."""
    if proposal.withdrawn is not None:
        await workflows.signal(
            workflow_id_of(module, proposal.withdrawn), processes.ListingRevisionReview.WITHDRAW
        )
    if proposal.revision is not None and request is not None:
        await workflows.start(
            processes.ListingRevisionReview.TYPE,
            request,
            workflow_id=workflow_id_of(module, proposal.revision),
            policy=StartPolicy.ONCE,
            module_slug=module.slug,
        )


async def withdraw_pending(
    session: AsyncSession, module: MarketplaceModule, *, user_id: int
) -> ListingRevision | None:
    """Withdraw the module's pending revision in the caller's transaction (the module was
    archived, or the publisher took the changes back); the revision, to tell its review."""
    pending = await listing_revisions.pending_revision(session, module.id)
    if pending is None:
        return None
    listing_revisions.close(pending, RevisionStatus.WITHDRAWN)
    await audit.record(
        session,
        actor_id=user_id,
        action="listing_revision.withdraw",
        entity_type="module",
        entity_id=module.id,
        changes={"revision": pending.id},
    )
    return pending


async def tell_withdrawn(
    workflows: TemporalFrontDoor, module: MarketplaceModule, revision: ListingRevision | None
) -> None:
    if revision is not None:
        await workflows.signal(
            workflow_id_of(module, revision), processes.ListingRevisionReview.WITHDRAW
        )


async def latest_for_publisher(session: AsyncSession, module_id: int) -> ListingRevision:
    revision = await listing_revisions.latest_revision(session, module_id)
    if revision is None:
        raise NotFound("no_revision", "this module has no listing revision")
    return revision


# --- the admins' side ---------------------------------------------------------------------


async def pending_queue(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[ListingRevision], int]:
    return await listing_revisions.pending_queue(session, limit=limit, offset=offset)


async def decide_revision(
    session: AsyncSession,
    revision_id: int,
    *,
    admin_id: int,
    action: DecisionAction,
    reason: str | None,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> tuple[ListingRevision, RevisionOutcome]:
    """An admin's decision on a pending revision: recorded as a decision request and sent
    to the revision's review as a reference (``domain.decisions``), which applies it."""
    revision = await listing_revisions.get_revision(session, revision_id)
    if revision is None:
        raise NotFound("revision_not_found", "no such listing revision")
    check_revision_pending(RevisionStatus(revision.status))
    module = revision.module
    owner = await modules.owner_user_id(session, module.id)
    assert owner is not None
    check_revision_decider(admin_id, owner)
    request = await review_request(session, module, revision, settings)
    workflow_id = workflow_id_of(module, revision)
    audit_id = await audit.record_decision_request(
        session,
        admin_id=admin_id,
        subject=DecisionSubject.LISTING_REVISION,
        entity_id=revision.id,
        action=action,
        reason=reason,
    )
    await session.commit()
    outcome = await workflows.update_with_start(
        processes.ListingRevisionReview.TYPE,
        request,
        workflow_id=workflow_id,
        update=processes.ListingRevisionReview.DECIDE,
        update_arg=DecisionReference(admin_id=admin_id, audit_id=audit_id),
        result_type=RevisionOutcome,
        module_slug=module.slug,
    )
    found = await listing_revisions.get_revision(session, revision_id)
    assert found is not None
    await session.refresh(found)
    await session.refresh(found.module)
    return found, outcome
