"""The publisher's analytics: overview, downloads, revenue and reviews over a period.

Each takes ``period`` (day | week | month | custom with ``from``/``to``; see
``domain.analytics``) and an optional ``module_id`` of the caller's own, and answers totals
and a zero-filled series (``services.analytics``). Revenue comes from the ledger (sales
minus refunds), per currency. A suspended publisher may still look. The figures include
sales and revenue, so like the earnings they need the ``account`` scope besides
``modules:write``: a listings-automation token cannot read them.
"""

from fastapi import APIRouter

from api.deps import EarningsReaderDep, SessionDep
from api.schemas.analytics import (
    DownloadsOut,
    ModuleFilter,
    OverviewOut,
    ReportPeriod,
    RevenueOut,
    ReviewsOut,
    report_out,
)
from services import analytics

router = APIRouter(prefix="/api/v1/publisher/analytics", tags=["publisher"])


@router.get("/overview", response_model=OverviewOut)
async def overview(
    publisher: EarningsReaderDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
) -> OverviewOut:
    """Totals of all time and of the period, a series of views, downloads and sales, and
    the modules that did best in the period."""
    report = await analytics.overview(session, publisher, period, module_id)
    return report_out(OverviewOut, report)


@router.get("/downloads", response_model=DownloadsOut)
async def downloads(
    publisher: EarningsReaderDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
) -> DownloadsOut:
    """Downloads per bucket, and in the period by version, country and kind (most first)."""
    report = await analytics.downloads(session, publisher, period, module_id)
    return report_out(DownloadsOut, report)


@router.get("/revenue", response_model=RevenueOut)
async def revenue(
    publisher: EarningsReaderDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
) -> RevenueOut:
    """Ledger sums per currency: gross, commission and net, sales minus refunds, per bucket
    and for the period; and all time."""
    report = await analytics.revenue(session, publisher, period, module_id)
    return report_out(RevenueOut, report)


@router.get("/reviews", response_model=ReviewsOut)
async def reviews(
    publisher: EarningsReaderDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
) -> ReviewsOut:
    """Published reviews written per bucket with their average, and the period's and all
    time's count, average, ratings and how many you answered."""
    report = await analytics.reviews(session, publisher, period, module_id)
    return report_out(ReviewsOut, report)
