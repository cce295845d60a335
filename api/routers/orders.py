"""The buyer's orders: history, details, the PDF invoice, and refunds."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, Response, status

from api.deps import AccountPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.routers.order_schemas import NextAction, OrderLineOut, OrderOut, PaymentOut, RefundIn
from api.schemas import Page
from domain.access import Scope
from domain.checkout import OrderKind, OrderStatus, RefundInput, RefundRequest, check_refund_allowed
from domain.errors import Conflict, NotFound
from integrations.invoice_pdf import Invoice, InvoiceLine, render_invoice
from models.commerce import Order
from models.repositories import audit, orders, platform_settings
from services import checkout as checkout_service

router = APIRouter(prefix="/api/v1/marketplace/orders", tags=["orders"])
INVOICE_STATUSES = (OrderStatus.COMPLETED, OrderStatus.REFUNDED)
GATEWAY_NAMES = {
    "local": "Card (local test gateway)",
    "stripe": "Card (Stripe)",
    "paypal": "PayPal",
}


async def order_out(session, order: Order) -> OrderOut:
    licensed = await orders.licenses_of(session, order.id)
    next_action = order.payment_next_action
    return OrderOut(
        id=order.id,
        order_number=order.order_number,
        kind=order.kind,
        status=order.status,
        failure_code=order.failure_code,
        payment=PaymentOut(
            gateway=order.payment_method,
            status=order.payment_status,
            payment_id=order.payment_intent_id,
            next_action=NextAction(**next_action) if next_action else None,
        ),
        items=[OrderLineOut.model_validate(item) for item in order.items],
        currency=order.currency,
        subtotal=order.subtotal,
        discount=order.discount_amount,
        tax=order.tax_amount,
        tax_rate=order.tax_rate,
        total=order.total,
        coupon_code=order.coupon_code,
        refunded_amount=order.refunded_amount,
        created_at=order.created_at,
        paid_at=order.paid_at,
        expires_at=order.expires_at,
        refunded_at=order.refunded_at,
        license_ids=[row.id for row in licensed],
        invoice_url=(
            f"/api/v1/marketplace/orders/{order.id}/invoice"
            if order.status in INVOICE_STATUSES
            else None
        ),
    )


async def _visible_order(session, principal, order_id: int) -> Order:
    """The caller's own order; admins see every order."""
    order = await orders.get(session, order_id)
    if order is None or (
        order.user_id != principal.user.id and Scope.ADMIN not in principal.scopes
    ):
        raise NotFound("order_not_found", "no such order among yours")
    return order


@router.get("", response_model=Page[OrderOut])
async def my_orders(
    principal: AccountPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
):
    rows, total = await orders.of_user(session, principal.user.id, limit=limit, offset=offset)
    return Page(
        items=[await order_out(session, row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{order_id}", response_model=OrderOut)
async def order_details(order_id: IdPath, principal: AccountPrincipal, session: SessionDep):
    return await order_out(session, await _visible_order(session, principal, order_id))


@router.get(
    "/{order_id}/invoice",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def order_invoice(
    order_id: IdPath, principal: AccountPrincipal, session: SessionDep, settings: SettingsDep
):
    """The invoice of a paid order, as a PDF."""
    order = await _visible_order(session, principal, order_id)
    if order.status not in INVOICE_STATUSES or order.paid_at is None:
        raise Conflict("invoice_not_available", "an invoice exists once the order is paid")
    address = order.billing_address or {}
    invoice = Invoice(
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
    pdf = await asyncio.to_thread(render_invoice, invoice)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'},
    )


def _line_detail(item: dict, kind: str) -> str:
    what = {
        "paid": "one-time license",
        "subscription": f"{item.get('subscription_period') or ''} subscription".strip(),
        "trial": f"{item.get('subscription_period') or ''} subscription".strip(),
    }.get(item["license_type"], item["license_type"])
    if kind == OrderKind.RENEWAL:
        what = f"renewal, period {item.get('period_number', '')}".strip(", ")
    return f"{item['module_slug']} · {what}"


@router.post("/{order_id}/refund", status_code=status.HTTP_202_ACCEPTED, response_model=OrderOut)
async def refund_order(
    order_id: IdPath,
    body: RefundIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
):
    """Refund the whole order through its gateway; its licenses are revoked and the
    publishers' earnings reversed. Buyers may ask within the refund window, admins any
    time. Poll the order: it ends ``refunded``."""
    order = await _visible_order(session, principal, order_id)
    by_admin = Scope.ADMIN in principal.scopes
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
        by_admin=by_admin,
        now=datetime.now(UTC),
        window=platform.refund_window,
    )
    await audit.record(
        session,
        actor_id=principal.user.id,
        action="order.refund",
        entity_type="order",
        entity_id=order.id,
        changes={"reason": body.reason, "by_admin": by_admin},
    )
    await session.commit()
    await checkout_service.start_refund(
        temporal,
        order.order_number,
        RefundInput(
            order_id=order.id,
            initiated_by="admin" if by_admin and order.user_id != principal.user.id else "buyer",
            requested_by=principal.user.id,
            reason=body.reason,
        ),
    )
    return await order_out(session, order)
