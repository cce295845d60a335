"""The nightly PublisherStats roll-up: its schedule (created once however often the worker
starts), a triggered run on the dev server, batches, reruns and a resumed attempt, all
checked against a fresh SQL aggregate; and trending using the rolled-up stats."""

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from temporalio.client import ScheduleActionStartWorkflow, ScheduleRange
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.stats import RollupRequest, StatsActivities
from domain.modules import ModuleStatus
from domain.processes import PublisherStatsRollup
from integrations.temporal import schedules
from models.publisher import PublisherStats
from tests import analytics_data as data
from tests.helpers import PATIENCE, eventually
from worker import activity_methods
from workflows.stats_rollup import WORKFLOWS, StatsRollupWorkflow

SCHEDULE_ID = PublisherStatsRollup.SCHEDULE_ID

pytestmark = pytest.mark.workflow
DAY = timedelta(days=1)

FRESH_AGGREGATE = text(
    """
    WITH mine AS (
        SELECT m.id, m.publisher_id, m.status, m.download_count FROM marketplace_modules m
    ), visible AS (
        SELECT mine.publisher_id, r.rating, r.created_at FROM marketplace_reviews r
        JOIN mine ON mine.id = r.module_id WHERE r.status = 'published'
    )
    SELECT p.id, s.period, s.calculated_at,
        (SELECT count(*) FROM mine WHERE mine.publisher_id = p.id AND mine.status = 'published'),
        CASE s.period
            WHEN 'all' THEN (SELECT coalesce(sum(download_count), 0) FROM mine
                             WHERE mine.publisher_id = p.id)
            ELSE (SELECT count(*) FROM marketplace_downloads d JOIN mine ON mine.id = d.module_id
                  WHERE mine.publisher_id = p.id
                  AND d.created_at >= s.calculated_at - interval '30 days'
                  AND d.created_at < s.calculated_at)
        END,
        (SELECT coalesce(sum(net), 0) FROM marketplace_earnings e
         WHERE e.publisher_id = p.id AND e.currency = 'USD'
         AND (s.period = 'all' OR (e.occurred_at >= s.calculated_at - interval '30 days'
                                   AND e.occurred_at < s.calculated_at))),
        (SELECT round(avg(rating), 2) FROM visible WHERE visible.publisher_id = p.id
         AND (s.period = 'all' OR (visible.created_at >= s.calculated_at - interval '30 days'
                                   AND visible.created_at < s.calculated_at))),
        (SELECT count(*) FROM visible WHERE visible.publisher_id = p.id
         AND (s.period = 'all' OR (visible.created_at >= s.calculated_at - interval '30 days'
                                   AND visible.created_at < s.calculated_at)))
    FROM marketplace_publishers p
    JOIN marketplace_publisher_stats s ON s.publisher_id = p.id
    ORDER BY p.id, s.period
    """
)


async def stored_stats(sessions) -> list[tuple]:
    async with sessions() as session:
        rows = await session.execute(
            select(PublisherStats).order_by(PublisherStats.publisher_id, PublisherStats.period)
        )
        return [
            (
                s.publisher_id,
                s.period,
                s.calculated_at,
                s.total_modules,
                s.total_downloads,
                s.total_revenue,
                s.average_rating,
                s.total_reviews,
            )
            for s in rows.scalars()
        ]


async def assert_stats_are_fresh(sessions, publishers: int) -> list[tuple]:
    stored = await stored_stats(sessions)
    assert len(stored) == 2 * publishers, "an 'all' and a '30d' row per publisher"
    async with sessions() as session:
        expected = [tuple(row) for row in (await session.execute(FRESH_AGGREGATE)).all()]
    assert stored == expected
    return stored


@pytest.fixture
async def marketplace(make_committed, committed):
    """Five publishers with modules, downloads, USD and EUR sales, a refund and reviews, some
    inside the last 30 days and some before."""
    now = datetime.now(UTC)
    buyers = [await make_committed.user() for _ in range(3)]
    publishers = []
    for n in range(5):
        _, publisher = await make_committed.publisher()
        publishers.append(publisher)
        modules = [
            await make_committed.module(publisher, status=ModuleStatus.PUBLISHED)
            for _ in range(n % 3 + 1)
        ]
        if n == 4:
            await make_committed.module(publisher, status=ModuleStatus.DRAFT)
            continue  # a publisher with nothing happening
        first = modules[0]
        release = await data.version(committed, first)
        await data.downloads(committed, first, release, *[now - 5 * DAY] * (n + 1))
        await data.downloads(committed, first, release, now - 40 * DAY)
        await data.sync_counters(committed, first)
        await data.sale(committed, buyers[0], [(first, f"{n + 1}9.99")], now - 3 * DAY)
        await data.sale(committed, buyers[1], [(first, "100.00")], now - 60 * DAY)
        euro = await data.sale(committed, buyers[2], [(first, "7.00")], now - DAY, currency="EUR")
        if n == 1:
            refunded = await data.sale(committed, buyers[2], [(first, "33.33")], now - 50 * DAY)
            await data.refund(committed, refunded, now - 2 * DAY)
        del euro
        await data.review(committed, first, buyers[0], 5, now - 2 * DAY)
        await data.review(committed, first, buyers[1], n % 5 + 1, now - 45 * DAY)
        await data.review(committed, first, buyers[2], 1, now - DAY, status="hidden")
    return publishers


