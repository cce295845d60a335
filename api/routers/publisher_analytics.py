"""The publisher's analytics: overview, downloads, revenue and reviews over a period.

Each takes ``period`` (day | week | month | custom with ``from``/``to``; see
``domain.analytics``) and an optional ``module_id`` of the caller's own, and answers totals
and a zero-filled series. Revenue comes from the ledger (sales minus refunds), per currency.
A suspended publisher may still look.
"""

from fastapi import APIRouter

from api.deps import PublisherDep, SessionDep
from api.routers.analytics_schemas import (
    Breakdown,
    DownloadPoint,
    DownloadsOut,
    ModuleFilter,
    OverviewOut,
    OverviewPoint,
    PeriodOut,
    ReportPeriod,
    RevenueOut,
    ReviewPoint,
    ReviewsOut,
    ReviewTotals,
    TopModule,
    activity_figures,
    ledger_totals,
    money_totals,
    revenue_point,
)
from domain.analytics import TOP_MODULES, currencies_of, fill_series, mean_rating
from models.repositories import analytics
from models.repositories.analytics import LedgerSums, ReviewSums, Scope
from services.ownership import own_module

router = APIRouter(prefix="/api/v1/publisher/analytics", tags=["publisher"])

BREAKDOWN_LIMIT = 20


async def _scope(session, publisher, module_id: int | None) -> Scope:
    """The caller's modules, or the one asked for: another's is 404 ``module_not_found``."""
    if module_id is not None:
        await own_module(session, publisher, module_id)
    return Scope(publisher_id=publisher.id, module_id=module_id)


@router.get("/overview", response_model=OverviewOut)
async def overview(
    publisher: PublisherDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
):
    """Totals of all time and of the period, a series of views, downloads and sales, and
    the modules that did best in the period."""
    scope = await _scope(session, publisher, module_id)
    counters = await analytics.counter_totals(session, scope)
    views = await analytics.views_by_bucket(session, scope, period)
    downloads = await analytics.downloads_by_bucket(session, scope, period)
    ledger = await analytics.ledger_by_bucket(session, scope, period)
    sales = {start: sum(s.sales for s in sums.values()) for start, sums in ledger.items()}
    each_downloads = dict(fill_series(period, downloads, int))
    each_sales = dict(fill_series(period, sales, int))
    modules = await analytics.module_activity(session, scope, period)
    modules.sort(
        key=lambda m: (
            -m.downloads,
            -m.views,
            -sum(s.sales for s in m.ledger.values()),
            m.module_id,
        )
    )
    return OverviewOut(
        period=PeriodOut.of(period),
        module_id=module_id,
        modules=counters.modules,
        published_modules=counters.published_modules,
        all_time=activity_figures(
            counters.views,
            counters.downloads,
            await analytics.ledger_totals(session, scope, None),
            await analytics.review_totals(session, scope, None),
        ),
        in_period=activity_figures(
            sum(views.values()),
            sum(downloads.values()),
            await analytics.ledger_totals(session, scope, period),
            await analytics.review_totals(session, scope, period),
        ),
        series=[
            OverviewPoint(
                start=start,
                views=n,
                downloads=each_downloads[start],
                sales=each_sales[start],
            )
            for start, n in fill_series(period, views, int)
        ],
        top_modules=[
            TopModule(
                module_id=m.module_id,
                slug=m.slug,
                display_name=m.display_name,
                views=m.views,
                downloads=m.downloads,
                sales=sum(s.sales for s in m.ledger.values()),
                revenue=money_totals(m.ledger),
            )
            for m in modules[:TOP_MODULES]
        ],
    )


@router.get("/downloads", response_model=DownloadsOut)
async def downloads(
    publisher: PublisherDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
):
    """Downloads per bucket, and in the period by version, country and kind (most first)."""
    scope = await _scope(session, publisher, module_id)
    counts = await analytics.downloads_by_bucket(session, scope, period)

    async def breakdown(dimension: str) -> list[Breakdown]:
        rows = await analytics.downloads_by(session, scope, period, dimension, BREAKDOWN_LIMIT)
        return [Breakdown(value=value, downloads=n) for value, n in rows]

    return DownloadsOut(
        period=PeriodOut.of(period),
        module_id=module_id,
        total=sum(counts.values()),
        all_time=(await analytics.counter_totals(session, scope)).downloads,
        signed_in_users=await analytics.distinct_downloaders(session, scope, period),
        series=[DownloadPoint(start=s, downloads=n) for s, n in fill_series(period, counts, int)],
        by_version=await breakdown("version"),
        by_country=await breakdown("country"),
        by_type=await breakdown("type"),
    )


@router.get("/revenue", response_model=RevenueOut)
async def revenue(
    publisher: PublisherDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
):
    """Ledger sums per currency: gross, commission and net, sales minus refunds, per bucket
    and for the period; and all time."""
    scope = await _scope(session, publisher, module_id)
    by_bucket = await analytics.ledger_by_bucket(session, scope, period)
    totals = await analytics.ledger_totals(session, scope, period)
    currencies = currencies_of(totals)
    empty: dict[str, LedgerSums] = {}
    return RevenueOut(
        period=PeriodOut.of(period),
        module_id=module_id,
        currencies=currencies,
        totals=ledger_totals(totals),
        all_time=ledger_totals(await analytics.ledger_totals(session, scope, None)),
        series=[
            revenue_point(start, sums, currencies)
            for start, sums in fill_series(period, by_bucket, lambda: empty)
        ],
    )


@router.get("/reviews", response_model=ReviewsOut)
async def reviews(
    publisher: PublisherDep,
    session: SessionDep,
    period: ReportPeriod,
    module_id: ModuleFilter = None,
):
    """Published reviews written per bucket with their average, and the period's and all
    time's count, average, ratings and how many you answered."""
    scope = await _scope(session, publisher, module_id)
    by_bucket = await analytics.reviews_by_bucket(session, scope, period)
    return ReviewsOut(
        period=PeriodOut.of(period),
        module_id=module_id,
        totals=ReviewTotals.of(await analytics.review_totals(session, scope, period)),
        all_time=ReviewTotals.of(await analytics.review_totals(session, scope, None)),
        series=[
            ReviewPoint(
                start=start,
                reviews=sums.count,
                average_rating=mean_rating(sums.rating_sum, sums.count),
            )
            for start, sums in fill_series(period, by_bucket, ReviewSums)
        ],
    )
