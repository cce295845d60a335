"""Checkout: the cart becomes an order, and the order's workflow takes the payment and
issues the licenses; the buyer's confirmation and the gateways' webhooks reach it here."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.checkout import (
    CheckoutInput,
    CheckoutPending,
    CheckoutProgress,
    Gateway,
    OrderKind,
    OrderStatus,
    check_cancel,
    new_order_number,
)
from domain.errors import Conflict, DomainError, ErrorKind, NotFound, Unauthenticated
from domain.modules import LicenseType
from domain.pricing import price_order
from integrations.payments import GatewayError, WebhookRejected
from integrations.payments.registry import Gateways
from integrations.temporal.front_door import TemporalFrontDoor, TemporalUnavailable
from models.commerce import Order
from models.repositories import cart, coupons, orders, platform_settings, webhooks
from models.repositories.errors import unique_violations
from models.user import User
from services.cart import cart_lines, ensure_purchasable
from services.coupons import find_coupon
from services.orders import OrderView, view
from settings import Settings

log = logging.getLogger("marketplace.checkout")

MAX_WEBHOOK_BYTES = 256 * 1024
MAX_EVENT_ID, MAX_EVENT_TYPE = 255, 100
PENDING_GRACE = timedelta(minutes=5)
"""An order waiting for its payment blocks a second checkout of its modules until its
workflow closes it at ``expires_at``; one still pending this long after that lost its
workflow (it never started and could not be undone) and blocks nothing."""


@dataclass(frozen=True)
class CheckoutRequest:
    """What the buyer asked for: how to pay, and whom to bill."""

    gateway: Gateway = Gateway.LOCAL
    payment_method: str | None = None
    coupon_code: str | None = None
    save_payment_method: bool = False
    billing_name: str | None = None
    billing_email: str | None = None
    billing_address: dict[str, Any] | None = None
    return_url: str | None = None
    idempotency_key: str | None = None
    """A retried checkout with the same key finds the same order."""


@dataclass(frozen=True)
class CheckoutStarted:
    order: OrderView
    workflow_id: str


async def start_checkout(workflows: TemporalFrontDoor, request: CheckoutInput) -> str:
    workflow_id = processes.Checkout.workflow_id(request.order_number)
    await workflows.start(processes.Checkout.TYPE, request, workflow_id=workflow_id)
    return workflow_id


async def confirm(workflows: TemporalFrontDoor, order_number: str) -> CheckoutProgress | None:
    """Tell the checkout the buyer approved; None when no checkout waits any more."""
    return await workflows.update(
        processes.Checkout.workflow_id(order_number),
        processes.Checkout.CONFIRM,
        result_type=CheckoutProgress,
    )


async def cancel(workflows: TemporalFrontDoor, order_number: str) -> CheckoutProgress | None:
    """Ask the checkout to cancel its waiting payment; None when no checkout runs any
    more. A refusal (``order_paid``, ``payment_not_ready``, ...) is raised as a 409."""
    return await workflows.update(
        processes.Checkout.workflow_id(order_number),
        processes.Checkout.CANCEL,
        result_type=CheckoutProgress,
    )


async def payment_changed(workflows: TemporalFrontDoor, order_number: str) -> bool:
    """Wake the checkout to look at its payment again; False if it no longer runs."""
    return await workflows.signal(
        processes.Checkout.workflow_id(order_number), processes.Checkout.PAYMENT_CHANGED
    )


def _workflow_input(order: Order, request: CheckoutRequest, settings: Settings) -> CheckoutInput:
    has_subscription = any(item["license_type"] != LicenseType.PAID for item in order.items)
    return CheckoutInput(
        order_id=order.id,
        order_number=order.order_number,
        payment_method=request.payment_method,
        save_payment_method=request.save_payment_method or has_subscription,
        return_url=request.return_url,
        confirm_timeout_seconds=settings.checkout_confirm_timeout.total_seconds(),
        activity_timeout_seconds=settings.activity_timeout.total_seconds(),
        free=order.total == 0,
    )


async def _started(session: AsyncSession, order: Order) -> CheckoutStarted:
    return CheckoutStarted(
        order=await view(session, order),
        workflow_id=processes.Checkout.workflow_id(order.order_number),
    )


async def place_order(
    session: AsyncSession,
    user: User,
    request: CheckoutRequest,
    *,
    settings: Settings,
    gateways: Gateways,
    workflows: TemporalFrontDoor,
) -> CheckoutStarted:
    """Turn the cart into an order, commit it, then start the checkout workflow. An
    ``idempotency_key`` seen before answers with that order (starting its workflow if it
    never started); when the workflow cannot start, the order is undone.

    The cart stays as it is: the lines an order bought leave it when the order is paid
    (``CheckoutActivities.mark_paid``), so a declined, failed or expired payment leaves
    it untouched. While an order for some of its modules still waits for its payment, a
    second checkout is refused (``CheckoutPending``) rather than ordering them twice."""
    if request.idempotency_key is not None:
        existing = await orders.by_checkout_key(session, user.id, request.idempotency_key)
        if existing is not None:
            await start_checkout(workflows, _workflow_input(existing, request, settings))
            return await _started(session, existing)
    gateways.get(request.gateway.value)
    rows = await cart.lines(session, user.id, lock=True)
    if not rows:
        raise DomainError("empty_cart", "the cart is empty: add modules first")
    for _, module, _ in rows:
        await ensure_purchasable(session, user, module)
    now = datetime.now(UTC)
    coupon_row, coupon = (
        await find_coupon(session, request.coupon_code, lock=True)
        if request.coupon_code
        else (None, None)
    )
    rate = await platform_settings.tax_rate(session)
    totals = price_order(cart_lines(rows), coupon, rate, now)
    if coupon_row is not None and not await coupons.redeem(session, coupon_row.id):
        raise DomainError("coupon_exhausted", f"coupon {coupon_row.code} has been used up")
    if request.gateway is Gateway.LOCAL and totals.total > 0 and request.payment_method is None:
        raise DomainError("payment_method_required", "the local gateway needs a test card number")
    pending = await orders.pending_with_modules(
        session, user.id, [module.id for _, module, _ in rows], now - PENDING_GRACE
    )
    if pending is not None:
        raise CheckoutPending(pending.id, pending.order_number, pending.expires_at)
    by_module = {line.module_id: line for line in totals.lines}
    order = Order(
        order_number=new_order_number(now),
        user_id=user.id,
        checkout_key=request.idempotency_key,
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
        payment_method=request.gateway.value,
        status=OrderStatus.PENDING.value,
        expires_at=now + settings.checkout_confirm_timeout,
        billing_email=request.billing_email or user.email,
        billing_name=request.billing_name or user.full_name,
        billing_address=request.billing_address,
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
    await session.commit()
    try:
        await start_checkout(workflows, _workflow_input(order, request, settings))
    except Exception as error:
        await _undo(session, order)
        raise TemporalUnavailable(
            "checkout_unavailable", "checkout could not start; your cart is as it was, retry"
        ) from error
    return await _started(session, order)


async def _undo(session: AsyncSession, order: Order) -> None:
    """The workflow could not be started: nothing was charged, so close the order and
    give the coupon use back (the cart was never touched)."""
    await session.rollback()
    order = await orders.get(session, order.id, lock=True) or order
    order.status = OrderStatus.FAILED.value
    order.failure_code = "checkout_unavailable"
    if order.coupon_id is not None:
        await coupons.release(session, order.coupon_id)
    await session.commit()


async def confirm_order(
    session: AsyncSession, user_id: int, order_number: str, *, workflows: TemporalFrontDoor
) -> OrderView:
    """The buyer approved the payment: confirm it through a pending order's checkout.
    Confirming again, or after the order settled, changes nothing."""
    order = await orders.by_number(session, order_number)
    if order is None or order.user_id != user_id:
        raise NotFound("order_not_found", "no such order among yours")
    if order.status == OrderStatus.PENDING:
        await session.commit()
        await confirm(workflows, order.order_number)
        await session.refresh(order)
    return await view(session, order)


async def cancel_order(
    session: AsyncSession, user_id: int, order_id: int, *, workflows: TemporalFrontDoor
) -> OrderView:
    """The buyer gives up the pending payment of their order: its checkout cancels it at
    the gateway and closes the order ``cancelled`` (coupon use given back, cart as it
    was), so they can check out again at once. Cancelling a cancelled order again changes
    nothing; a paid one is ``order_paid``, also when the payment won a race with this
    cancel. Only the buyer may: to anyone else the order does not exist."""
    order = await orders.get(session, order_id)
    if order is None or order.user_id != user_id:
        raise NotFound("order_not_found", "no such order among yours")
    if check_cancel(OrderStatus(order.status), OrderKind(order.kind)):
        await session.commit()
        answered = await cancel(workflows, order.order_number)
        await session.refresh(order)
        # None: its checkout ended meanwhile, and the order's status says how
        if answered is None and check_cancel(OrderStatus(order.status), OrderKind(order.kind)):
            raise Conflict(
                "checkout_not_running",
                "no checkout runs for this order any more; it blocks nothing after its expiry",
            )
    return await view(session, order)


async def receive_webhook(
    session: AsyncSession,
    gateway: Gateway,
    headers: Mapping[str, str],
    body: bytes,
    *,
    gateways: Gateways,
    workflows: TemporalFrontDoor,
) -> bool:
    """Verify a gateway's delivery, wake the checkout of the order it is about, and
    remember the event; True when the event was received before (nothing done).

    The receipt is written after the signal, on purpose: it is what makes a redelivery a
    duplicate, so it must not outlive a wake-up that never reached the workflow (a signal
    refused for Temporal being down answers 503 and the gateway delivers again). The
    workflow reads nothing this writes: the payment is read back from the gateway."""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise DomainError("malformed_event", "webhook body too large")
    try:
        event = await gateways.get(gateway.value).parse_webhook(headers, body)
    except WebhookRejected as rejected:
        if rejected.code == "invalid_signature":
            raise Unauthenticated(rejected.code, rejected.detail) from None
        raise DomainError(rejected.code, rejected.detail) from None
    except GatewayError as error:
        # the gateway could not say whether it signed the delivery: it delivers again
        log.warning("webhook from %s not verified: %s", gateway.value, error)
        raise DomainError(
            "gateway_unavailable",
            f"{gateway.value} cannot verify the delivery now; try again later",
            ErrorKind.UNAVAILABLE,
        ) from None
    if not 0 < len(event.event_id) <= MAX_EVENT_ID or len(event.event_type) > MAX_EVENT_TYPE:
        raise DomainError("malformed_event", "the event's id or type is not one a gateway sends")
    if await webhooks.seen(session, gateway.value, event.event_id):
        return True
    order = None
    if event.payment_id is not None:
        order = await orders.by_payment(session, gateway.value, event.payment_id)
    if order is None and event.reference is not None:
        order = await orders.by_number(session, event.reference)
        if order is not None and order.payment_method != gateway.value:
            order = None
    if order is not None:
        await payment_changed(workflows, order.order_number)
    await webhooks.remember(
        session, gateway.value, event.event_id, event.event_type, datetime.now(UTC)
    )
    await session.commit()
    return False
