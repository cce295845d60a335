"""Tracking views, and the aggregates behind the publisher and platform dashboards.

Every reporting query groups one table by bucket (``date_trunc`` in UTC) over a period's
``[start, end)``, for a scope: one module, one publisher's modules, or the whole platform.
The caller fills empty buckets (``domain.analytics.fill_series``).
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    SQLColumnExpression,
    String,
    Table,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.analytics import BucketSize, Period, RequestContext
from domain.modules import ModuleStatus
from models.analytics import ModuleDownload, ModuleView
from models.commerce import EarningEntry, Order, OrderRefund
from models.module import MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.review import ModuleReview

log = logging.getLogger("marketplace.analytics")
T = TypeVar("T")
VISIBLE_REVIEW = "published"
SUCCEEDED_REFUND = "succeeded"

# --- tracking ---------------------------------------------------------------------------------


async def best_effort(
    session: AsyncSession, what: str, record: Callable[[], Awaitable[T]]
) -> T | None:
    """Run ``record`` in a savepoint of the request's transaction: when the database refuses
    it, only the tracking is undone and the request goes on."""
    try:
        async with session.begin_nested():
            return await record()
    except DBAPIError as error:
        log.warning("%s not recorded: %s", what, error.orig or error)
        return None


def utc_day_start() -> ColumnElement[datetime]:
    """The start of the current UTC day, by the database's clock."""
    return func.date_trunc(
        literal_column("'day'"), func.now(), literal_column("'UTC'"), type_=DateTime(timezone=True)
    )


async def advisory_lock(session: AsyncSession, key: str) -> None:
    """A transaction-scoped lock on ``key``: concurrent identical events wait for each other,
    and the check that follows (its own statement) sees what the other committed."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(literal(key), 0)))
    )


async def record_view(
    session: AsyncSession,
    module_id: int,
    user_id: int | None,
    context: RequestContext,
    per_address: int,
) -> bool:
    """Count a view of the module unless this viewer already has one today (UTC): a user
    once a day; an anonymous session once a day, and at most ``per_address`` anonymous
    views a day from one client address, whatever sessions it names. True when counted;
    the row and ``view_count`` change together (``domain.analytics``, Tracking)."""
    today = ModuleView.created_at >= utc_day_start()
    if user_id is not None:
        await advisory_lock(session, f"view:{module_id}:user:{user_id}")
        allowed = ~exists().where(
            ModuleView.module_id == module_id, ModuleView.user_id == user_id, today
        )
    else:
        await advisory_lock(session, f"view:{module_id}:address:{context.ip_address}")
        anonymous = (ModuleView.module_id == module_id, ModuleView.user_id.is_(None), today)
        same_session = exists().where(*anonymous, ModuleView.session_id == context.session_id)
        from_address = (
            select(func.count())
            .where(*anonymous, ModuleView.ip_address.is_not_distinct_from(context.ip_address))
            .scalar_subquery()
        )
        allowed = ~same_session & (from_address < per_address)
    added = (
        insert(ModuleView)
        .from_select(
            [
                "module_id",
                "user_id",
                "session_id",
                "ip_address",
                "referrer",
                "country_code",
                "user_agent",
            ],
            select(
                literal(module_id, Integer),
                literal(user_id, Integer),
                literal(context.session_id, String),
                literal(context.ip_address, String),
                literal(context.referrer, String),
                literal(context.country_code, String),
                literal(context.user_agent, String),
            ).where(allowed),
        )
        .returning(ModuleView.module_id)
        .cte("added")
    )
    modules = cast(Table, MarketplaceModule.__table__)  # a mapped class's table is a Table
    counted = await session.execute(
        update(modules)
        .where(modules.c.id.in_(select(added.c.module_id)))
        .values(view_count=modules.c.view_count + 1, updated_at=modules.c.updated_at)
        .returning(modules.c.id)
    )
    return counted.scalar_one_or_none() is not None


# --- scopes and buckets -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose figures: one module, a publisher's modules, or (neither) the whole platform."""

    publisher_id: int | None = None
    module_id: int | None = None

    def on_module(self, column: SQLColumnExpression[int]) -> list[ColumnElement[bool]]:
        if self.module_id is not None:
            return [column == self.module_id]
        if self.publisher_id is not None:
            theirs = select(MarketplaceModule.id).where(
                MarketplaceModule.publisher_id == self.publisher_id
            )
            return [column.in_(theirs)]
        return []

    def on_ledger(self) -> list[ColumnElement[bool]]:
        where = self.on_module(EarningEntry.module_id) if self.module_id is not None else []
        if self.publisher_id is not None:
            where.append(EarningEntry.publisher_id == self.publisher_id)
        return where


