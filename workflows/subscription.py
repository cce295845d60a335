"""A subscription or trial, one billing period per run.

Each run sleeps until its period ends (waking early to send the expiry reminder when the
license will not renew), then charges the saved payment method off-session, retrying on
the dunning schedule, and continues as new for the next period, so the history never
grows. Cancel (at period end) and resume are updates.

Every decision is made on state loaded after the last update landed: an update sets
``woken`` once its change is saved, and the run clears it just before loading, so a load
that raced an update is done again. An update can arrive before a run's first
load (right after a start or a continue-as-new); it waits for the state instead of being
refused.
"""

from datetime import datetime, timedelta

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
    from domain import processes
    from domain.checkout import SubscriptionInput, SubscriptionStatus, SubscriptionView
    from workflows.activity_options import ActivityOptions

ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        maximum_interval=timedelta(minutes=5), non_retryable_error_types=["not_found"]
    ),
}


@workflow.defn(name=processes.Subscription.TYPE)
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
            state = await self._refresh()
            if self.woken:
                continue  # an update landed while loading: look again
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
        ended = await self._charge_with_dunning(state)
        if ended is not None:
            return ended
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(request)

    async def _charge_with_dunning(self, state: SubscriptionState) -> SubscriptionStatus | None:
        """Charge the next period; after a decline retry on the dunning schedule, then give
        up. None when the period is paid, else how the subscription ended. A cancel while
        dunning ends the subscription at once (its period is over).

        Retries are due at fixed offsets from the first attempt (1, 1 + 3, 1 + 3 + 7 days),
        and the license stays valid until the same moment throughout: a day after the last
        retry is due."""
        started = workflow.now()
        offsets = [0, *state.dunning_days]
        grace = grace_until(started, state.dunning_days)
        for attempt in range(len(offsets)):
            # The first attempt goes on the state the run has just loaded (no update has
            # landed since); a retry waits for its day, watching for updates.
            current = (
                await self._wait_until(started + timedelta(days=sum(offsets[: attempt + 1])))
                if attempt
                else state
            )
            if not current.status.is_live:
                return current.status
            if current.cancel_at_period_end:
                await self._end(SubscriptionStatus.CANCELLED, "cancelled")
                return SubscriptionStatus.CANCELLED
            result = await workflow.execute_activity_method(
                SubscriptionActivities.charge,
                RenewalAttempt(
                    license_id=state.license_id,
                    period_number=state.period_number + 1,
                    attempt=attempt,
                    grace_until=grace,
                ),
                **ACTIVITY,
            )
            if result.succeeded:
                self.failed_attempts = 0
                return None
            self.failed_attempts = attempt + 1
        await self._end(SubscriptionStatus.EXPIRED, "payment_failed")
        return SubscriptionStatus.EXPIRED

    async def _wait_until(self, due: datetime) -> SubscriptionState:
        """The state once ``due`` has come, or earlier once the subscription has ended or is
        cancelled (reloaded whenever an update changes it)."""
        while True:
            state = await self._refresh()
            if self.woken:
                continue
            now = workflow.now()
            if not state.status.is_live or state.cancel_at_period_end or now >= due:
                return state
            await self._sleep(due - now)

    async def _sleep(self, duration: timedelta) -> bool:
        """Sleep, waking early when an update changed the plan since the last
        ``_refresh``. True if the time ran out."""
        try:
            await workflow.wait_condition(lambda: self.woken, timeout=duration)
        except TimeoutError:
            return True
        return False

    async def _refresh(self) -> SubscriptionState:
        """Load the state to decide on: updates landing from now on wake the next sleep."""
        self.woken = False
        return await self._load()

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
            EndRequest(
                license_id=self.request.license_id,
                status=status,
                reason=reason,
                at=workflow.now(),
            ),
            **ACTIVITY,
        )

    def _check_change(self, cancel: bool) -> None:
        state = self.state
        assert state is not None
        if not state.status.is_live:
            raise ApplicationError("the subscription has ended", type="subscription_ended")
        if cancel and state.cancel_at_period_end:
            raise ApplicationError("already cancelled at period end", type="already_cancelled")
        if not cancel and not state.cancel_at_period_end:
            raise ApplicationError("the subscription is not cancelled", type="not_cancelled")

    async def _set_cancel(self, cancel: bool) -> SubscriptionView:
        # Accepted before the run's first load: check against the state once it is known
        # (an ApplicationError here fails the update, not the workflow).
        await workflow.wait_condition(lambda: self.state is not None)
        self._check_change(cancel)
        await workflow.execute_activity_method(
            SubscriptionActivities.set_cancel_at_period_end,
            args=[self.request.license_id, cancel],
            **ACTIVITY,
        )
        await self._load()
        self.woken = True
        return self.view()

    @workflow.update(name=processes.Subscription.CANCEL)
    async def cancel(self) -> SubscriptionView:
        """Stop renewing: the license stays valid until the period ends."""
        return await self._set_cancel(True)

    @cancel.validator
    def validate_cancel(self) -> None:
        if self.state is not None:
            self._check_change(True)

    @workflow.update(name=processes.Subscription.RESUME)
    async def resume(self) -> SubscriptionView:
        """Undo a cancel before the period ends."""
        return await self._set_cancel(False)

    @resume.validator
    def validate_resume(self) -> None:
        if self.state is not None:
            self._check_change(False)

    @workflow.query(name=processes.Subscription.VIEW)
    def view(self) -> SubscriptionView:
        state = self.state
        return SubscriptionView(
            status=state.status if state else SubscriptionStatus.ACTIVE,
            period_number=state.period_number if state else 0,
            cancel_at_period_end=state.cancel_at_period_end if state else False,
            failed_attempts=self.failed_attempts,
        )
