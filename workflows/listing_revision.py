"""Listing revision review: proposed listing changes of a published module wait for an
admin; approved, they are applied and indexed; either way the publisher is told."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.review import ReviewActivities
    from activities.search_index import SearchIndexActivities
    from domain import processes
    from domain.decisions import DecisionAction, DecisionReference, DecisionSubject
    from domain.listing import (
        RevisionDecision,
        RevisionOutcome,
        RevisionProgress,
        RevisionReviewRequest,
        RevisionStatus,
    )
    from domain.review import ReviewReminder, reminder_is_escalation
    from workflows.activity_options import ActivityOptions
    from workflows.decisions import verified_decision

ACTIVITY_OPTIONS: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=20),
}
DECIDED = (RevisionStatus.APPROVED, RevisionStatus.REJECTED)


@workflow.defn(name=processes.ListingRevisionReview.TYPE)
class ListingRevisionReviewWorkflow:
    @workflow.init
    def __init__(self, request: RevisionReviewRequest) -> None:
        self.request = request
        self.waiting_since = workflow.now()
        self.decision: RevisionDecision | None = None
        self.withdrawn = False
        self.outcome: RevisionOutcome | None = None
        self.reminders_sent = 0

    @workflow.run
    async def run(self, request: RevisionReviewRequest) -> RevisionOutcome:
        reminder_after = timedelta(seconds=request.reminder_after_seconds)
        while self.decision is None and not self.withdrawn:
            try:
                await workflow.wait_condition(
                    lambda: self.decision is not None or self.withdrawn, timeout=reminder_after
                )
            except TimeoutError:
                await self._remind()
        if self.decision is None:
            self.outcome = RevisionOutcome(
                revision_id=request.revision_id,
                module_id=request.module_id,
                status=RevisionStatus.WITHDRAWN,
            )
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.outcome
        outcome = await workflow.execute_activity_method(
            ReviewActivities.decide_revision, self.decision, **ACTIVITY_OPTIONS
        )
        self.outcome = outcome
        if outcome.status in DECIDED:
            if outcome.status is RevisionStatus.APPROVED:
                await workflow.execute_activity_method(
                    SearchIndexActivities.index_module, request.module_id, **ACTIVITY_OPTIONS
                )
            await workflow.execute_activity_method(
                ReviewActivities.notify_revision, outcome, **ACTIVITY_OPTIONS
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def _remind(self) -> None:
        self.reminders_sent += 1
        await workflow.execute_activity_method(
            ReviewActivities.remind_admins,
            ReviewReminder(
                module_id=self.request.module_id,
                slug=self.request.slug,
                display_name=f"Listing changes of {self.request.display_name}",
                reminder_number=self.reminders_sent,
                escalated=reminder_is_escalation(
                    self.reminders_sent, self.request.escalate_after_reminders
                ),
                waiting_since=self.waiting_since,
            ),
            **ACTIVITY_OPTIONS,
        )

    @workflow.update(name=processes.ListingRevisionReview.DECIDE)
    async def decide(self, reference: DecisionReference) -> RevisionOutcome:
        """An admin's decision: a reference to the decision request the API recorded,
        checked (and claimed) against the database before anything changes."""
        verified = await verified_decision(
            reference, DecisionSubject.LISTING_REVISION, self.request.revision_id
        )
        self._check_open()
        if verified.action is DecisionAction.REJECT and not (verified.reason or "").strip():
            raise ApplicationError(
                "a rejection needs a reason", type="reason_required", non_retryable=True
            )
        self.decision = RevisionDecision(
            revision_id=self.request.revision_id,
            action=verified.action,
            reason=verified.reason,
            admin_id=verified.admin_id,
        )
        await workflow.wait_condition(lambda: self.outcome is not None)
        assert self.outcome is not None
        if self.outcome.status not in DECIDED:
            raise ApplicationError(
                "the revision was withdrawn before the decision was recorded",
                type="revision_withdrawn",
                non_retryable=True,
            )
        return self.outcome

    @decide.validator
    def validate_decide(self, reference: DecisionReference) -> None:
        self._check_open()

    def _check_open(self) -> None:
        if self.decision is not None:
            raise ApplicationError(
                "this revision already has a decision", type="already_decided", non_retryable=True
            )
        if self.withdrawn:
            raise ApplicationError(
                "the revision was replaced or the module archived",
                type="revision_withdrawn",
                non_retryable=True,
            )

    @workflow.signal(name=processes.ListingRevisionReview.WITHDRAW)
    def withdraw(self) -> None:
        """The revision was replaced, or the module archived: stop waiting, unless a
        decision is in."""
        if self.decision is None:
            self.withdrawn = True

    @workflow.query(name=processes.ListingRevisionReview.PROGRESS)
    def progress(self) -> RevisionProgress:
        return RevisionProgress(
            waiting_since=self.waiting_since,
            reminders_sent=self.reminders_sent,
            outcome=self.outcome,
        )
