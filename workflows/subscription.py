"""A subscription or trial, one billing period per run.

Each run sleeps until its period ends (waking early to send the expiry reminder when the
license will not renew), then charges the saved payment method off-session, retrying on
the dunning schedule, and continues as new for the next period, so the history never
grows. Cancel (at period end) and resume are updates.
"""

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.subscriptions import (
        EndRequest,
        RenewalAttempt,
        SubscriptionActivities,
        SubscriptionState,
        grace_until,
    )
    from domain.checkout import SubscriptionStatus

ACTIVITY = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        maximum_interval=timedelta(minutes=5), non_retryable_error_types=["not_found"]
    ),
}


class SubscriptionInput(BaseModel):
    license_id: int


class SubscriptionView(BaseModel):
    status: SubscriptionStatus
    period_number: int
    cancel_at_period_end: bool
    failed_attempts: int = 0


def subscription_workflow_id(license_id: int) -> str:
    return f"subscription-{license_id}"


@workflow.defn(name="Subscription")
class SubscriptionWorkflow:
    @workflow.init
    def __init__(self, request: SubscriptionInput) -> None:
        self.request = request
        self.state: SubscriptionState | None = None
        self.failed_attempts = 0
        self.woken = False

    @workflow.run
    async def run(self, request: SubscriptionInput) -> SubscriptionStatus:
        reminded = False
        while True:
            state = await self._load()
            if not state.status.is_live:
                return state.status
            now = workflow.now()
            if now >= state.period_end:
                break
            remind_at = state.period_end - timedelta(days=state.reminder_days)
            reminder_due = not state.renews and not reminded and state.reminder_days > 0
            wake_at = remind_at if reminder_due and remind_at > now else state.period_end
            if reminder_due and remind_at <= now:
                await self._remind(state)
                reminded = True
                continue
            if await self._sleep(wake_at - now) and wake_at == remind_at and reminder_due:
                await self._remind(state)
                reminded = True
        if state.cancel_at_period_end:
            await self._end(SubscriptionStatus.CANCELLED, "cancelled")
            return SubscriptionStatus.CANCELLED
        if state.trialing and not state.has_payment_method:
            await self._end(SubscriptionStatus.EXPIRED, "trial_ended")
            return SubscriptionStatus.EXPIRED
        if not await self._charge_with_dunning(state):
            return SubscriptionStatus.EXPIRED
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(request)

    async def _charge_with_dunning(self, state: SubscriptionState) -> bool:
        """Charge the next period; after a decline retry on the dunning schedule, then give
        up. A cancel while dunning ends the subscription at once (its period is over); a
        resume retries at once."""
        delays = [0, *state.dunning_days]
        for attempt, delay in enumerate(delays):
            if delay:
                await self._sleep(timedelta(days=delay))
            current = await self._load()
            if not current.status.is_live:
                return False
            if current.cancel_at_period_end:
                await self._end(SubscriptionStatus.CANCELLED, "cancelled")
                return False
            result = await workflow.execute_activity_method(
                SubscriptionActivities.charge,
                RenewalAttempt(
                    license_id=state.license_id,
                    period_number=state.period_number + 1,
                    attempt=attempt,
                    grace_until=grace_until(workflow.now(), delays[attempt + 1 :]),
                ),
                **ACTIVITY,
            )
            if result.succeeded:
                self.failed_attempts = 0
                return True
            self.failed_attempts = attempt + 1
        await self._end(SubscriptionStatus.EXPIRED, "payment_failed")
        return False

    async def _sleep(self, duration: timedelta) -> bool:
        """Sleep, waking early when an update changes the plan. True if the time ran out."""
        self.woken = False
        try:
            await workflow.wait_condition(lambda: self.woken, timeout=duration)
        except TimeoutError:
            return True
        return False

    async def _load(self) -> SubscriptionState:
        self.state = await workflow.execute_activity_method(
            SubscriptionActivities.load, self.request.license_id, **ACTIVITY
        )
        return self.state

    async def _remind(self, state: SubscriptionState) -> None:
        await workflow.execute_activity_method(
            SubscriptionActivities.remind_expiry,
            args=[state.license_id, state.period_number],
            **ACTIVITY,
        )

    async def _end(self, status: SubscriptionStatus, reason: str) -> None:
        await workflow.execute_activity_method(
            SubscriptionActivities.end,
            EndRequest(license_id=self.request.license_id, status=status, reason=reason),
            **ACTIVITY,
        )

    async def _set_cancel(self, cancel: bool) -> SubscriptionView:
        await workflow.execute_activity_method(
            SubscriptionActivities.set_cancel_at_period_end,
            args=[self.request.license_id, cancel],
            **ACTIVITY,
        )
        await self._load()
        self.woken = True
        return self.view()

    @workflow.update
    async def cancel(self) -> SubscriptionView:
        """Stop renewing: the license stays valid until the period ends."""
        return await self._set_cancel(True)

    @cancel.validator
    def validate_cancel(self) -> None:
        state = self.state
        if state is None or not state.status.is_live:
            raise ApplicationError("the subscription has ended", type="subscription_ended")
        if state.cancel_at_period_end:
            raise ApplicationError("already cancelled at period end", type="already_cancelled")

    @workflow.update
    async def resume(self) -> SubscriptionView:
        """Undo a cancel before the period ends."""
        return await self._set_cancel(False)

    @resume.validator
    def validate_resume(self) -> None:
        state = self.state
        if state is None or not state.status.is_live:
            raise ApplicationError("the subscription has ended", type="subscription_ended")
        if not state.cancel_at_period_end:
            raise ApplicationError("the subscription is not cancelled", type="not_cancelled")

    @workflow.query
    def view(self) -> SubscriptionView:
        state = self.state
        return SubscriptionView(
            status=state.status if state else SubscriptionStatus.ACTIVE,
            period_number=state.period_number if state else 0,
            cancel_at_period_end=state.cancel_at_period_end if state else False,
            failed_attempts=self.failed_attempts,
        )
