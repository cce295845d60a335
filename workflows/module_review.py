"""Module review: wait for an admin's decision, remind and escalate while none comes."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.review import ApplyDecisionInput, ReviewActivities
    from activities.search_index import SearchIndexActivities
    from domain import processes
    from domain.decisions import DecisionReference, DecisionSubject
    from domain.errors import DomainError
    from domain.modules import ModuleStatus
    from domain.review import (
        ReviewDecision,
        ReviewOutcome,
        ReviewProgress,
        ReviewReminder,
        ReviewRequest,
        ReviewState,
        check_decision_allowed,
        reminder_is_escalation,
    )
    from workflows.activity_options import ActivityOptions
    from workflows.decisions import reference_required, verified_decision

MODULE_SLUG = SearchAttributeKey.for_keyword(processes.MODULE_SLUG_ATTRIBUTE)
ACTIVITY_OPTIONS: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=20),
}


@workflow.defn(name=processes.ModuleReview.TYPE)
class ModuleReviewWorkflow:
    @workflow.init
    def __init__(self, request: ReviewRequest) -> None:
        self.request = request
        self.state = ReviewState.WAITING
        self.waiting_since = workflow.now()
        self.decision: ReviewDecision | None = None
        self.outcome: ReviewOutcome | None = None
        self.reminders_sent = 0

    @workflow.run
    async def run(self, request: ReviewRequest) -> ReviewOutcome:
        reminder_after = timedelta(seconds=request.reminder_after_seconds)
        while self.decision is None and self.state is ReviewState.WAITING:
            try:
                await workflow.wait_condition(
                    lambda: self.decision is not None or self.state is not ReviewState.WAITING,
                    timeout=reminder_after,
                )
            except TimeoutError:
                await self._remind()
        if self.decision is None:
            self.outcome = ReviewOutcome(module_id=request.module_id, status=ModuleStatus.ARCHIVED)
            # A decision being checked when the module was withdrawn is refused, not lost.
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.outcome
        outcome = await workflow.execute_activity_method(
            ReviewActivities.apply_decision,
            ApplyDecisionInput(module_id=request.module_id, **self.decision.model_dump()),
            **ACTIVITY_OPTIONS,
        )
        if outcome.status is self.decision.resulting_status:
            self.state = ReviewState.DECIDED
            self.outcome = outcome
            if workflow.patched("index-after-review"):
                await workflow.execute_activity_method(
                    SearchIndexActivities.index_module, request.module_id, **ACTIVITY_OPTIONS
                )
            await workflow.execute_activity_method(
                ReviewActivities.notify_publisher, outcome, **ACTIVITY_OPTIONS
            )
        else:
            self.state = ReviewState.WITHDRAWN
            self.outcome = outcome
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def _remind(self) -> None:
        self.reminders_sent += 1
        await workflow.execute_activity_method(
            ReviewActivities.remind_admins,
            ReviewReminder(
                module_id=self.request.module_id,
                slug=self.request.slug,
                display_name=self.request.display_name,
                reminder_number=self.reminders_sent,
                escalated=self._escalated,
                waiting_since=self.waiting_since,
            ),
            **ACTIVITY_OPTIONS,
        )

    @property
    def _escalated(self) -> bool:
        return reminder_is_escalation(self.reminders_sent, self.request.escalate_after_reminders)

    @workflow.update(name=processes.ModuleReview.DECIDE)
    async def decide(self, decision: DecisionReference | ReviewDecision) -> ReviewOutcome:
        """An admin's decision: a reference to the decision request the API recorded,
        checked (and claimed) against the database before anything changes. A plain
        ``ReviewDecision`` only comes from histories of runs decided before references
        (the validator refuses it live), so which path a run takes is in its history."""
        if isinstance(decision, DecisionReference):
            verified = await verified_decision(
                decision, DecisionSubject.MODULE, self.request.module_id
            )
            self._check_open()
            try:
                self.decision = ReviewDecision.model_validate(verified.model_dump())
            except ValueError as invalid:
                raise ApplicationError(
                    str(invalid), type="decision_reference_mismatch", non_retryable=True
                ) from None
        else:
            self.decision = decision
        await workflow.wait_condition(lambda: self.outcome is not None)
        assert self.outcome is not None
        if self.state is ReviewState.WITHDRAWN:
            raise ApplicationError(
                "the module left the review queue before the decision was recorded",
                type="review_withdrawn",
            )
        return self.outcome

    @decide.validator
    def validate_decide(self, decision: DecisionReference | ReviewDecision) -> None:
        if not isinstance(decision, DecisionReference):
            raise reference_required()
        self._check_open()

    def _check_open(self) -> None:
        """Refuse a decision once one is in or the module was withdrawn."""
        state = ReviewState.DECIDED if self.decision is not None else self.state
        try:
            check_decision_allowed(state)
        except DomainError as error:
            raise ApplicationError(error.detail, type=error.code, non_retryable=True) from None

    @workflow.signal(name=processes.ModuleReview.WITHDRAW)
    def withdraw(self) -> None:
        """The publisher archived the module: stop waiting, unless a decision is in."""
        if self.decision is None:
            self.state = ReviewState.WITHDRAWN

    @workflow.query(name=processes.ModuleReview.PROGRESS)
    def progress(self) -> ReviewProgress:
        return ReviewProgress(
            state=self.state,
            waiting_since=self.waiting_since,
            reminders_sent=self.reminders_sent,
            escalated=self.reminders_sent > 0 and self._escalated,
            outcome=self.outcome,
        )
