"""Checking an admin's decision update before a workflow acts on it (``domain.decisions``)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.review import ReviewActivities
    from domain.decisions import (
        CLAIMANT_MAX,
        DecisionCheck,
        DecisionReference,
        DecisionSubject,
        VerifiedDecision,
    )

VERIFY_TIMEOUT = timedelta(seconds=30)
VERIFY_RETRIES = RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=10)


def reference_required() -> ApplicationError:
    """The refusal of a decision update that carries a decision instead of a reference
    (the form runs decided before references were introduced have in their histories)."""
    return ApplicationError(
        "a decision update carries a reference to the decision request the API recorded "
        "(admin_id, audit_id), nothing else",
        type="decision_reference_required",
        non_retryable=True,
    )


async def verified_decision(
    reference: DecisionReference, subject: DecisionSubject, entity_id: int
) -> VerifiedDecision:
    """The decision ``reference`` stands for, checked against the database and claimed for
    the update being handled (call it from an update handler). A forged, foreign or reused
    reference fails the update with the refusal's code as the error type."""
    info = workflow.info()
    update = workflow.current_update_info()
    assert update is not None, "called outside an update handler"
    check = DecisionCheck(
        reference=reference,
        subject=subject,
        entity_id=entity_id,
        claimant=f"{info.workflow_id}/{info.run_id}/{update.id}"[:CLAIMANT_MAX],
    )
    try:
        return await workflow.execute_activity_method(
            ReviewActivities.verify_decision,
            check,
            start_to_close_timeout=VERIFY_TIMEOUT,
            retry_policy=VERIFY_RETRIES,
        )
    except ActivityError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type:
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
        raise ApplicationError(
            "the decision request could not be checked; try again",
            type="decision_reference_unchecked",
            non_retryable=True,
        ) from None
