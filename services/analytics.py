"""The publisher's and the platform's dashboards: repository sums assembled into figures
and zero-filled series.

Every report covers a period (``domain.analytics.Period``): totals, and a series with one
point per bucket, zero where nothing happened. Amounts are per currency (the ledger holds
several), quantized to the cent; a series lists, in every bucket, each currency seen in the
period. Revenue comes from the ledger (sales minus refunds).

A publisher's report covers its modules, or the one of them asked for: another's module is
404 ``module_not_found``. A suspended publisher may still look.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.analytics import TOP_MODULES, Period, currencies_of, fill_series, mean_rating, money
from models.publisher import Publisher
from models.repositories import analytics
from models.repositories.analytics import LedgerSums, OrderSums, ReviewSums, Scope
from services.ownership import own_module

BREAKDOWN_LIMIT = 20


# --- shared pieces -----------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyTotals:
    """Ledger sums in one currency, sales minus refunds: what buyers paid for the lines
    (before tax), the platform's commission, and the publisher's net."""

    currency: str
    gross: Decimal
    commission: Decimal
    net: Decimal


@dataclass(frozen=True)
class LedgerTotals:
    orders: int
    """Distinct orders with a sale."""
    sales: int
    refunds: int
    revenue: list[MoneyTotals]


def money_totals(
    sums: Mapping[str, LedgerSums], currencies: Iterable[str] | None = None
) -> list[MoneyTotals]:
    """One entry per currency (``currencies``, else those in ``sums``), zero when absent."""
    listed = currencies_of(sums) if currencies is None else list(currencies)
    empty = LedgerSums()
    return [
        MoneyTotals(
            currency=currency,
            gross=money(sums.get(currency, empty).gross),
            commission=money(sums.get(currency, empty).commission),
            net=money(sums.get(currency, empty).net),
        )
        for currency in listed
    ]


def ledger_totals(sums: Mapping[str, LedgerSums]) -> LedgerTotals:
    return LedgerTotals(
        orders=sum(s.orders for s in sums.values()),
        sales=sum(s.sales for s in sums.values()),
        refunds=sum(s.refunds for s in sums.values()),
        revenue=money_totals(sums),
    )


async def _scope(session: AsyncSession, publisher: Publisher, module_id: int | None) -> Scope:
    """The caller's modules, or the one asked for: another's is 404 ``module_not_found``."""
    if module_id is not None:
        await own_module(session, publisher, module_id)
    return Scope(publisher_id=publisher.id, module_id=module_id)


# --- publisher: overview -----------------------------------------------------------------


@dataclass(frozen=True)
class ActivityFigures:
    views: int
    downloads: int
    orders: int
    sales: int
    refunds: int
    revenue: list[MoneyTotals]
    reviews: int
    """Published reviews."""
    average_rating: Decimal | None


@dataclass(frozen=True)
class OverviewPoint:
    start: datetime
    views: int
    downloads: int
    sales: int


@dataclass(frozen=True)
class TopModule:
    module_id: int
    slug: str
    display_name: str
    views: int
    downloads: int
    sales: int
    revenue: list[MoneyTotals]


@dataclass(frozen=True)
class Overview:
    period: Period
    module_id: int | None
    modules: int
    published_modules: int
    all_time: ActivityFigures
    """Views and downloads from the module counters."""
    in_period: ActivityFigures
    series: list[OverviewPoint]
    top_modules: list[TopModule]
    """Most downloaded in the period, then most viewed, then most sold."""


def _activity_figures(
    views: int, downloads: int, ledger: Mapping[str, LedgerSums], reviews: ReviewSums
) -> ActivityFigures:
    totals = ledger_totals(ledger)
    return ActivityFigures(
        views=views,
        downloads=downloads,
        orders=totals.orders,
        sales=totals.sales,
        refunds=totals.refunds,
        revenue=totals.revenue,
        reviews=reviews.count,
        average_rating=mean_rating(reviews.rating_sum, reviews.count),
    )


async def overview(
    session: AsyncSession, publisher: Publisher, period: Period, module_id: int | None
) -> Overview:
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
    return Overview(
        period=period,
        module_id=module_id,
        modules=counters.modules,
        published_modules=counters.published_modules,
        all_time=_activity_figures(
            counters.views,
            counters.downloads,
            await analytics.ledger_totals(session, scope, None),
            await analytics.review_totals(session, scope, None),
        ),
        in_period=_activity_figures(
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


# --- publisher: downloads ----------------------------------------------------------------


@dataclass(frozen=True)
class DownloadPoint:
    start: datetime
    downloads: int


@dataclass(frozen=True)
class Breakdown:
    value: str | None
    """None: not known (no country header)."""
    downloads: int


@dataclass(frozen=True)
class Downloads:
    period: Period
    module_id: int | None
    total: int
    all_time: int
    signed_in_users: int
    """Distinct signed-in users who downloaded."""
    series: list[DownloadPoint]
    by_version: list[Breakdown]
    by_country: list[Breakdown]
    by_type: list[Breakdown]


async def downloads(
    session: AsyncSession, publisher: Publisher, period: Period, module_id: int | None
) -> Downloads:
    """Downloads per bucket, and in the period by version, country and kind (most first)."""
    scope = await _scope(session, publisher, module_id)
    counts = await analytics.downloads_by_bucket(session, scope, period)

    async def breakdown(dimension: str) -> list[Breakdown]:
        rows = await analytics.downloads_by(session, scope, period, dimension, BREAKDOWN_LIMIT)
        return [Breakdown(value=value, downloads=n) for value, n in rows]

    return Downloads(
        period=period,
        module_id=module_id,
        total=sum(counts.values()),
        all_time=(await analytics.counter_totals(session, scope)).downloads,
        signed_in_users=await analytics.distinct_downloaders(session, scope, period),
        series=[DownloadPoint(start=s, downloads=n) for s, n in fill_series(period, counts, int)],
        by_version=await breakdown("version"),
        by_country=await breakdown("country"),
        by_type=await breakdown("type"),
    )


# --- publisher: revenue ------------------------------------------------------------------


@dataclass(frozen=True)
class RevenuePoint:
    start: datetime
    orders: int
    sales: int
    refunds: int
    revenue: list[MoneyTotals]


@dataclass(frozen=True)
class Revenue:
    period: Period
    module_id: int | None
    currencies: list[str]
    """Currencies with entries in the period."""
    totals: LedgerTotals
    all_time: LedgerTotals
    series: list[RevenuePoint]


def _revenue_point(
    start: datetime, sums: Mapping[str, LedgerSums], currencies: Iterable[str]
) -> RevenuePoint:
    return RevenuePoint(
        start=start,
        orders=sum(s.orders for s in sums.values()),
        sales=sum(s.sales for s in sums.values()),
        refunds=sum(s.refunds for s in sums.values()),
        revenue=money_totals(sums, currencies),
    )


async def revenue(
    session: AsyncSession, publisher: Publisher, period: Period, module_id: int | None
) -> Revenue:
    """Ledger sums per currency: gross, commission and net, sales minus refunds, per bucket
    and for the period; and all time."""
    scope = await _scope(session, publisher, module_id)
    by_bucket = await analytics.ledger_by_bucket(session, scope, period)
    totals = await analytics.ledger_totals(session, scope, period)
    currencies = currencies_of(totals)
    empty: dict[str, LedgerSums] = {}
    return Revenue(
        period=period,
        module_id=module_id,
        currencies=currencies,
        totals=ledger_totals(totals),
        all_time=ledger_totals(await analytics.ledger_totals(session, scope, None)),
        series=[
            _revenue_point(start, sums, currencies)
            for start, sums in fill_series(period, by_bucket, lambda: empty)
        ],
    )


# --- publisher: reviews ------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewPoint:
    start: datetime
    reviews: int
    average_rating: Decimal | None


@dataclass(frozen=True)
class ReviewTotals:
    reviews: int
    average_rating: Decimal | None
    verified_purchases: int
    responded: int
    """Reviews the publisher answered."""
    distribution: dict[str, int]
    """Reviews per rating, "1" to "5"."""

    @classmethod
    def of(cls, sums: ReviewSums) -> "ReviewTotals":
        return cls(
            reviews=sums.count,
            average_rating=mean_rating(sums.rating_sum, sums.count),
            verified_purchases=sums.verified,
            responded=sums.responded,
            distribution={str(r): sums.distribution.get(r, 0) for r in range(1, 6)},
        )


@dataclass(frozen=True)
class Reviews:
    period: Period
    module_id: int | None
    totals: ReviewTotals
    """Published reviews written in the period."""
    all_time: ReviewTotals
    series: list[ReviewPoint]


async def reviews(
    session: AsyncSession, publisher: Publisher, period: Period, module_id: int | None
) -> Reviews:
    """Published reviews written per bucket with their average, and the period's and all
    time's count, average, ratings and how many the publisher answered."""
    scope = await _scope(session, publisher, module_id)
    by_bucket = await analytics.reviews_by_bucket(session, scope, period)
    return Reviews(
        period=period,
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


# --- platform ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformMoney:
    currency: str
    orders_total: Decimal
    """Totals of the orders paid, tax included."""
    refunded: Decimal
    """Refunds completed."""
    commission: Decimal
    """Platform commission from the ledger, net of refunds."""


@dataclass(frozen=True)
class PlatformFigures:
    downloads: int
    views: int
    orders: int
    """Orders paid."""
    refunds: int
    """Refunds completed."""
    new_publishers: int
    new_modules: int
    money: list[PlatformMoney]


@dataclass(frozen=True)
class PlatformPoint(PlatformFigures):
    start: datetime = field(kw_only=True)


@dataclass(frozen=True)
class Platform:
    period: Period
    currencies: list[str]
    totals: PlatformFigures
    series: list[PlatformPoint]


def _platform_money(
    currencies: Iterable[str],
    orders: Mapping[str, OrderSums],
    refunds: Mapping[str, OrderSums],
    ledger: Mapping[str, LedgerSums],
) -> list[PlatformMoney]:
    return [
        PlatformMoney(
            currency=currency,
            orders_total=money(orders[currency].amount if currency in orders else None),
            refunded=money(refunds[currency].amount if currency in refunds else None),
            commission=money(ledger[currency].commission if currency in ledger else None),
        )
        for currency in currencies
    ]


def _merged_orders(found: Mapping[datetime, Mapping[str, OrderSums]]) -> dict[str, OrderSums]:
    merged: dict[str, OrderSums] = {}
    for sums in found.values():
        for currency, s in sums.items():
            total = merged.setdefault(currency, OrderSums())
            total.count, total.amount = total.count + s.count, total.amount + s.amount
    return merged


def _merged_ledger(found: Mapping[datetime, Mapping[str, LedgerSums]]) -> dict[str, LedgerSums]:
    merged: dict[str, LedgerSums] = {}
    for sums in found.values():
        for currency, s in sums.items():
            merged.setdefault(currency, LedgerSums()).commission += s.commission
    return merged


async def platform(session: AsyncSession, period: Period) -> Platform:
    """Orders count when paid (refunded ones included), refunds when completed, commission
    when booked in the ledger (net of reversals); amounts per currency."""
    everything = Scope()
    downloads = await analytics.downloads_by_bucket(session, everything, period)
    views = await analytics.views_by_bucket(session, everything, period)
    orders = await analytics.paid_orders_by_bucket(session, period)
    refunds = await analytics.refunds_by_bucket(session, period)
    ledger = await analytics.ledger_by_bucket(session, everything, period)
    publishers = await analytics.new_publishers_by_bucket(session, period)
    modules = await analytics.new_modules_by_bucket(session, period)
    currencies = currencies_of(
        currency
        for found in (orders, refunds, ledger)
        for sums in found.values()
        for currency in sums
    )
    series = [
        PlatformPoint(
            start=start,
            downloads=downloads.get(start, 0),
            views=views.get(start, 0),
            orders=sum(s.count for s in orders.get(start, {}).values()),
            refunds=sum(s.count for s in refunds.get(start, {}).values()),
            new_publishers=publishers.get(start, 0),
            new_modules=modules.get(start, 0),
            money=_platform_money(
                currencies, orders.get(start, {}), refunds.get(start, {}), ledger.get(start, {})
            ),
        )
        for start in period.buckets()
    ]
    return Platform(
        period=period,
        currencies=currencies,
        totals=PlatformFigures(
            downloads=sum(p.downloads for p in series),
            views=sum(p.views for p in series),
            orders=sum(p.orders for p in series),
            refunds=sum(p.refunds for p in series),
            new_publishers=sum(p.new_publishers for p in series),
            new_modules=sum(p.new_modules for p in series),
            money=_platform_money(
                currencies, _merged_orders(orders), _merged_orders(refunds), _merged_ledger(ledger)
            ),
        ),
        series=series,
    )
