"""The buyer's orders: history, details, the invoice, and refunds (an order's refund
workflow gives the money back, revokes its licenses and reverses the earnings)."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.checkout import (
    SETTLED,
    OrderKind,
    OrderNextStep,
    OrderStatus,
    RefundInput,
    RefundRequest,
    cancellable,
    check_refund_allowed,
    failure_reason,
    next_step,
)
from domain.errors import Conflict, NotFound
from integrations.invoice_pdf import Invoice, InvoiceLine, render_invoice
from integrations.temporal.front_door import TemporalFrontDoor
from models.commerce import License, Order
from models.repositories import audit, orders, platform_settings
from settings import Settings

INVOICE_STATUSES = (OrderStatus.COMPLETED, OrderStatus.REFUNDED)
GATEWAY_NAMES = {
    "local": "Card (local test gateway)",
    "stripe": "Card (Stripe)",
    "paypal": "PayPal",
}


@dataclass(frozen=True)
class OrderView:
    """An order with the licenses it issued."""

    order: Order
    licenses: list[License]

    @property
    def license_ids(self) -> list[int]:
        return [row.id for row in self.licenses]

    @property
    def has_invoice(self) -> bool:
        return self.order.status in INVOICE_STATUSES

    @property
    def settled(self) -> bool:
        return OrderStatus(self.order.status) in SETTLED

    @property
    def next_step(self) -> OrderNextStep:
        return next_step(
            OrderStatus(self.order.status),
            OrderKind(self.order.kind),
            awaits_buyer=self.order.payment_next_action is not None,
        )

    @property
    def cancellable(self) -> bool:
        return cancellable(OrderStatus(self.order.status), OrderKind(self.order.kind))

    @property
    def failure_reason(self) -> str | None:
        return failure_reason(self.order.failure_code)


async def view(session: AsyncSession, order: Order) -> OrderView:
    return OrderView(order=order, licenses=await orders.licenses_of(session, order.id))


async def of_user(
    session: AsyncSession, user_id: int, *, limit: int, offset: int
) -> tuple[list[OrderView], int]:
    rows, total = await orders.of_user(session, user_id, limit=limit, offset=offset)
    return [await view(session, row) for row in rows], total


async def visible_order(
    session: AsyncSession, order_id: int, *, user_id: int, is_admin: bool
) -> Order:
    """The caller's own order; admins see every order."""
    order = await orders.get(session, order_id)
    if order is None or (order.user_id != user_id and not is_admin):
        raise NotFound("order_not_found", "no such order among yours")
    return order


async def details(
    session: AsyncSession, order_id: int, *, user_id: int, is_admin: bool
) -> OrderView:
    order = await visible_order(session, order_id, user_id=user_id, is_admin=is_admin)
    return await view(session, order)


async def invoice(
    session: AsyncSession, order_id: int, *, user_id: int, is_admin: bool, settings: Settings
) -> Invoice:
    """What the invoice of a paid order says."""
    order = await visible_order(session, order_id, user_id=user_id, is_admin=is_admin)
    if order.status not in INVOICE_STATUSES or order.paid_at is None:
        raise Conflict("invoice_not_available", "an invoice exists once the order is paid")
    address = order.billing_address or {}
    return Invoice(
        number=f"INV-{order.order_number.removeprefix('FV-')}",
        order_number=order.order_number,
        issued_at=order.paid_at,
        paid_at=order.paid_at,
        seller_name=settings.seller_name,
        seller_address=settings.seller_address,
        buyer_name=order.billing_name,
        buyer_email=order.billing_email or "",
        buyer_address=tuple(
            str(address[key])
            for key in ("line1", "line2", "postal_code", "city", "region", "country")
            if address.get(key)
        ),
        currency=order.currency,
        lines=tuple(
            InvoiceLine(
                description=item["module_name"],
                detail=_line_detail(item, order.kind),
                unit_price=Decimal(item["unit_price"]),
                discount=Decimal(item["discount"]),
                tax=Decimal(item["tax"]),
                total=Decimal(item["total"]),
            )
            for item in order.items
        ),
        subtotal=order.subtotal,
        discount=order.discount_amount,
        tax=order.tax_amount,
        tax_rate_percent=order.tax_rate,
        total=order.total,
        coupon_code=order.coupon_code,
        payment_method=GATEWAY_NAMES.get(order.payment_method or "", "Card"),
        status="Refunded" if order.status == OrderStatus.REFUNDED else "Paid",
        refunded_amount=order.refunded_amount if order.refunded_amount else None,
    )


async def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF, laid out off the event loop."""
    return await asyncio.to_thread(render_invoice, invoice)


def _line_detail(item: dict[str, Any], kind: str) -> str:
    what = {
        "paid": "one-time license",
        "subscription": f"{item.get('subscription_period') or ''} subscription".strip(),
        "trial": f"{item.get('subscription_period') or ''} subscription".strip(),
    }.get(item["license_type"], item["license_type"])
    if kind == OrderKind.RENEWAL:
        what = f"renewal, period {item.get('period_number', '')}".strip(", ")
    return f"{item['module_slug']} · {what}"


async def request_refund(
    session: AsyncSession,
    order_id: int,
    *,
    user_id: int,
    is_admin: bool,
    reason: str | None,
    settings: Settings,
    workflows: TemporalFrontDoor,
) -> OrderView:
    """Refund the whole order through its gateway. Buyers may ask within the refund
    window, admins any time; the refund workflow does the rest."""
    order = await visible_order(session, order_id, user_id=user_id, is_admin=is_admin)
    if order.status == OrderStatus.REFUNDED:
        raise Conflict("already_refunded", "this order has been refunded")
    if await orders.refund_of(session, order.id) is not None:
        raise Conflict(
            "refund_already_requested",
            "a refund of this order was requested: follow the order's status",
        )
    platform = await platform_settings.current(session, settings.platform_defaults())
    check_refund_allowed(
        RefundRequest(
            status=OrderStatus(order.status),
            kind=OrderKind(order.kind),
            paid_at=order.paid_at,
            total_refunded=order.refunded_amount >= order.total and order.total > 0,
        ),
        by_admin=is_admin,
        now=datetime.now(UTC),
        window=platform.refund_window,
    )
    await audit.record(
        session,
        actor_id=user_id,
        action="order.refund",
        entity_type="order",
        entity_id=order.id,
        changes={"reason": reason, "by_admin": is_admin},
    )
    await session.commit()
    await start_refund(
        workflows,
        order.order_number,
        RefundInput(
            order_id=order.id,
            initiated_by="admin" if is_admin and order.user_id != user_id else "buyer",
            requested_by=user_id,
            reason=reason,
        ),
    )
    return await view(session, order)


async def start_refund(
    workflows: TemporalFrontDoor, order_number: str, request: RefundInput
) -> str:
    workflow_id = processes.Refund.workflow_id(order_number)
    await workflows.start(processes.Refund.TYPE, request, workflow_id=workflow_id)
    return workflow_id
