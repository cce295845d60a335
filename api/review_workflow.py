"""Starting and talking to the module review workflow from the API."""

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
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
from settings import Settings
from workflows.module_review import MODULE_SLUG, ModuleReviewWorkflow, review_workflow_id

DECISION_ERRORS = {"admin_required": Forbidden}


def review_request(module: MarketplaceModule, publisher_email: str, settings: Settings):
    return ReviewRequest(
        module_id=module.id,
        slug=module.slug,
        display_name=module.display_name,
        publisher_email=publisher_email,
        reminder_after_seconds=settings.review_reminder_after.total_seconds(),
        escalate_after_reminders=settings.review_escalate_after_reminders,
    )


def _start_options(request: ReviewRequest, settings: Settings) -> dict:
    return {
        "id": review_workflow_id(request.slug),
        "task_queue": settings.temporal_task_queue,
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "search_attributes": TypedSearchAttributes(
            [SearchAttributePair(MODULE_SLUG, request.slug)]
        ),
    }


async def start_review(client: Client, request: ReviewRequest, settings: Settings) -> str:
    """Start the review, or find the run already waiting: a retried submit starts nothing."""
    handle = await client.start_workflow(
        ModuleReviewWorkflow.run, request, **_start_options(request, settings)
    )
    return handle.id


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
