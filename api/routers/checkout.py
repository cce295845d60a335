"""Checkout: the cart becomes an order, and the checkout workflow takes the payment."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, status

from api.deps import (
    AccountPrincipal,
    ClientAddressDep,
    GatewaysDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    WorkflowsDep,
)
from api.errors import RATE_LIMITED, ErrorBody
from api.schemas.orders import CheckoutIn, CheckoutOut, ConfirmIn, OrderOut, order_out
from services import checkout as checkout_service
from services import coupons
from services.checkout import CheckoutRequest

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


PENDING: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "`checkout_pending`: an order for some of the cart's modules still "
        "waits for its payment (`Location` names it); also `already_licensed`, "
        "`checkout_in_progress`, `coupon_exhausted`",
        "headers": {
            "Location": {
                "description": "With `checkout_pending`: the waiting order",
                "schema": {"type": "string"},
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CheckoutOut,
    responses=RATE_LIMITED | PENDING,
)
async def checkout(
    body: CheckoutIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
    gateways: GatewaysDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    idempotency_key: IdempotencyKey = None,
) -> CheckoutOut:
    """Turn the cart into an order and start taking the payment. Poll ``status_url``: the
    order's ``payment.next_action`` says when the buyer must approve (then
    ``POST /checkout/confirm``); it ends ``completed`` with its licenses, or ``failed`` /
    ``expired`` with a ``failure_code``. A ``coupon_code`` counts against the same
    per-client and per-account limits as a cart preview's ``coupon``.

    The cart is left as it is: the lines an order bought leave it when the order is
    paid, so after a declined, failed or expired payment it is still there. While an
    order for some of its modules waits for its payment, a new checkout (without that
    order's ``Idempotency-Key``) is refused with 409 ``checkout_pending``: confirm that
    order, or cancel its payment (``POST /orders/{id}/cancel``) and check out again."""
    coupons.throttle_lookup(
        body.coupon_code, limiter, settings, client=client, account_id=principal.user.id
    )
    started = await checkout_service.place_order(
        session,
        principal.user,
        CheckoutRequest(
            gateway=body.gateway,
            payment_method=body.payment_method,
            coupon_code=body.coupon_code,
            save_payment_method=body.save_payment_method,
            billing_name=body.billing_name,
            billing_email=body.billing_email,
            billing_address=body.billing_address.model_dump() if body.billing_address else None,
            return_url=body.return_url,
            idempotency_key=idempotency_key,
        ),
        settings=settings,
        gateways=gateways,
        workflows=temporal,
    )
    return CheckoutOut(
        order=order_out(started.order),
        workflow_id=started.workflow_id,
        status_url=f"/api/v1/marketplace/orders/{started.order.order.id}",
    )


@router.post("/confirm", response_model=OrderOut)
async def confirm_checkout(
    body: ConfirmIn, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
) -> OrderOut:
    """The buyer approved the payment (3-D Secure, PayPal): confirm it. Answers with the
    order; confirming again, or after the order settled, changes nothing."""
    return order_out(
        await checkout_service.confirm_order(
            session, principal.user.id, body.order_number, workflows=temporal
        )
    )
