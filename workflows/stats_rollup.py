"""The nightly publisher stats roll-up, started by a Temporal Schedule at 03:00 UTC
(``integrations.temporal.schedules``).

The workflow only fixes the window's end (its own start time, so a retried activity
computes the same figures) and runs the batched, heartbeating roll-up activity.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.stats import RollupRequest, RollupResult, StatsActivities
    from domain import processes


@workflow.defn(name=processes.PublisherStatsRollup.TYPE)
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
