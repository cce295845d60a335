"""The nightly publisher stats roll-up: recompute ``PublisherStats`` ("all" and "30d") for
every publisher, a batch per transaction, heartbeating the last publisher done so a retried
attempt resumes after it. Rows are upserted, so a rerun only refreshes them."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.analytics import (
    STATS_CURRENCY,
    STATS_RECENT_DAYS,
    StatsPeriod,
    mean_rating,
    money,
)
from models.repositories import publisher_stats
from models.repositories.publisher_stats import PublisherFigures

DEFAULT_BATCH_SIZE = 500


class RollupRequest(BaseModel):
    as_of: datetime
    """The end of the "30d" window: the workflow's start, so a retry uses the same one."""
    batch_size: int = DEFAULT_BATCH_SIZE


class RollupResult(BaseModel):
    publishers: int
    batches: int


def stats_rows(publisher_id: int, figures: PublisherFigures, at: datetime) -> list[dict[str, Any]]:
    """The two ``PublisherStats`` rows of one publisher. Modules are the published ones now,
    in both rows; the "30d" row counts downloads, revenue and reviews of the window."""
    common = {"publisher_id": publisher_id, "total_modules": figures.published_modules}
    return [
        {
            **common,
            "period": StatsPeriod.ALL.value,
            "total_downloads": figures.downloads,
            "total_revenue": money(figures.revenue),
            "average_rating": mean_rating(figures.rating_sum, figures.reviews),
            "total_reviews": figures.reviews,
            "calculated_at": at,
        },
        {
            **common,
            "period": StatsPeriod.RECENT.value,
            "total_downloads": figures.recent_downloads,
            "total_revenue": money(figures.recent_revenue),
            "average_rating": mean_rating(figures.recent_rating_sum, figures.recent_reviews),
            "total_reviews": figures.recent_reviews,
            "calculated_at": at,
        },
    ]


@dataclass
class StatsActivities:
    sessions: async_sessionmaker[AsyncSession]

    @activity.defn(name="stats.rollup_publishers")
    async def rollup_publishers(self, request: RollupRequest) -> RollupResult:
        details = activity.info().heartbeat_details
        after, done, batches = (int(v) for v in details[0]) if details else (0, 0, 0)
        since = request.as_of - timedelta(days=STATS_RECENT_DAYS)
        while True:
            async with self.sessions.begin() as session:
                ids = await publisher_stats.publisher_ids_after(session, after, request.batch_size)
                if not ids:
                    break
                found = await publisher_stats.figures(
                    session, ids, since=since, until=request.as_of, currency=STATS_CURRENCY
                )
                rows = [
                    row
                    for publisher_id in ids
                    for row in stats_rows(publisher_id, found[publisher_id], request.as_of)
                ]
                await publisher_stats.upsert(session, rows)
            after, done, batches = ids[-1], done + len(ids), batches + 1
            activity.heartbeat([after, done, batches])
        return RollupResult(publishers=done, batches=batches)