def _bucket(
    column: SQLColumnExpression[datetime | None], size: BucketSize
) -> ColumnElement[datetime]:
    return func.date_trunc(
        literal_column(f"'{size.value}'"),
        column,
        literal_column("'UTC'"),
        type_=DateTime(timezone=True),
    )


def _within(
    column: SQLColumnExpression[datetime | None], period: Period | None
) -> list[ColumnElement[bool]]:
    if period is None:
        return []
    return [column >= period.start, column < period.end]


async def _count_by_bucket(
    session: AsyncSession,
    column: SQLColumnExpression[datetime | None],
    where: list[ColumnElement[bool]],
    period: Period,
) -> dict[datetime, int]:
    bucket = _bucket(column, period.bucket).label("bucket")
    rows = await session.execute(
        select(bucket, func.count()).where(*where, *_within(column, period)).group_by(bucket)
    )
    return {start: n for start, n in rows.all()}


async def views_by_bucket(
    session: AsyncSession, scope: Scope, period: Period
) -> dict[datetime, int]:
    return await _count_by_bucket(
        session, ModuleView.created_at, scope.on_module(ModuleView.module_id), period
    )


async def downloads_by_bucket(
    session: AsyncSession, scope: Scope, period: Period
) -> dict[datetime, int]:
    return await _count_by_bucket(
        session, ModuleDownload.created_at, scope.on_module(ModuleDownload.module_id), period
    )


# --- module counters --------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterTotals:
    modules: int
    published_modules: int
    views: int
    downloads: int


