"""Payouts: a month's run (the schedule's, or an admin's trigger or backfill) and one
publisher's payout run again by an admin."""

from domain import processes
from domain.payouts import MonthlyPayoutsInput, PayoutInput, Period
from integrations.temporal.front_door import StartPolicy, TemporalFrontDoor
from integrations.wiring import payout_options_from
from settings import Settings


async def start_month(workflows: TemporalFrontDoor, period: Period, settings: Settings) -> bool:
    """Start ``payouts-{YYYY-MM}``; False when it runs or ran already (a failed or
    terminated run may be run again: the payouts themselves are unique per period)."""
    return await workflows.start(
        processes.MonthlyPayouts.TYPE,
        MonthlyPayoutsInput(period=period.label, options=payout_options_from(settings)),
        workflow_id=processes.MonthlyPayouts.workflow_id(period.label),
        policy=StartPolicy.UNLESS_RAN,
    )


async def start_payout(
    workflows: TemporalFrontDoor,
    *,
    publisher_id: int,
    publisher_slug: str,
    period: str,
    settings: Settings,
) -> str:
    """Run one publisher's payout again (joining the run in progress, if one is)."""
    workflow_id = processes.Payout.workflow_id(publisher_slug, period)
    await workflows.start(
        processes.Payout.TYPE,
        PayoutInput(
            publisher_id=publisher_id, period=period, options=payout_options_from(settings)
        ),
        workflow_id=workflow_id,
        policy=StartPolicy.JOIN_OR_RESTART,
    )
    return workflow_id
