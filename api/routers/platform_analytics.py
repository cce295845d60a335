"""Platform analytics for admins: downloads, views, orders, refunds, commission, new
publishers and new modules, per bucket of a period and in total."""

from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter

from api.deps import AdminPrincipal, SessionDep
from api.routers.analytics_schemas import (
    PeriodOut,
    PlatformFigures,
    PlatformOut,
    PlatformPoint,
    ReportPeriod,
    platform_money,
)
from domain.analytics import currencies_of
from models.repositories import analytics
from models.repositories.analytics import LedgerSums, OrderSums, Scope

router = APIRouter(prefix="/api/v1/admin/marketplace/analytics", tags=["admin"])


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


@router.get("", response_model=PlatformOut)
async def platform_analytics(admin: AdminPrincipal, session: SessionDep, period: ReportPeriod):
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
            money=platform_money(
                currencies, orders.get(start, {}), refunds.get(start, {}), ledger.get(start, {})
            ),
        )
        for start in period.buckets()
    ]
    return PlatformOut(
        period=PeriodOut.of(period),
        currencies=currencies,
        totals=PlatformFigures(
            downloads=sum(p.downloads for p in series),
            views=sum(p.views for p in series),
            orders=sum(p.orders for p in series),
            refunds=sum(p.refunds for p in series),
            new_publishers=sum(p.new_publishers for p in series),
            new_modules=sum(p.new_modules for p in series),
            money=platform_money(
                currencies, _merged_orders(orders), _merged_orders(refunds), _merged_ledger(ledger)
            ),
        ),
        series=series,
    )