async def counter_totals(session: AsyncSession, scope: Scope) -> CounterTotals:
    """All-time figures from the module counters (kept equal to the event rows)."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(MarketplaceModule.status == ModuleStatus.PUBLISHED),
                func.coalesce(func.sum(MarketplaceModule.view_count), 0),
                func.coalesce(func.sum(MarketplaceModule.download_count), 0),
            ).where(*scope.on_module(MarketplaceModule.id))
        )
    ).one()
    return CounterTotals(*(int(n) for n in row))


# --- ledger -----------------------------------------------------------------------------------


@dataclass
class LedgerSums:
    """Ledger entries of one currency: refunds are negative entries, so the sums are
    already sale minus refund."""

    sales: int = 0
    refunds: int = 0
    orders: int = 0
    gross: Decimal = Decimal(0)
    commission: Decimal = Decimal(0)
    net: Decimal = Decimal(0)


def _ledger_columns() -> tuple[ColumnElement[Any], ...]:
    return (
        func.count().filter(EarningEntry.kind == "sale"),
        func.count().filter(EarningEntry.kind == "refund"),
        func.count(EarningEntry.order_id.distinct()).filter(EarningEntry.kind == "sale"),
        func.coalesce(func.sum(EarningEntry.gross), 0),
        func.coalesce(func.sum(EarningEntry.commission), 0),
        func.coalesce(func.sum(EarningEntry.net), 0),
    )


async def ledger_by_bucket(
    session: AsyncSession, scope: Scope, period: Period
) -> dict[datetime, dict[str, LedgerSums]]:
    bucket = _bucket(EarningEntry.occurred_at, period.bucket).label("bucket")
    rows = await session.execute(
        select(bucket, EarningEntry.currency, *_ledger_columns())
        .where(*scope.on_ledger(), *_within(EarningEntry.occurred_at, period))
        .group_by(bucket, EarningEntry.currency)
    )
    found: dict[datetime, dict[str, LedgerSums]] = {}
    for start, currency, *sums in rows.all():
        found.setdefault(start, {})[currency] = LedgerSums(*sums)
    return found


async def ledger_totals(
    session: AsyncSession, scope: Scope, period: Period | None
) -> dict[str, LedgerSums]:
    """Per currency, over the period (None: all time)."""
    rows = await session.execute(
        select(EarningEntry.currency, *_ledger_columns())
        .where(*scope.on_ledger(), *_within(EarningEntry.occurred_at, period))
        .group_by(EarningEntry.currency)
    )
    return {currency: LedgerSums(*sums) for currency, *sums in rows.all()}


# --- reviews ----------------------------------------------------------------------------------


@dataclass
class ReviewSums:
    count: int = 0
    rating_sum: int = 0
    verified: int = 0
    responded: int = 0
    distribution: dict[int, int] = field(default_factory=dict)


def _visible_reviews(scope: Scope) -> list[ColumnElement[bool]]:
    return [ModuleReview.status == VISIBLE_REVIEW, *scope.on_module(ModuleReview.module_id)]


async def reviews_by_bucket(
    session: AsyncSession, scope: Scope, period: Period
) -> dict[datetime, ReviewSums]:
    bucket = _bucket(ModuleReview.created_at, period.bucket).label("bucket")
    rows = await session.execute(
        select(bucket, func.count(), func.sum(ModuleReview.rating))
        .where(*_visible_reviews(scope), *_within(ModuleReview.created_at, period))
        .group_by(bucket)
    )
    return {start: ReviewSums(n, int(total or 0)) for start, n, total in rows.all()}


async def review_totals(session: AsyncSession, scope: Scope, period: Period | None) -> ReviewSums:
    """Published reviews written in the period (None: all time), by rating."""
    rows = await session.execute(
        select(
            ModuleReview.rating,
            func.count(),
            func.count().filter(ModuleReview.verified_purchase),
            func.count().filter(ModuleReview.publisher_response.is_not(None)),
        )
        .where(*_visible_reviews(scope), *_within(ModuleReview.created_at, period))
        .group_by(ModuleReview.rating)
    )
    sums = ReviewSums()
    for rating, n, verified, responded in rows.all():
        sums.count += n
        sums.rating_sum += rating * n
        sums.verified += verified
        sums.responded += responded
        sums.distribution[rating] = n
    return sums


# --- per module -------------------------------------------------------------------------------


@dataclass
class ModuleActivity:
    module_id: int
    slug: str
    display_name: str
    views: int = 0
    downloads: int = 0
    ledger: dict[str, LedgerSums] = field(default_factory=dict)


async def module_activity(
    session: AsyncSession, scope: Scope, period: Period
) -> list[ModuleActivity]:
    """Every module in scope with its views, downloads and ledger sums in the period."""
    rows = await session.execute(
        select(MarketplaceModule.id, MarketplaceModule.slug, MarketplaceModule.display_name)
        .where(*scope.on_module(MarketplaceModule.id))
        .order_by(MarketplaceModule.id)
    )
    found = {id_: ModuleActivity(id_, slug, name) for id_, slug, name in rows.all()}
    for model, attribute in ((ModuleView, "views"), (ModuleDownload, "downloads")):
        counts = await session.execute(
            select(model.module_id, func.count())
            .where(*scope.on_module(model.module_id), *_within(model.created_at, period))
            .group_by(model.module_id)
        )
        for module_id, n in counts.all():
            if module_id in found:
                setattr(found[module_id], attribute, n)
    ledger = await session.execute(
        select(EarningEntry.module_id, EarningEntry.currency, *_ledger_columns())
        .where(*scope.on_ledger(), *_within(EarningEntry.occurred_at, period))
        .group_by(EarningEntry.module_id, EarningEntry.currency)
    )
    for module_id, currency, *sums in ledger.all():
        if module_id in found:
            found[module_id].ledger[currency] = LedgerSums(*sums)
    return list(found.values())


# --- download breakdowns ----------------------------------------------------------------------


async def downloads_by(
    session: AsyncSession, scope: Scope, period: Period, dimension: str, limit: int
) -> list[tuple[str | None, int]]:
    """Downloads in the period per ``version``, ``country`` or ``type``, most first."""
    where = [
        *scope.on_module(ModuleDownload.module_id),
        *_within(ModuleDownload.created_at, period),
    ]
    key: InstrumentedAttribute[str | None]
    if dimension == "version":
        key = ModuleVersion.version
        query = (
            select(key, func.count())
            .select_from(ModuleDownload)
            .join(ModuleVersion, ModuleVersion.id == ModuleDownload.version_id)
        )
    else:
        key = (
            ModuleDownload.country_code if dimension == "country" else ModuleDownload.download_type
        )
        query = select(key, func.count())
    rows = await session.execute(
        query.where(*where)
        .group_by(key)
        .order_by(func.count().desc(), key.asc().nulls_last())
        .limit(limit)
    )
    return [(value, n) for value, n in rows.all()]


async def distinct_downloaders(session: AsyncSession, scope: Scope, period: Period) -> int:
    """Signed-in users who downloaded in the period."""
    return int(
        await session.scalar(
            select(func.count(ModuleDownload.user_id.distinct())).where(
                *scope.on_module(ModuleDownload.module_id),
                *_within(ModuleDownload.created_at, period),
            )
        )
        or 0
    )


# --- platform ---------------------------------------------------------------------------------


@dataclass
class OrderSums:
    count: int = 0
    amount: Decimal = Decimal(0)


async def paid_orders_by_bucket(
    session: AsyncSession, period: Period
) -> dict[datetime, dict[str, OrderSums]]:
    """Orders by when they were paid (refunded ones included), per currency: count and
    the sum of their totals."""
    bucket = _bucket(Order.paid_at, period.bucket).label("bucket")
    rows = await session.execute(
        select(bucket, Order.currency, func.count(), func.coalesce(func.sum(Order.total), 0))
        .where(Order.paid_at.is_not(None), *_within(Order.paid_at, period))
        .group_by(bucket, Order.currency)
    )
    found: dict[datetime, dict[str, OrderSums]] = {}
    for start, currency, n, amount in rows.all():
        found.setdefault(start, {})[currency] = OrderSums(n, amount)
    return found


async def refunds_by_bucket(
    session: AsyncSession, period: Period
) -> dict[datetime, dict[str, OrderSums]]:
    """Completed refunds by when they completed, per currency."""
    bucket = _bucket(OrderRefund.completed_at, period.bucket).label("bucket")
    rows = await session.execute(
        select(
            bucket,
            OrderRefund.currency,
            func.count(),
            func.coalesce(func.sum(OrderRefund.amount), 0),
        )
        .where(
            OrderRefund.status == SUCCEEDED_REFUND,
            OrderRefund.completed_at.is_not(None),
            *_within(OrderRefund.completed_at, period),
        )
        .group_by(bucket, OrderRefund.currency)
    )
    found: dict[datetime, dict[str, OrderSums]] = {}
    for start, currency, n, amount in rows.all():
        found.setdefault(start, {})[currency] = OrderSums(n, amount)
    return found


async def new_publishers_by_bucket(session: AsyncSession, period: Period) -> dict[datetime, int]:
    return await _count_by_bucket(session, Publisher.created_at, [], period)


async def new_modules_by_bucket(session: AsyncSession, period: Period) -> dict[datetime, int]:
    return await _count_by_bucket(session, MarketplaceModule.created_at, [], period)