async def test_the_schedule_is_created_once_and_a_triggered_run_rolls_up_every_publisher(
    temporal_dev, settings, committed, marketplace
):
    client = temporal_dev.client
    try:
        await schedules.ensure_schedules(
            client, settings.model_copy(update={"temporal_task_queue": "x"}), only=[SCHEDULE_ID]
        )
        await schedules.ensure_schedules(client, settings, only=[SCHEDULE_ID])
        await schedules.ensure_schedules(client, settings, only=[SCHEDULE_ID])
        handle = client.get_schedule_handle(SCHEDULE_ID)
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.task_queue == settings.temporal_task_queue, "an existing one is updated"
        assert action.workflow == "PublisherStatsRollup"
        [calendar] = described.schedule.spec.calendars
        assert list(calendar.hour) == [ScheduleRange(3)]
        assert list(calendar.minute) == [ScheduleRange(0)]
        assert described.schedule.spec.time_zone_name == "UTC"

        async def listed():
            return [s.id async for s in await client.list_schedules() if s.id == SCHEDULE_ID]

        assert await eventually(listed) == [SCHEDULE_ID]

        async with Worker(
            client,
            task_queue=settings.temporal_task_queue,
            workflows=WORKFLOWS,
            activities=activity_methods(StatsActivities(committed)),
        ):
            await handle.trigger()

            async def recent_actions():
                return (await handle.describe()).info.recent_actions

            actions = await eventually(recent_actions)
            workflow_id = actions[-1].action.workflow_id
            assert workflow_id.startswith("publisher-stats-rollup")
            result = await asyncio.wait_for(
                client.get_workflow_handle_for(StatsRollupWorkflow.run, workflow_id).result(),
                timeout=PATIENCE,
            )
        assert result.publishers == 5 and result.batches == 1
        stored = await assert_stats_are_fresh(committed, 5)
        by_key = {(row[0], row[1]): row for row in stored}
        busy = marketplace[1].id
        assert by_key[(busy, "all")][4] == 3 and by_key[(busy, "30d")][4] == 2
        assert by_key[(busy, "all")][5] == Decimal("90.99"), "20.99 + 70.00 + 23.33 - 23.33"
        assert by_key[(busy, "30d")][5] == Decimal("-2.34"), "20.99 sold, 23.33 reversed"
        assert by_key[(busy, "all")][6:] == (Decimal("3.50"), 2)
        assert by_key[(busy, "30d")][6:] == (Decimal("5.00"), 1)
        quiet = marketplace[4].id
        assert by_key[(quiet, "all")][3:] == (2, 0, Decimal("0.00"), None, 0)
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()


async def test_batches_and_reruns_keep_one_row_per_publisher_and_period(
    temporal_dev, settings, committed, marketplace
):
    client = temporal_dev.client
    async with Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activity_methods(StatsActivities(committed)),
    ):
        for run in range(2):
            result = await client.execute_workflow(
                StatsRollupWorkflow.run,
                2,
                id=f"publisher-stats-rollup-test-{uuid.uuid4().hex}",
                task_queue=settings.temporal_task_queue,
                execution_timeout=timedelta(seconds=30),
            )
            assert (result.publishers, result.batches) == (5, 3), f"run {run}"
            await assert_stats_are_fresh(committed, 5)
            if run == 0:
                async with committed() as session:
                    ids = set((await session.execute(select(PublisherStats.id))).scalars())
                # something changes before the next night
                first = marketplace[0]
                async with committed() as session:
                    await session.execute(
                        text(
                            "UPDATE marketplace_modules SET download_count = download_count + 5"
                            " WHERE publisher_id = :p"
                        ),
                        {"p": first.id},
                    )
                    await session.commit()
        async with committed() as session:
            assert set((await session.execute(select(PublisherStats.id))).scalars()) == ids
            assert await session.scalar(select(func.count()).select_from(PublisherStats)) == 10


async def test_a_retried_attempt_resumes_after_the_last_batch_it_reported(committed, marketplace):
    env = ActivityEnvironment()
    beats: list = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    second = marketplace[1].id
    env.info = replace(env.info, heartbeat_details=[[second, 2, 1]])
    now = datetime.now(UTC)
    result = await env.run(
        StatsActivities(committed).rollup_publishers, RollupRequest(as_of=now, batch_size=2)
    )
    assert (result.publishers, result.batches) == (5, 3), "counts carry over from the attempt"
    assert [beat[0] for beat in beats] == [marketplace[3].id, marketplace[4].id]
    stored = {row[0] for row in await stored_stats(committed)}
    assert stored == {p.id for p in marketplace[2:]}, "the first two were done before"


async def test_trending_ties_go_to_the_publisher_with_the_most_recent_downloads(api, make, db):
    """Equal downloads this week and of all time: the publisher whose rolled-up "30d"
    downloads are higher comes first; without stats a publisher comes last."""
    now = datetime.now(UTC)
    modules = []
    for _ in range(3):
        _, publisher = await make.publisher()
        module = await make.module(publisher, status=ModuleStatus.PUBLISHED, download_count=50)
        modules.append((publisher, module, await data.version(db, module)))
    for _, module, release in modules:
        await data.downloads(db, module, release, now - DAY, now - 2 * DAY)
    low, high, unrolled = modules
    extra = await make.module(high[0], status=ModuleStatus.PUBLISHED)
    await data.downloads(db, extra, await data.version(db, extra), *[now - 20 * DAY] * 9)
    env = ActivityEnvironment()
    await env.run(StatsActivities(db).rollup_publishers, RollupRequest(as_of=now))
    async with db() as session:
        await session.execute(
            text("DELETE FROM marketplace_publisher_stats WHERE publisher_id = :p"),
            {"p": unrolled[0].id},
        )
        await session.commit()
    response = await api.request("GET", "/api/v1/marketplace/trending")
    ranked = [item["id"] for item in response.json()]
    ours = [m.id for _, m, _ in modules]
    assert [i for i in ranked if i in ours] == [high[1].id, low[1].id, unrolled[1].id]
