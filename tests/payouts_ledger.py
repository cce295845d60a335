"""Ledger rows for payout tests: publishers with a module each, and paid orders booked as
checkout books them (``domain.pricing.publisher_earnings`` per line, ``refund_reversal``
for refunds); plus an in-process payout worker and the independent sums to check against."""

import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, text
from temporalio.worker import Worker

from activities.payouts import PayoutActivities
from domain.modules import ModuleStatus
from domain.pricing import Earnings, publisher_earnings, refund_reversal
from integrations.wiring import payout_rails_from
from models.analytics import PublisherPayout
from models.commerce import EarningEntry, Order
from models.publisher import Publisher
from worker import activity_methods
from workflows.payouts import WORKFLOWS

D = Decimal


@dataclass(frozen=True)
class Seller:
    id: int
    user_id: int
    module_id: int
    commission_rate: Decimal
    slug: str


@dataclass
class Ledger:
    """Makes publishers and books sales and refunds for them, committed."""

    sessions: object
    make: object
    buyer_id: int | None = None

    async def publisher(
        self,
        *,
        method: str = "manual",
        stripe_account_id: str | None = None,
        paypal_email: str | None = None,
        status: str = "active",
        rate: str = "30.00",
    ) -> Seller:
        if self.buyer_id is None:
            self.buyer_id = (await self.make.user()).id
        _, publisher = await self.make.publisher()
        async with self.sessions() as session:
            row = await session.get(Publisher, publisher.id)
            row.payout_method = method
            row.stripe_account_id = stripe_account_id
            row.paypal_email = paypal_email
            row.status = status
            row.commission_rate = D(rate)
            await session.commit()
        module = await self.make.module(row, status=ModuleStatus.PUBLISHED)
        return Seller(row.id, row.user_id, module.id, row.commission_rate, row.slug)

    async def sale(
        self,
        publisher: Seller,
        gross: str,
        at: datetime,
        *,
        currency: str = "USD",
        rate: str | None = None,
    ) -> EarningEntry:
        rate_value = D(rate) if rate is not None else publisher.commission_rate
        earned = publisher_earnings(D(gross), rate_value, currency=currency)
        async with self.sessions() as session:
            order = Order(
                order_number=f"FV-T{uuid.uuid4().hex[:12].upper()}",
                user_id=self.buyer_id,
                items=[],
                subtotal=earned.gross,
                total=earned.gross,
                currency=currency,
                status="completed",
                payment_status="succeeded",
                paid_at=at,
            )
            session.add(order)
            await session.flush()
            entry = EarningEntry(
                publisher_id=publisher.id,
                order_id=order.id,
                module_id=publisher.module_id,
                kind="sale",
                gross=earned.gross,
                commission=earned.commission,
                net=earned.net,
                commission_rate=rate_value,
                currency=currency,
                occurred_at=at,
            )
            session.add(entry)
            await session.commit()
            return entry

    async def refund(
        self, sale: EarningEntry, fraction: str = "1", at: datetime | None = None
    ) -> EarningEntry:
        back = refund_reversal(
            Earnings(sale.gross, sale.commission, sale.net, sale.currency), D(fraction)
        )
        async with self.sessions() as session:
            entry = EarningEntry(
                publisher_id=sale.publisher_id,
                order_id=sale.order_id,
                module_id=sale.module_id,
                kind="refund",
                gross=back.gross,
                commission=back.commission,
                net=back.net,
                commission_rate=sale.commission_rate,
                currency=sale.currency,
                occurred_at=at or sale.occurred_at + timedelta(days=2),
            )
            session.add(entry)
            await session.commit()
            return entry


async def unpaid_sums(sessions, ends_at: datetime) -> dict[tuple[int, str], tuple]:
    """(publisher, currency) → (gross, commission, net, entries) of every entry not paid out
    before ``ends_at``: plain SQL, independent of the payout code."""
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT publisher_id, currency, sum(gross), sum(commission), sum(net), count(*)"
                " FROM marketplace_earnings WHERE payout_id IS NULL AND occurred_at < :end"
                " GROUP BY publisher_id, currency"
            ),
            {"end": ends_at},
        )
        return {(r[0], r[1]): tuple(r[2:]) for r in rows.all()}


async def paid_sums(sessions) -> dict[int, tuple]:
    """payout id → (gross, commission, net, entries) of the entries assigned to it."""
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT payout_id, sum(gross), sum(commission), sum(net), count(*)"
                " FROM marketplace_earnings WHERE payout_id IS NOT NULL GROUP BY payout_id"
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows.all()}


async def payouts_of(sessions, period_start) -> list[PublisherPayout]:
    async with sessions() as session:
        rows = await session.execute(
            select(PublisherPayout)
            .where(PublisherPayout.period_start == period_start)
            .order_by(PublisherPayout.publisher_id)
        )
        return list(rows.scalars())


def settled(rows: list[PublisherPayout]) -> bool:
    """Every payout done with: final, or a manual one waiting for an admin."""
    return all(
        row.status not in ("pending", "processing")
        or (row.status == "processing" and row.payout_method == "manual")
        for row in rows
    )


@asynccontextmanager
async def payout_worker(client, settings, sessions, **options):
    """The payout workflows and activities on the test's task queue, in this process."""
    async with Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activity_methods(
            PayoutActivities(sessions, payout_rails_from(settings), settings.platform_defaults())
        ),
        **options,
    ) as worker:
        yield worker


def day_of(period, day: int, hour: int = 12) -> datetime:
    """That day of the period's month, at ``hour`` UTC."""
    return datetime(period.year, period.month, day, hour, tzinfo=UTC)
