"""Rows the analytics tests report on, written straight to the tables with chosen times:
view and download events, paid orders with their ledger entries, refunds, reviews."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from domain.pricing import publisher_earnings, refund_reversal
from models.analytics import ModuleDownload, ModuleView
from models.commerce import EarningEntry, Order, OrderRefund
from models.module import MarketplaceModule, ModuleVersion
from models.review import ModuleReview


async def version(sessions, module: MarketplaceModule, number: str = "1.0.0") -> ModuleVersion:
    async with sessions() as session:
        row = ModuleVersion(
            module_id=module.id,
            version=number,
            zip_file_url=f"modules/{module.technical_name}/{number}.zip",
            status="published",
        )
        session.add(row)
        await session.commit()
        return row


async def views(sessions, module, *instants: datetime, **fields) -> None:
    async with sessions() as session:
        session.add_all(
            ModuleView(module_id=module.id, session_id=uuid.uuid4().hex, created_at=at, **fields)
            for at in instants
        )
        await session.commit()


async def downloads(sessions, module, release, *instants: datetime, **fields) -> None:
    async with sessions() as session:
        session.add_all(
            ModuleDownload(module_id=module.id, version_id=release.id, created_at=at, **fields)
            for at in instants
        )
        await session.commit()


async def sync_counters(sessions, module) -> None:
    """Set the module's view and download counters to its event rows, as tracking keeps them."""
    async with sessions() as session:
        stored = await session.get(MarketplaceModule, module.id)
        stored.view_count = await session.scalar(
            select(func.count()).select_from(ModuleView).where(ModuleView.module_id == module.id)
        )
        stored.download_count = await session.scalar(
            select(func.count())
            .select_from(ModuleDownload)
            .where(ModuleDownload.module_id == module.id)
        )
        await session.commit()


async def sale(
    sessions,
    buyer,
    lines: list[tuple[MarketplaceModule, str]],
    at: datetime,
    *,
    currency: str = "USD",
    rate: Decimal = Decimal("30.00"),
) -> Order:
    """A paid order with one line per (module, amount) and its sale entries."""
    amounts = [Decimal(amount) for _, amount in lines]
    async with sessions() as session:
        order = Order(
            order_number=f"FV-T{uuid.uuid4().hex[:12].upper()}",
            user_id=buyer.id,
            items=[],
            subtotal=sum(amounts),
            total=sum(amounts),
            currency=currency,
            paid_at=at,
            payment_status="paid",
            status="completed",
        )
        session.add(order)
        await session.flush()
        for (module, _), amount in zip(lines, amounts, strict=True):
            earned = publisher_earnings(amount, rate, currency=currency)
            session.add(
                EarningEntry(
                    publisher_id=module.publisher_id,
                    order_id=order.id,
                    module_id=module.id,
                    kind="sale",
                    gross=earned.gross,
                    commission=earned.commission,
                    net=earned.net,
                    commission_rate=rate,
                    currency=currency,
                    occurred_at=at,
                )
            )
        await session.commit()
        return order


async def refund(sessions, order: Order, at: datetime) -> None:
    """The whole order refunded: a completed refund and a reversal of every sale entry."""
    async with sessions() as session:
        stored = await session.get(Order, order.id)
        stored.refunded_amount, stored.refunded_at, stored.status = stored.total, at, "refunded"
        session.add(
            OrderRefund(
                order_id=order.id,
                amount=stored.total,
                currency=stored.currency,
                initiated_by="admin",
                status="succeeded",
                completed_at=at,
            )
        )
        sales = await session.execute(select(EarningEntry).where(EarningEntry.order_id == order.id))
        for entry in list(sales.scalars()):
            back = refund_reversal(
                publisher_earnings(entry.gross, entry.commission_rate, currency=entry.currency)
            )
            session.add(
                EarningEntry(
                    publisher_id=entry.publisher_id,
                    order_id=order.id,
                    module_id=entry.module_id,
                    kind="refund",
                    gross=back.gross,
                    commission=back.commission,
                    net=back.net,
                    commission_rate=entry.commission_rate,
                    currency=entry.currency,
                    occurred_at=at,
                )
            )
        await session.commit()


async def review(
    sessions, module, user, rating: int, at: datetime, status: str = "published", **fields
) -> ModuleReview:
    async with sessions() as session:
        row = ModuleReview(
            module_id=module.id,
            user_id=user.id,
            rating=rating,
            content="text" if rating <= 3 else None,
            status=status,
            created_at=at,
            **fields,
        )
        session.add(row)
        await session.commit()
        return row
