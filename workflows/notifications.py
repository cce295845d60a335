"""Outbox delivery, run every minute by a Temporal Schedule (``integrations.temporal.
schedules``): send the mails that are due."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import DeliveryReport, NotificationActivities
    from domain import processes


@workflow.defn(name=processes.NotificationDelivery.TYPE)
class NotificationDeliveryWorkflow:
    @workflow.run
    async def run(self) -> DeliveryReport:
        return await workflow.execute_activity_method(
            NotificationActivities.deliver_due,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=30)),
        )


WORKFLOWS = [NotificationDeliveryWorkflow]
