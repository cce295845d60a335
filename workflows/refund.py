"""Refund an order: money back through its gateway, then licenses revoked, subscriptions
ended and the publishers' earnings reversed; once, however often it is asked for."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.checkout import CheckoutActivities
    from domain import processes
    from domain.checkout import RefundInput
    from workflows.activity_options import ActivityOptions

ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=["not_found", "refund_failed"],
    ),
}


@workflow.defn(name=processes.Refund.TYPE)
class RefundWorkflow:
    @workflow.run
    async def run(self, request: RefundInput) -> list[int]:
        await workflow.execute_activity_method(
            CheckoutActivities.refund_payment, request, **ACTIVITY
        )
        revoked = await workflow.execute_activity_method(
            CheckoutActivities.apply_refund, request, **ACTIVITY
        )
        await workflow.execute_activity_method(
            CheckoutActivities.send_receipt, request.order_id, **ACTIVITY
        )
        return revoked
