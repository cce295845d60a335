"""Starting and talking to the module review workflow from the API."""

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import Conflict, Forbidden
from domain.review import ReviewDecision, ReviewOutcome, ReviewProgress, ReviewRequest
from models.module import MarketplaceModule
from models.repositories import platform_settings
from settings import Settings
from workflows.module_review import MODULE_SLUG, ModuleReviewWorkflow, review_workflow_id

DECISION_ERRORS = {"admin_required": Forbidden}
FINISHING_RUN_WAIT = 30.0
REVIEW_REMINDER_DAYS = "review_reminder_days"


def review_request(
    module: MarketplaceModule,
    publisher_email: str,
    settings: Settings,
    reminder_after: timedelta | None = None,
):
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


def _start_options(request: ReviewRequest, settings: Settings) -> dict:
    return {
        "id": review_workflow_id(request.slug),
        "task_queue": settings.temporal_task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "search_attributes": TypedSearchAttributes(
            [SearchAttributePair(MODULE_SLUG, request.slug)]
        ),
    }


async def start_review(
    client: Client, request: ReviewRequest, settings: Settings, *, after_decision: bool = False
) -> str:
    """Start the review, or find the run already waiting: a retried submit starts nothing.

    ``after_decision``: the module was decided (rejected) and is submitted again. The run
    that decided may still be finishing (indexing, mailing); joining it would make the new
    submission a finished review, so let it end first."""
    if after_decision:
        await _let_finishing_run_end(client, review_workflow_id(request.slug))
    handle = await client.start_workflow(
        ModuleReviewWorkflow.run, request, **_start_options(request, settings)
    )
    return handle.id


async def _let_finishing_run_end(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return
        raise
    if described.status is not WorkflowExecutionStatus.RUNNING:
        return
    try:
        await asyncio.wait_for(handle.result(), timeout=FINISHING_RUN_WAIT)
    except TimeoutError:
        raise Conflict(
            "review_closing", "the previous review is still closing; submit again shortly"
        ) from None
    except WorkflowFailureError:
        pass


async def decide(
    client: Client, request: ReviewRequest, decision: ReviewDecision, settings: Settings
) -> ReviewOutcome:
    """Send the decision as an update, starting the review first if it was never started."""
    start = WithStartWorkflowOperation(
        ModuleReviewWorkflow.run, request, **_start_options(request, settings)
    )
    try:
        return await client.execute_update_with_start_workflow(
            ModuleReviewWorkflow.decide, decision, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type:
            raise DECISION_ERRORS.get(cause.type, Conflict)(cause.type, cause.message) from error
        raise


async def withdraw(client: Client, slug: str) -> None:
    """Tell a waiting review that the module was archived; nothing to do if none waits."""
    try:
        await client.get_workflow_handle(review_workflow_id(slug)).signal(
            ModuleReviewWorkflow.withdraw
        )
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise


async def progress(client: Client, slug: str) -> ReviewProgress | None:
    try:
        return await client.get_workflow_handle(review_workflow_id(slug)).query(
            ModuleReviewWorkflow.progress
        )
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
