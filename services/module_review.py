"""Module review: submitting a module starts its review workflow; admins decide through it."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.decisions import DecisionReference, DecisionSubject
from domain.errors import Conflict, NotFound
from domain.modules import ModuleStatus
from domain.review import (
    ReviewDecision,
    ReviewOutcome,
    ReviewProgress,
    ReviewRequest,
    check_reviewer,
)
from domain.versions import DOWNLOADABLE
from integrations.temporal.front_door import StartPolicy, TemporalFrontDoor
from models.module import MarketplaceModule
from models.repositories import audit, modules, platform_settings, versions
from settings import Settings

FINISHING_RUN_WAIT = timedelta(seconds=30)
REVIEW_REMINDER_DAYS = "review_reminder_days"


def review_request(
    module: MarketplaceModule,
    publisher_email: str,
    settings: Settings,
    reminder_after: timedelta | None = None,
) -> ReviewRequest:
    return ReviewRequest(
        module_id=module.id,
        slug=module.slug,
        display_name=module.display_name,
        publisher_email=publisher_email,
        reminder_after_seconds=(reminder_after or settings.review_reminder_after).total_seconds(),
        escalate_after_reminders=settings.review_escalate_after_reminders,
    )


async def current_review_request(
    session: AsyncSession, module: MarketplaceModule, publisher_email: str, settings: Settings
) -> ReviewRequest:
    """The review request with the reminder delay in force: the admins' platform setting
    ``review_reminder_days`` once set, else the deployment's ``review_reminder_after``."""
    days = await platform_settings.effective_setting(session, REVIEW_REMINDER_DAYS, None)
    reminder_after = timedelta(days=days) if days is not None else None
    return review_request(module, publisher_email, settings, reminder_after)


async def start_review(
    workflows: TemporalFrontDoor, request: ReviewRequest, *, after_decision: bool = False
) -> str:
    """Start the review, or find the run already waiting: a retried submit starts nothing.

    ``after_decision``: the module was decided (rejected) and is submitted again. The run
    that decided may still be finishing (indexing, mailing); joining it would make the new
    submission a finished review, so let it end first."""
    workflow_id = processes.ModuleReview.workflow_id(request.slug)
    if after_decision and not await workflows.wait_closed(workflow_id, FINISHING_RUN_WAIT):
        raise Conflict(
            "review_closing", "the previous review is still closing; submit again shortly"
        )
    await workflows.start(
        processes.ModuleReview.TYPE,
        request,
        workflow_id=workflow_id,
        policy=StartPolicy.JOIN_OR_RESTART,
        module_slug=request.slug,
    )
    return workflow_id


async def decide(
    workflows: TemporalFrontDoor, request: ReviewRequest, decision: DecisionReference
) -> ReviewOutcome:
    """Send the decision (a reference to its recorded request) as an update, starting the
    review first if it was never started."""
    return await workflows.update_with_start(
        processes.ModuleReview.TYPE,
        request,
        workflow_id=processes.ModuleReview.workflow_id(request.slug),
        update=processes.ModuleReview.DECIDE,
        update_arg=decision,
        result_type=ReviewOutcome,
        module_slug=request.slug,
    )


async def withdraw(workflows: TemporalFrontDoor, slug: str) -> None:
    """Tell a waiting review that the module was archived; nothing to do if none waits."""
    await workflows.signal(
        processes.ModuleReview.workflow_id(slug), processes.ModuleReview.WITHDRAW
    )


async def progress(workflows: TemporalFrontDoor, slug: str) -> ReviewProgress | None:
    return await workflows.query(
        processes.ModuleReview.workflow_id(slug),
        processes.ModuleReview.PROGRESS,
        result_type=ReviewProgress,
    )


# --- the admins' side ---------------------------------------------------------------------


async def pending_queue(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[MarketplaceModule], int]:
    """Modules waiting for a decision, the longest waiting first, with their publisher."""
    return await modules.pending_queue(session, limit=limit, offset=offset)


@dataclass(frozen=True)
class ModuleDecided:
    module: MarketplaceModule
    """As the review left it, read after the decision."""
    workflow_id: str


async def decide_module(
    session: AsyncSession,
    module_id: int,
    decision: ReviewDecision,
    *,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> ModuleDecided:
    """An admin's approval or rejection of a pending module, sent to its review workflow,
    which records it (the workflow's validator refuses a decision it cannot take). Refused
    here, before anything is sent, when the admin owns the module or when an approval
    finds no version that passed the pipeline.

    The decision is recorded as a decision request in the audit log and committed; the
    update carries only a reference to it, which the workflow checks against the database
    (``domain.decisions``)."""
    module = await modules.get_module(session, module_id)
    if module is None:
        raise NotFound("module_not_found", "no such module")
    if module.status != ModuleStatus.PENDING:
        raise Conflict(
            "module_not_pending", f"the module is {module.status}, not waiting for review"
        )
    owner = await modules.owner_user_id(session, module.id)
    assert owner is not None
    check_reviewer(
        decision,
        owner_user_id=owner,
        has_downloadable_version=await versions.has_version_in(session, module.id, DOWNLOADABLE),
    )
    found = await modules.module_with_owner_email(session, module.id)
    assert found is not None
    request = await current_review_request(session, module, found[1], settings)
    audit_id = await audit.record_decision_request(
        session,
        admin_id=decision.admin_id,
        subject=DecisionSubject.MODULE,
        entity_id=module.id,
        action=decision.action,
        reason=decision.reason,
    )
    # Commit the request before the workflow reads it, and rather than hold the
    # transaction open while the workflow decides; the module is read back afterwards.
    await session.commit()
    await decide(
        workflows, request, DecisionReference(admin_id=decision.admin_id, audit_id=audit_id)
    )
    module = await modules.get_module(session, module_id)
    assert module is not None
    await session.refresh(module)
    return ModuleDecided(module, processes.ModuleReview.workflow_id(module.slug))
