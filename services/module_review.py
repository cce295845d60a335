"""Module review: submitting a module starts its review workflow; admins decide through it."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.errors import Conflict
from domain.review import ReviewDecision, ReviewOutcome, ReviewProgress, ReviewRequest
from integrations.temporal.front_door import StartPolicy, TemporalFrontDoor
from models.module import MarketplaceModule
from models.repositories import platform_settings
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
    workflows: TemporalFrontDoor, request: ReviewRequest, decision: ReviewDecision
) -> ReviewOutcome:
    """Send the decision as an update, starting the review first if it was never started."""
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
