"""Monthly payouts: a Temporal Schedule at 02:00 UTC on the 1st starts the month's run,
which starts one child workflow per publisher.

- ``MonthlyPayouts`` started by the schedule (id ``monthly-payouts-<time>``, no period)
  works out the month before the *scheduled* time (the ``TemporalScheduledStartTime``
  search attribute the schedule sets; else the workflow's own start time, both recorded in
  history, so replay is deterministic) and runs ``payouts-{YYYY-MM}`` as its child. An
  admin's trigger or backfill starts ``payouts-{YYYY-MM}`` directly.
- ``payouts-{YYYY-MM}`` pages through the publishers to visit (``page_size`` at a time, by
  id), starts ``payout-{publisher}-{YYYY-MM}`` for each and continues as new after each
  page, so its history stays small whatever the number of publishers. Children are
  abandoned, not awaited: a PayPal payout may take days to settle and must not hold up the
  others; the payout rows say how each one went.
- Ids make a repeat a no-op: a month whose run or a publisher whose payout workflow already
  ran (or runs) is not started again (``ALLOW_DUPLICATE_FAILED_ONLY``: only a failed or
  terminated one can be run again), and the payout row is unique per publisher and period
  besides.
- ``Payout`` (one publisher): prepare the row and its entries → processing → transfer
  (retried with backoff under the same idempotency key) → for PayPal, read the batch until
  it settles → completed and the publisher is mailed; a refusal or retries running out →
  failed, the entries stay with the payout for an admin's retry. A manual payout stays
  processing until an admin marks it paid.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.payouts import (
        REFUSED,
        Completion,
        FailureReport,
        Payee,
        PayeePage,
        PayoutActivities,
        PayoutRequest,
        TransferOrder,
        TransferOutcome,
    )
    from domain import processes
    from domain.payouts import (
        MonthlyPayoutsInput,
        MonthlyPayoutsResult,
        PayoutInput,
        PayoutOptions,
        PayoutStatus,
        TransferStatus,
        period_before,
    )
    from workflows.activity_options import ActivityOptions

SCHEDULED_START = SearchAttributeKey.for_datetime(processes.SCHEDULED_START_ATTRIBUTE)
DATABASE_RETRIES = RetryPolicy(
    maximum_interval=timedelta(seconds=30), non_retryable_error_types=["not_found"]
)


def database(options: PayoutOptions) -> ActivityOptions:
    """Options of a database step, with the timeout the run was started with."""
    return {
        "start_to_close_timeout": timedelta(seconds=options.activity_timeout_seconds),
        "retry_policy": DATABASE_RETRIES,
    }


@workflow.defn(name=processes.MonthlyPayouts.TYPE)
class MonthlyPayoutsWorkflow:
    @workflow.run
    async def run(self, request: MonthlyPayoutsInput) -> MonthlyPayoutsResult:
        if request.period is None:
            return await self._run_scheduled_month(request)
        period = request.period
        payees = await workflow.execute_activity_method(
            PayoutActivities.list_payees,
            PayeePage(
                period=period,
                after_publisher_id=request.after_publisher_id,
                limit=request.options.page_size,
            ),
            **database(request.options),
        )
        started = await asyncio.gather(
            *(self._start_payout(payee, period, request.options) for payee in payees)
        )
        done = request.model_copy(
            update={
                "started": request.started + sum(started),
                "skipped": request.skipped + len(started) - sum(started),
            }
        )
        if len(payees) == request.options.page_size:
            workflow.continue_as_new(done.model_copy(update={"after_publisher_id": payees[-1].id}))
        return MonthlyPayoutsResult(period=period, started=done.started, skipped=done.skipped)

    async def _run_scheduled_month(self, request: MonthlyPayoutsInput) -> MonthlyPayoutsResult:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        period = period_before(scheduled or workflow.info().workflow_start_time).label
        try:
            month = await workflow.start_child_workflow(
                MonthlyPayoutsWorkflow.run,
                MonthlyPayoutsInput(period=period, options=request.options),
                id=processes.MonthlyPayouts.workflow_id(period),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return MonthlyPayoutsResult(period=period, started=0, skipped=0, already_ran=True)
        return await month

    async def _start_payout(self, payee: Payee, period: str, options: PayoutOptions) -> bool:
        try:
            await workflow.start_child_workflow(
                PayoutWorkflow.run,
                PayoutInput(publisher_id=payee.id, period=period, options=options),
                id=processes.Payout.workflow_id(payee.slug, period),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True


@workflow.defn(name=processes.Payout.TYPE)
class PayoutWorkflow:
    def __init__(self) -> None:
        self.status = "preparing"

    @workflow.run
    async def run(self, request: PayoutInput) -> str:
        state = await workflow.execute_activity_method(
            PayoutActivities.prepare,
            PayoutRequest(
                publisher_id=request.publisher_id,
                period=request.period,
                workflow_id=workflow.info().workflow_id,
            ),
            **database(request.options),
        )
        self.status = state.status
        if state.payout_id is None or state.status not in (
            PayoutStatus.PENDING,
            PayoutStatus.PROCESSING,
        ):
            return self.status
        order = await workflow.execute_activity_method(
            PayoutActivities.begin_transfer, state.payout_id, **database(request.options)
        )
        if order is None:
            self.status = PayoutStatus.FAILED.value
            return self.status
        self.status = PayoutStatus.PROCESSING.value
        outcome = await self._transfer(order, request.options)
        if outcome is None:
            self.status = PayoutStatus.FAILED.value
        elif outcome.status is TransferStatus.PAID:
            await workflow.execute_activity_method(
                PayoutActivities.complete,
                Completion(payout_id=order.payout_id, external_id=outcome.external_id),
                **database(request.options),
            )
            self.status = PayoutStatus.COMPLETED.value
        return self.status

    async def _transfer(
        self, order: TransferOrder, options: PayoutOptions
    ) -> TransferOutcome | None:
        """The transfer, followed until it settles (or is manual); None once it has been
        recorded as failed."""
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=options.retry_initial_seconds),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=options.retry_max_seconds),
            maximum_attempts=options.transfer_attempts,
            non_retryable_error_types=[REFUSED],
        )
        call: ActivityOptions = {
            "start_to_close_timeout": timedelta(seconds=options.transfer_timeout_seconds),
            "retry_policy": retry,
        }
        deadline = workflow.now() + timedelta(seconds=options.poll_limit_seconds)
        try:
            outcome = await workflow.execute_activity_method(
                PayoutActivities.transfer, order, **call
            )
            while outcome.status is TransferStatus.PENDING:
                if workflow.now() >= deadline:
                    await self._fail(
                        order, "the provider never confirmed the transfer", False, options
                    )
                    return None
                await workflow.sleep(timedelta(seconds=options.poll_interval_seconds))
                outcome = await workflow.execute_activity_method(
                    PayoutActivities.check_transfer,
                    args=[order, outcome.external_id],
                    **call,
                )
        except ActivityError as error:
            cause = error.cause
            refused = isinstance(cause, ApplicationError) and cause.type == REFUSED
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
            if not refused:
                reason = f"unconfirmed after {options.transfer_attempts} tries: {reason}"
            await self._fail(order, reason, refused, options)
            return None
        return outcome

    async def _fail(
        self, order: TransferOrder, reason: str, refused: bool, options: PayoutOptions
    ) -> None:
        await workflow.execute_activity_method(
            PayoutActivities.fail,
            FailureReport(payout_id=order.payout_id, reason=reason, refused=refused),
            **database(options),
        )

    @workflow.query(name=processes.Payout.PROGRESS)
    def progress(self) -> str:
        return self.status


WORKFLOWS = [MonthlyPayoutsWorkflow, PayoutWorkflow]
