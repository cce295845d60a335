"""The monthly payout schedule on the Temporal dev server: created once however often the
worker starts, at 02:00 UTC on the 1st, an ops pause kept; a scheduled run pays the month
before its scheduled time, and a second one for the same month is a no-op."""

import json
from datetime import UTC, datetime

import pytest

from domain.payouts import period_before
from domain.processes import MonthlyPayouts
from integrations.temporal import schedules
from tests.helpers import eventually
from tests.payouts_ledger import Ledger, day_of, payout_worker, payouts_of
from workflows.payouts import SCHEDULED_START

SCHEDULE_ID = MonthlyPayouts.SCHEDULE_ID

pytestmark = pytest.mark.workflow


@pytest.fixture
async def schedule(temporal_dev):
    handle = temporal_dev.client.get_schedule_handle(SCHEDULE_ID)
    yield handle
    await handle.delete()


async def test_the_schedule_is_created_once_with_the_monthly_spec(schedule, settings, temporal_dev):
    await schedules.ensure_schedules(temporal_dev.client, settings, only=[SCHEDULE_ID])
    await schedules.ensure_schedules(temporal_dev.client, settings, only=[SCHEDULE_ID])
    described = await schedule.describe()
    [calendar] = described.schedule.spec.calendars
    assert [(r.start, r.end) for r in calendar.hour] == [(2, 2)]
    assert [(r.start, r.end) for r in calendar.minute] == [(0, 0)]
    assert [(r.start, r.end) for r in calendar.day_of_month] == [(1, 1)]
    assert described.schedule.spec.time_zone_name == "UTC"
    action = described.schedule.action
    assert (action.workflow, action.id, action.task_queue) == (
        "MonthlyPayouts",
        SCHEDULE_ID,
        settings.temporal_task_queue,
    )
    upcoming = described.info.next_action_times[:3]
    assert all((t.day, t.hour, t.minute, t.second) == (1, 2, 0, 0) for t in upcoming)
    assert len({(t.year, t.month) for t in upcoming}) == 3

    await schedule.pause(note="ops: hold payouts this month")
    changed = settings.model_copy(update={"payout_transfer_attempts": 5})
    await schedules.ensure_schedules(temporal_dev.client, changed, only=[SCHEDULE_ID])
    described = await schedule.describe()
    assert described.schedule.state.paused
    assert described.schedule.state.note == "ops: hold payouts this month"
    [payload] = described.schedule.action.args
    assert json.loads(payload.data)["options"]["transfer_attempts"] == 5


async def test_a_scheduled_run_pays_the_month_before_once(
    schedule, settings, temporal_dev, committed, make_committed
):
    month = period_before(datetime.now(UTC))
    ledger = Ledger(committed, make_committed)
    seller = await ledger.publisher(method="manual")
    await ledger.sale(seller, "120.00", day_of(month, 10))
    await schedules.ensure_schedules(temporal_dev.client, settings, only=[SCHEDULE_ID])

    async with payout_worker(temporal_dev.client, settings, committed):
        results = []
        for _ in range(2):
            await schedule.trigger()
            described = await schedule.describe()
            started = described.info.recent_actions[-1].action
            handle = temporal_dev.client.get_workflow_handle(
                started.workflow_id, run_id=started.first_execution_run_id
            )
            results.append(await handle.result())
            # The run took its month from this attribute, which the schedule sets.
            attributes = (await handle.describe()).typed_search_attributes
            assert attributes.get(SCHEDULED_START) is not None

        async def waiting_for_an_admin():
            rows = await payouts_of(committed, month.first_day)
            return rows if rows and rows[0].status == "processing" else None

        assert await eventually(waiting_for_an_admin)
    assert results[0]["period"] == results[1]["period"] == month.label
    assert (results[0]["started"], results[0]["already_ran"]) == (1, False)
    assert results[1]["already_ran"] is True
    [payout] = await payouts_of(committed, month.first_day)
    assert (payout.publisher_id, payout.status, str(payout.net_amount)) == (
        seller.id,
        "processing",
        "84.00",
    )
    month_run = await temporal_dev.client.get_workflow_handle(f"payouts-{month.label}").describe()
    assert month_run.workflow_type == "MonthlyPayouts"
