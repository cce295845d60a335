"""The Temporal Schedules that start the periodic processes, and keeping them as defined.

``ensure_schedules`` runs at every worker start: it creates each schedule, or brings an
existing one to this definition (a changed task queue, say) while keeping the state ops
gave it (a pause and its note); it never makes a second one.
"""

import dataclasses
from collections.abc import Iterable
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.payouts import MonthlyPayoutsInput
from domain.processes import MonthlyPayouts, NotificationDelivery, PublisherStatsRollup
from integrations.wiring import payout_options_from
from settings import Settings

DELIVERY_EVERY = timedelta(minutes=1)
ROLLUP_AT_HOUR_UTC = 3
ROLLUP_CATCHUP_WINDOW = timedelta(hours=12)
"""A night missed while Temporal was down runs when it comes back, within this long."""
PAYOUTS_CATCHUP_WINDOW = timedelta(days=27)


def notification_delivery(settings: Settings) -> Schedule:
    """Every minute; a tick is skipped while the previous run still works through a
    backlog."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            NotificationDelivery.TYPE,
            id=NotificationDelivery.WORKFLOW_ID,
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(minutes=15),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=DELIVERY_EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def publisher_stats_nightly(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PublisherStatsRollup.TYPE,
            id=PublisherStatsRollup.WORKFLOW_ID,
            task_queue=settings.temporal_task_queue,
            execution_timeout=timedelta(hours=6),
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(ROLLUP_AT_HOUR_UTC)])],
            time_zone_name="UTC",
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=ROLLUP_CATCHUP_WINDOW
        ),
    )


def monthly_payouts(settings: Settings) -> Schedule:
    """02:00 UTC on the 1st of every month, paying the month before; a run still going when
    the next is due is not doubled (overlap: skip), and a run missed while the cluster was
    down is caught up within the catch-up window (its period comes from its scheduled
    time)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MonthlyPayouts.TYPE,
            MonthlyPayoutsInput(options=payout_options_from(settings)),
            id=MonthlyPayouts.SCHEDULE_ID,
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=(ScheduleRange(0),),
                    minute=(ScheduleRange(0),),
                    hour=(ScheduleRange(2),),
                    day_of_month=(ScheduleRange(1),),
                    comment="02:00 UTC on the 1st: pay the month before",
                )
            ],
            time_zone_name="UTC",
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=PAYOUTS_CATCHUP_WINDOW
        ),
    )


SCHEDULES = {
    NotificationDelivery.SCHEDULE_ID: notification_delivery,
    PublisherStatsRollup.SCHEDULE_ID: publisher_stats_nightly,
    MonthlyPayouts.SCHEDULE_ID: monthly_payouts,
}


async def upsert_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule, or bring an existing one to this definition while keeping its
    state (a pause and note ops set stay)."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
            state = current.description.schedule.state
            return ScheduleUpdate(schedule=dataclasses.replace(schedule, state=state))

        await client.get_schedule_handle(schedule_id).update(replace)


async def ensure_schedules(
    client: Client, settings: Settings, only: Iterable[str] | None = None
) -> None:
    """Every schedule (or those named in ``only``), as defined here."""
    for schedule_id, definition in SCHEDULES.items():
        if only is None or schedule_id in only:
            await upsert_schedule(client, schedule_id, definition(settings))


async def trigger(client: Client, schedule_id: str) -> None:
    """Run the schedule's action now instead of at its next time (skipped if a run is
    still going)."""
    await client.get_schedule_handle(schedule_id).trigger(overlap=ScheduleOverlapPolicy.SKIP)
