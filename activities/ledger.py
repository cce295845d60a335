"""Booking a paid order line in the publishers' ledger, at the publisher's commission rate."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.pricing import publisher_earnings
from models.commerce import Order
from models.repositories import orders, publishers

DEFAULT_COMMISSION = Decimal("30.00")


async def book_sale(
    session: AsyncSession, order: Order, line: dict[str, Any], at: datetime
) -> None:
    """One sale entry per order line (a retry adds nothing): the line's amount after the
    discount and before tax, split at the publisher's current commission rate."""
    publisher = await publishers.get_publisher(session, line["publisher_id"])
    rate = publisher.commission_rate if publisher else DEFAULT_COMMISSION
    earned = publisher_earnings(Decimal(line["net_of_discount"]), rate, currency=order.currency)
    await orders.record_earning(
        session,
        {
            "publisher_id": line["publisher_id"],
            "order_id": order.id,
            "module_id": line["module_id"],
            "kind": "sale",
            "gross": earned.gross,
            "commission": earned.commission,
            "net": earned.net,
            "commission_rate": rate,
            "currency": order.currency,
            "occurred_at": at,
        },
    )
