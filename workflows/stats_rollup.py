"""The nightly publisher stats roll-up, started by a Temporal Schedule at 03:00 UTC.

The workflow only fixes the window's end (its own start time, so a retried activity
computes the same figures) and runs the batched, heartbeating roll-up activity.
``ensure_schedules`` creates the schedule when the worker starts, or brings an existing
one up to date: calling it again never makes a second one.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy

from integrations.temporal import upsert_schedule

with workflow.unsafe.imports_passed_through():
    from activities.stats import RollupRequest, RollupResult, StatsActivities
    from settings import Settings

SCHEDULE_ID = "publisher-stats-nightly"
WORKFLOW_ID = "publisher-stats-rollup"
"""Runs started by the schedule get this id with the scheduled time appended."""
RUN_AT_HOUR_UTC = 3
CATCHUP_WINDOW = timedelta(hours=12)
"""A night missed while Temporal was down runs when it comes back, within this long."""


@workflow.defn(name="PublisherStatsRollup")
class StatsRollupWorkflow:
    @workflow.run
    async def run(self, batch_size: int | None = None) -> RollupResult:
        """``batch_size``: publishers per transaction; the schedule passes none."""
        request = RollupRequest(as_of=workflow.now())
        if batch_size is not None:
            request = RollupRequest(as_of=request.as_of, batch_size=batch_size)
        return await workflow.execute_activity_method(
            StatsActivities.rollup_publishers,
            request,
            start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=10),
        )


WORKFLOWS = [StatsRollupWorkflow]


def nightly_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            StatsRollupWorkflow.run,
            id=WORKFLOW_ID,
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(hours=6),
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(RUN_AT_HOUR_UTC)])],
            time_zone_name="UTC",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
    )


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Create the nightly schedule, or bring the existing one to this definition."""
    await upsert_schedule(client, SCHEDULE_ID, nightly_schedule(settings))
