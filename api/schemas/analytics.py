"""What the publisher and platform dashboards answer, and the period parameters they share.
The figures are assembled by ``services.analytics``; these classes read them as they are.

Amounts are per currency (the ledger holds several), as exact decimal strings; a series
lists, in every bucket, each currency seen in the period, zero where nothing happened.
"""

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from api.params import DayQuery
from api.schemas import INT32_MAX, InCurrency, Money
from domain.analytics import BucketSize, Period, PeriodName, resolve_period

Out = TypeVar("Out", bound=BaseModel)

# --- parameters --------------------------------------------------------------------------------


def report_period(
    period: Annotated[
        PeriodName,
        Query(description="day: 24 hourly buckets; week, month (30 days), custom: daily"),
    ] = PeriodName.MONTH,
    start: Annotated[
        DayQuery | None,
        Query(alias="from", description="custom only: first day (UTC), included"),
    ] = None,
    end: Annotated[
        DayQuery | None,
        Query(alias="to", description="custom only: last day (UTC), included"),
    ] = None,
) -> Period:
    return resolve_period(period, datetime.now(UTC), start, end)


ReportPeriod = Annotated[Period, Depends(report_period)]
ModuleFilter = Annotated[
    int | None, Query(ge=1, le=INT32_MAX, description="one of your modules; default: all")
]


# --- shared pieces -----------------------------------------------------------------------------


class PeriodOut(BaseModel):
    period: PeriodName
    start: datetime = Field(description="inclusive, UTC")
    end: datetime = Field(description="exclusive, UTC")
    bucket: BucketSize

    @classmethod
    def of(cls, period: Period) -> "PeriodOut":
        return cls(period=period.name, start=period.start, end=period.end, bucket=period.bucket)


class MoneyTotals(InCurrency):
    """Ledger sums in one currency, sales minus refunds: what buyers paid for the lines
    (before tax), the platform's commission, and the publisher's net."""

    currency: str
    gross: Money
    commission: Money
    net: Money


class LedgerTotals(BaseModel):
    orders: int = Field(description="distinct orders with a sale")
    sales: int = Field(description="order lines sold")
    refunds: int = Field(description="order lines refunded")
    revenue: list[MoneyTotals]


# --- publisher: overview -----------------------------------------------------------------------


class ActivityFigures(BaseModel):
    views: int
    downloads: int
    orders: int
    sales: int
    refunds: int
    revenue: list[MoneyTotals]
    reviews: int = Field(description="published reviews")
    average_rating: Decimal | None


class OverviewPoint(BaseModel):
    start: datetime
    views: int
    downloads: int
    sales: int


class TopModule(BaseModel):
    module_id: int
    slug: str
    display_name: str
    views: int
    downloads: int
    sales: int
    revenue: list[MoneyTotals]


class OverviewOut(BaseModel):
    period: PeriodOut
    module_id: int | None
    modules: int
    published_modules: int
    all_time: ActivityFigures = Field(description="views and downloads from the counters")
    in_period: ActivityFigures
    series: list[OverviewPoint]
    top_modules: list[TopModule] = Field(
        description="most downloaded in the period, then most viewed, then most sold"
    )


# --- publisher: downloads ----------------------------------------------------------------------


class DownloadPoint(BaseModel):
    start: datetime
    downloads: int


class Breakdown(BaseModel):
    value: str | None = Field(description="null: not known (no country header)")
    downloads: int


class DownloadsOut(BaseModel):
    period: PeriodOut
    module_id: int | None
    total: int
    all_time: int
    signed_in_users: int = Field(description="distinct signed-in users who downloaded")
    series: list[DownloadPoint]
    by_version: list[Breakdown]
    by_country: list[Breakdown]
    by_type: list[Breakdown]


# --- publisher: revenue ------------------------------------------------------------------------


class RevenuePoint(BaseModel):
    start: datetime
    orders: int
    sales: int
    refunds: int
    revenue: list[MoneyTotals]


class RevenueOut(BaseModel):
    period: PeriodOut
    module_id: int | None
    currencies: list[str] = Field(description="currencies with entries in the period")
    totals: LedgerTotals
    all_time: LedgerTotals
    series: list[RevenuePoint]


# --- publisher: reviews ------------------------------------------------------------------------


class ReviewPoint(BaseModel):
    start: datetime
    reviews: int
    average_rating: Decimal | None


class ReviewTotals(BaseModel):
    reviews: int
    average_rating: Decimal | None
    verified_purchases: int
    responded: int = Field(description="reviews you answered")
    distribution: dict[str, int] = Field(description='reviews per rating, "1" to "5"')


class ReviewsOut(BaseModel):
    period: PeriodOut
    module_id: int | None
    totals: ReviewTotals = Field(description="published reviews written in the period")
    all_time: ReviewTotals
    series: list[ReviewPoint]


# --- platform ----------------------------------------------------------------------------------


class PlatformMoney(InCurrency):
    currency: str
    orders_total: Money = Field(description="totals of the orders paid, tax included")
    refunded: Money = Field(description="refunds completed")
    commission: Money = Field(description="platform commission from the ledger, net of refunds")


class PlatformFigures(BaseModel):
    downloads: int
    views: int
    orders: int = Field(description="orders paid")
    refunds: int = Field(description="refunds completed")
    new_publishers: int
    new_modules: int
    money: list[PlatformMoney]


class PlatformPoint(PlatformFigures):
    start: datetime


class PlatformOut(BaseModel):
    period: PeriodOut
    currencies: list[str]
    totals: PlatformFigures
    series: list[PlatformPoint]


# --- reading a report ------------------------------------------------------------------------


def report_out(model: type[Out], report: Any) -> Out:
    """``model`` read from a report of ``services.analytics`` (a dataclass): its figures as
    they are, its period as ``PeriodOut``."""
    found = {field.name: getattr(report, field.name) for field in fields(report)}
    return model.model_validate(
        {**found, "period": PeriodOut.of(report.period)}, from_attributes=True
    )
