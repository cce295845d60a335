"""Checkout: the cart becomes an order, and the checkout workflow takes the payment."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, status

from api.deps import AccountPrincipal, GatewaysDep, SessionDep, SettingsDep, WorkflowsDep
from api.routers.order_schemas import CheckoutIn, CheckoutOut, ConfirmIn, OrderOut
from api.routers.orders import order_out
from domain import processes
from domain.checkout import CheckoutInput, Gateway, OrderStatus, new_order_number
from domain.errors import DomainError, NotFound
from domain.modules import LicenseType
from domain.pricing import price_order
from integrations.temporal.front_door import TemporalUnavailable
from models.commerce import Order
from models.repositories import cart, coupons, orders, platform_settings
from models.repositories.errors import unique_violations
from services import checkout as checkout_service
from services.cart import cart_lines, ensure_purchasable
from services.coupons import find_coupon

router = APIRouter(prefix="/api/v1/marketplace/checkout", tags=["checkout"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="a retried checkout with the same key returns the same order",
    ),
]


def _workflow_input(order: Order, body: CheckoutIn, settings) -> CheckoutInput:
    has_subscription = any(item["license_type"] != LicenseType.PAID for item in order.items)
    return CheckoutInput(
        order_id=order.id,
        order_number=order.order_number,
        payment_method=body.payment_method,
        save_payment_method=body.save_payment_method or has_subscription,
        return_url=body.return_url,
        confirm_timeout_seconds=settings.checkout_confirm_timeout.total_seconds(),
        activity_timeout_seconds=settings.activity_timeout.total_seconds(),
        free=order.total == 0,
    )


async def _accepted(session, order: Order) -> CheckoutOut:
    return CheckoutOut(
        order=await order_out(session, order),
        workflow_id=processes.Checkout.workflow_id(order.order_number),
        status_url=f"/api/v1/marketplace/orders/{order.id}",
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=CheckoutOut)
async def checkout(
    body: CheckoutIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
    gateways: GatewaysDep,
    idempotency_key: IdempotencyKey = None,
):
    """Turn the cart into an order and start taking the payment. Poll ``status_url``: the
    order's ``payment.next_action`` says when the buyer must approve (then
    ``POST /checkout/confirm``); it ends ``completed`` with its licenses, or ``failed`` /
    ``expired`` with a ``failure_code``."""
    user = principal.user
    if idempotency_key is not None:
        existing = await orders.by_checkout_key(session, user.id, idempotency_key)
        if existing is not None:
            await checkout_service.start_checkout(
                temporal, _workflow_input(existing, body, settings)
            )
            return await _accepted(session, existing)
    gateways.get(body.gateway.value)
    rows = await cart.lines(session, user.id, lock=True)
    if not rows:
        raise DomainError("empty_cart", "the cart is empty: add modules first")
    for _, module, _ in rows:
        await ensure_purchasable(session, user, module)
    coupon_row, coupon = (
        await find_coupon(session, body.coupon_code, lock=True)
        if body.coupon_code
        else (None, None)
    )
    now = datetime.now(UTC)
    rate = await platform_settings.tax_rate(session)
    totals = price_order(cart_lines(rows), coupon, rate, now)
    if coupon_row is not None and not await coupons.redeem(session, coupon_row.id):
        raise DomainError("coupon_exhausted", f"coupon {coupon_row.code} has been used up")
    if body.gateway is Gateway.LOCAL and totals.total > 0 and body.payment_method is None:
        raise DomainError("payment_method_required", "the local gateway needs a test card number")
    by_module = {line.module_id: line for line in totals.lines}
    order = Order(
        order_number=new_order_number(now),
        user_id=user.id,
        checkout_key=idempotency_key,
        items=[
            {
                "module_id": module.id,
                "publisher_id": publisher.id,
                "module_slug": module.slug,
                "module_name": module.display_name,
                "license_type": module.license_type,
                "subscription_period": module.subscription_period,
                "unit_price": str(by_module[module.id].gross),
                "discount": str(by_module[module.id].discount),
                "tax": str(by_module[module.id].tax),
                "net_of_discount": str(by_module[module.id].net_of_discount),
                "total": str(by_module[module.id].total),
            }
            for _, module, publisher in rows
        ],
        subtotal=totals.subtotal,
        discount_amount=totals.discount,
        tax_amount=totals.tax,
        tax_rate=rate,
        total=totals.total,
        currency=totals.currency,
        coupon_code=coupon_row.code if coupon_row else None,
        coupon_id=coupon_row.id if coupon_row else None,
        payment_method=body.gateway.value,
        status=OrderStatus.PENDING.value,
        expires_at=now + settings.checkout_confirm_timeout,
        billing_email=body.billing_email or user.email,
        billing_name=body.billing_name or user.full_name,
        billing_address=body.billing_address.model_dump() if body.billing_address else None,
    )
    async with unique_violations(
        session,
        {
            "uq_marketplace_orders_user_id_checkout_key": (
                "checkout_in_progress",
                "a checkout with this Idempotency-Key is being created; retry",
            )
        },
    ):
        await orders.add(session, order)
    await cart.clear(session, user.id)
    await session.commit()
    try:
        await checkout_service.start_checkout(temporal, _workflow_input(order, body, settings))
    except Exception as error:
        await _undo(session, order, [module.id for _, module, _ in rows])
        raise TemporalUnavailable(
            "checkout_unavailable", "checkout could not start; your cart is as it was, retry"
        ) from error
    return await _accepted(session, order)


async def _undo(session, order: Order, module_ids: list[int]) -> None:
    """The workflow could not be started: nothing was charged, so close the order, give
    the coupon use back and put the modules back in the cart."""
    await session.rollback()
    order = await orders.get(session, order.id, lock=True) or order
    order.status = OrderStatus.FAILED.value
    order.failure_code = "checkout_unavailable"
    if order.coupon_id is not None:
        await coupons.release(session, order.coupon_id)
    for module_id in module_ids:
        await cart.add(session, order.user_id, module_id)
    await session.commit()


@router.post("/confirm", response_model=OrderOut)
async def confirm_checkout(
    body: ConfirmIn, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
):
    """The buyer approved the payment (3-D Secure, PayPal): confirm it. Answers with the
    order; confirming again, or after the order settled, changes nothing."""
    order = await orders.by_number(session, body.order_number)
    if order is None or order.user_id != principal.user.id:
        raise NotFound("order_not_found", "no such order among yours")
    if order.status == OrderStatus.PENDING:
        await session.commit()
        await checkout_service.confirm(temporal, order.order_number)
        await session.refresh(order)
    return await order_out(session, order)
