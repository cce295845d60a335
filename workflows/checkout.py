"""Checkout to license: create the payment, wait for its confirmation, then issue the
licenses and book the earnings; refund (compensation) if that fails for good after payment.

The confirmation arrives as the ``confirm`` update (the buyer approved) or the
``payment_changed`` signal (a verified webhook). Neither carries the payment's state: each
makes the workflow read it back from the gateway, so forged, repeated or out-of-order
notifications cannot mark an order paid.

The buyer may give a waiting payment up with the ``cancel`` update: it is cancelled at the
gateway and the order closed ``cancelled``. Every gateway step runs under one lock, so a
cancel, a confirmation, a webhook and the expiry are applied one after the other, and what
the gateway answers the cancel decides: a payment that went through first wins.

Replay: the cancel's steps only ever follow a ``cancel`` update in the history, and the
other paths ask for the same steps as before (the checks added for a cancelled stage are
never true in a run that got no cancel), so no ``workflow.patched`` is needed; the
``Checkout-cancelled-by-buyer`` history replays the new path.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.checkout import CheckoutActivities, FulfilmentResult
    from domain import processes
    from domain.checkout import (
        CANCELLED_BY_BUYER,
        CheckoutInput,
        CheckoutProgress,
        CheckoutStage,
        OrderStatus,
        PaymentInstructions,
        PaymentStatus,
        PaymentView,
        RefundInput,
        SubscriptionInput,
    )
    from workflows.activity_options import ActivityOptions
    from workflows.subscription import SubscriptionWorkflow

CONFIRM_ANSWER_WITHIN = timedelta(seconds=15)
"""The confirm update answers by then even if fulfilment is still retrying."""
WAITING = (PaymentStatus.REQUIRES_ACTION.value, PaymentStatus.PROCESSING.value)
UNPAID = (PaymentStatus.DECLINED.value, PaymentStatus.CANCELED.value)


def gateway_call(request: CheckoutInput) -> ActivityOptions:
    return {
        "start_to_close_timeout": timedelta(seconds=request.activity_timeout_seconds),
        "retry_policy": RetryPolicy(
            maximum_interval=timedelta(minutes=1),
            non_retryable_error_types=["not_found", "refund_failed", "order_not_paid"],
        ),
    }


def fulfilment_call(request: CheckoutInput) -> ActivityOptions:
    return {
        "start_to_close_timeout": timedelta(seconds=request.activity_timeout_seconds),
        "retry_policy": RetryPolicy(
            maximum_interval=timedelta(seconds=30),
            maximum_attempts=20,
            non_retryable_error_types=["not_found", "order_not_paid"],
        ),
    }


@workflow.defn(name=processes.Checkout.TYPE)
class CheckoutWorkflow:
    @workflow.init
    def __init__(self, request: CheckoutInput) -> None:
        self.request = request
        self.stage = CheckoutStage.CREATING_PAYMENT
        self.payment: PaymentView | None = None
        self.failure_code: str | None = None
        self.license_ids: list[int] = []
        self.gateway_lock = asyncio.Lock()

    @workflow.run
    async def run(self, request: CheckoutInput) -> CheckoutProgress:
        if request.free:
            self.payment = PaymentView(status=PaymentStatus.SUCCEEDED.value)
        else:
            self.payment = await workflow.execute_activity_method(
                CheckoutActivities.create_payment,
                PaymentInstructions(
                    **request.model_dump(include=set(PaymentInstructions.model_fields))
                ),
                **gateway_call(self.request),
            )
            if self.payment.status in WAITING:
                await self._await_confirmation(request)
        if self.payment.status != PaymentStatus.SUCCEEDED:
            if self.stage not in (CheckoutStage.EXPIRED, CheckoutStage.CANCELLED):
                await self._close(request, CheckoutStage.FAILED, self.payment.decline_code)
            return await self._finish()
        await self._fulfil(request)
        return await self._finish()

    async def _await_confirmation(self, request: CheckoutInput) -> None:
        self.stage = CheckoutStage.AWAITING_PAYMENT
        deadline = workflow.now() + timedelta(seconds=request.confirm_timeout_seconds)
        while self.payment is not None and self.payment.status in WAITING:
            remaining = (deadline - workflow.now()).total_seconds()
            try:
                await workflow.wait_condition(
                    lambda: self.payment is None or self.payment.status not in WAITING,
                    timeout=max(remaining, 0.001),
                )
            except TimeoutError:
                async with self.gateway_lock:
                    if self.stage is CheckoutStage.CANCELLED:
                        return  # the buyer's cancel took the lock first and closed it
                    self.payment = await workflow.execute_activity_method(
                        CheckoutActivities.cancel_payment,
                        request.order_id,
                        **gateway_call(self.request),
                    )
                if self.payment.status != PaymentStatus.SUCCEEDED:
                    await self._close(request, CheckoutStage.EXPIRED, "payment_not_confirmed")
                return

    async def _close(self, request: CheckoutInput, stage: CheckoutStage, code: str | None) -> None:
        self.stage = stage
        self.failure_code = code or "payment_declined"
        status = OrderStatus.EXPIRED if stage is CheckoutStage.EXPIRED else OrderStatus.FAILED
        workflow.logger.info("checkout %s: %s", status.value, self.failure_code)
        await workflow.execute_activity_method(
            CheckoutActivities.close_unpaid,
            args=[request.order_id, status.value, self.failure_code],
            **gateway_call(self.request),
        )

    async def _fulfil(self, request: CheckoutInput) -> None:
        self.stage = CheckoutStage.FULFILLING
        await workflow.execute_activity_method(
            CheckoutActivities.mark_paid, request.order_id, **gateway_call(self.request)
        )
        try:
            result: FulfilmentResult = await workflow.execute_activity_method(
                CheckoutActivities.fulfil, request.order_id, **fulfilment_call(self.request)
            )
        except ActivityError:
            await self._compensate(request)
            return
        self.license_ids = result.license_ids
        for subscription in result.subscriptions:
            await workflow.start_child_workflow(
                SubscriptionWorkflow.run,
                SubscriptionInput(license_id=subscription.license_id),
                id=subscription.workflow_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        await workflow.execute_activity_method(
            CheckoutActivities.send_receipt, request.order_id, **gateway_call(self.request)
        )
        self.stage = CheckoutStage.COMPLETED
        workflow.logger.info("checkout completed with %d license(s)", len(self.license_ids))

    async def _compensate(self, request: CheckoutInput) -> None:
        """Paid, but the licenses cannot be issued: give the money back."""
        refund = RefundInput(
            order_id=request.order_id, initiated_by="system", reason="fulfilment failed"
        )
        await workflow.execute_activity_method(
            CheckoutActivities.refund_payment, refund, **gateway_call(self.request)
        )
        await workflow.execute_activity_method(
            CheckoutActivities.apply_refund, refund, **gateway_call(self.request)
        )
        self.stage = CheckoutStage.FAILED
        self.failure_code = "fulfilment_failed"
        workflow.logger.warning("paid, but the licenses could not be issued: refunded")

    async def _finish(self) -> CheckoutProgress:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.progress()

    @workflow.update(name=processes.Checkout.CONFIRM)
    async def confirm(self) -> CheckoutProgress:
        """The buyer approved the payment (3-D Secure, PayPal): confirm it, then answer with
        where the checkout stands."""
        async with self.gateway_lock:
            if self.stage is CheckoutStage.AWAITING_PAYMENT:
                self.payment = await workflow.execute_activity_method(
                    CheckoutActivities.confirm_payment, self._order_id, **gateway_call(self.request)
                )
        try:
            await workflow.wait_condition(
                lambda: (
                    self.stage not in (CheckoutStage.AWAITING_PAYMENT, CheckoutStage.FULFILLING)
                    or (self.payment is not None and self.payment.status in WAITING)
                ),
                timeout=CONFIRM_ANSWER_WITHIN,
            )
        except TimeoutError:
            pass
        return self.progress()

    @confirm.validator
    def validate_confirm(self) -> None:
        if self.stage in (CheckoutStage.CREATING_PAYMENT,):
            raise ApplicationError("the payment is still being created", type="payment_not_ready")

    @workflow.update(name=processes.Checkout.CANCEL)
    async def cancel(self) -> CheckoutProgress:
        """The buyer gave the waiting payment up (left the 3-D Secure step or PayPal's
        approval): cancel it at the gateway, then close the order ``cancelled`` and give
        its coupon use back; the cart was never touched. Answers once that is done.

        The gateway's answer decides a race with a confirmation: a payment it reports
        succeeded (the buyer approved meanwhile, a confirm or webhook took the lock first)
        is fulfilled as usual and the cancel refused with ``order_paid``; one it is still
        processing cannot be cancelled (``payment_processing``). Cancelling again answers
        where the cancelled checkout stands."""
        async with self.gateway_lock:
            if self.stage is CheckoutStage.AWAITING_PAYMENT and self._payment_waits():
                payment = await workflow.execute_activity_method(
                    CheckoutActivities.cancel_payment, self._order_id, **gateway_call(self.request)
                )
                if payment.status in UNPAID:
                    self.stage = CheckoutStage.CANCELLED
                    self.failure_code = CANCELLED_BY_BUYER
                self.payment = payment
                if self.stage is CheckoutStage.CANCELLED:
                    workflow.logger.info("checkout cancelled by the buyer")
                    await workflow.execute_activity_method(
                        CheckoutActivities.close_unpaid,
                        args=[self._order_id, OrderStatus.CANCELLED.value, CANCELLED_BY_BUYER],
                        **gateway_call(self.request),
                    )
        if self.stage is CheckoutStage.CANCELLED:
            return self.progress()
        self._refuse_cancel()
        raise ApplicationError(  # declined while the cancel waited for the lock
            "the payment was declined before the cancel: nothing was charged",
            type="order_not_pending",
        )

    @cancel.validator
    def validate_cancel(self) -> None:
        if self.stage is CheckoutStage.CANCELLED:
            return
        if self.stage is CheckoutStage.CREATING_PAYMENT:
            raise ApplicationError(
                "the payment is still being created; cancel again in a moment",
                type="payment_not_ready",
            )
        self._refuse_cancel()

    def _refuse_cancel(self) -> None:
        """Refuse a cancel that comes too late: the checkout ended unpaid, the payment went
        through, or the gateway is already processing it."""
        if self.stage in (CheckoutStage.FAILED, CheckoutStage.EXPIRED):
            raise ApplicationError(
                f"the checkout has ended ({self.stage.value}): nothing was charged",
                type="order_not_pending",
            )
        if self.stage in (CheckoutStage.FULFILLING, CheckoutStage.COMPLETED) or (
            self.payment is not None and self.payment.status == PaymentStatus.SUCCEEDED
        ):
            raise ApplicationError(
                "the payment went through first: the order is paid", type="order_paid"
            )
        if self.payment is not None and self.payment.status == PaymentStatus.PROCESSING:
            raise ApplicationError(
                "the gateway is processing the payment and it can no longer be cancelled; "
                "follow the order for its outcome",
                type="payment_processing",
            )

    def _payment_waits(self) -> bool:
        return self.payment is not None and self.payment.status in WAITING

    @workflow.signal(name=processes.Checkout.PAYMENT_CHANGED)
    async def payment_changed(self) -> None:
        """A verified webhook: look at the payment again. One still waiting for the buyer
        is then confirmed as ``confirm`` would, so a buyer who approved on PayPal
        (CHECKOUT.ORDER.APPROVED) and closed the tab is still charged and licensed. Stripe
        and PayPal confirm only what they themselves report approved, whatever the webhook
        said; the local gateway, whose confirm stands in for the buyer, sends no webhooks
        (and a webhook only wakes orders of its own gateway)."""
        async with self.gateway_lock:
            if self.stage is CheckoutStage.AWAITING_PAYMENT:
                self.payment = await workflow.execute_activity_method(
                    CheckoutActivities.refresh_payment, self._order_id, **gateway_call(self.request)
                )
                if self.payment.status == PaymentStatus.REQUIRES_ACTION:
                    self.payment = await workflow.execute_activity_method(
                        CheckoutActivities.confirm_payment,
                        self._order_id,
                        **gateway_call(self.request),
                    )

    @property
    def _order_id(self) -> int:
        return self.request.order_id

    @workflow.query(name=processes.Checkout.PROGRESS)
    def progress(self) -> CheckoutProgress:
        return CheckoutProgress(
            stage=self.stage,
            payment=self.payment,
            failure_code=self.failure_code,
            license_ids=self.license_ids,
        )
