"""Outbox delivery on a Temporal Schedule: every minute, send the mails that are due.

The schedule skips a tick while the previous run still works through a backlog, and
``trigger_delivery`` starts a run at once (an admin, or code that just queued mail).
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

from integrations.temporal import upsert_schedule

with workflow.unsafe.imports_passed_through():
    from activities.notifications import DeliveryReport, NotificationActivities
    from settings import Settings

SCHEDULE_ID = "notification-delivery"
EVERY = timedelta(minutes=1)


@workflow.defn(name="NotificationDelivery")
class NotificationDeliveryWorkflow:
    @workflow.run
    async def run(self) -> DeliveryReport:
        return await workflow.execute_activity(
            NotificationActivities.deliver_due,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=30)),
        )


WORKFLOWS = [NotificationDeliveryWorkflow]


def delivery_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            NotificationDeliveryWorkflow.run,
            id=SCHEDULE_ID,
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(minutes=15),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the delivery schedule, or bring an existing one in line with the settings
    (a changed task queue, keeping a pause ops set); safe to call on every worker start."""
    await upsert_schedule(client, SCHEDULE_ID, delivery_schedule(settings))


async def trigger_delivery(client: Client) -> None:
    """Run a delivery now instead of at the next tick (skipped if one is running)."""
    await client.get_schedule_handle(SCHEDULE_ID).trigger(overlap=ScheduleOverlapPolicy.SKIP)
