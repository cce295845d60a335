"""Request and response bodies of checkout and orders."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from api.schemas import Flag, InCurrency, Money, MultiLine, SingleLine, Strict
from domain.checkout import Gateway, OrderNextStep
from services.orders import OrderView

PaymentMethod = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_ -]+$")
]
OrderNumber = Annotated[SingleLine, StringConstraints(min_length=1, max_length=50)]


class BillingAddress(Strict):
    line1: SingleLine = Field(min_length=1, max_length=200)
    line2: SingleLine | None = Field(default=None, max_length=200)
    city: SingleLine = Field(min_length=1, max_length=100)
    postal_code: SingleLine | None = Field(default=None, max_length=20)
    region: SingleLine | None = Field(default=None, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class CheckoutIn(Strict):
    gateway: Gateway = Gateway.LOCAL
    payment_method: PaymentMethod | None = Field(
        default=None,
        description="local: a test card number; Stripe: a PaymentMethod id; PayPal: none",
    )
    coupon_code: SingleLine | None = Field(
        default=None, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$"
    )
    save_payment_method: Flag = Field(
        default=False, description="always on when the cart holds a subscription"
    )
    billing_name: SingleLine | None = Field(default=None, max_length=200)
    billing_email: EmailStr | None = None
    billing_address: BillingAddress | None = None
    return_url: SingleLine | None = Field(default=None, max_length=500, pattern=r"^https?://")


class ConfirmIn(Strict):
    order_number: OrderNumber


class RefundIn(Strict):
    reason: MultiLine | None = Field(default=None, max_length=500)


class OrderLineOut(BaseModel):
    module_id: int
    module_slug: str
    module_name: str
    license_type: str
    subscription_period: str | None = None
    unit_price: Money
    discount: Money
    tax: Money
    total: Money


class NextAction(BaseModel):
    url: str | None = None
    client_secret: str | None = None


class PaymentOut(BaseModel):
    gateway: str | None
    status: str
    payment_id: str | None
    next_action: NextAction | None = None


class OrderLicenseOut(BaseModel):
    """A license the order issued (its key: GET /licenses, by its owner)."""

    id: int
    module_id: int
    module_slug: str
    license_type: str
    status: str
    expires_at: datetime | None


class OrderOut(InCurrency):
    id: int
    order_number: str
    kind: str
    status: str
    failure_code: str | None
    payment: PaymentOut
    items: list[OrderLineOut]
    currency: str
    subtotal: Money
    discount: Money
    tax: Money
    tax_rate: Decimal
    total: Money
    coupon_code: str | None
    refunded_amount: Money
    created_at: datetime
    paid_at: datetime | None
    expires_at: datetime | None
    refunded_at: datetime | None
    license_ids: list[int]
    licenses: list[OrderLicenseOut] = Field(description="The licenses issued, one per line")
    invoice_url: str | None
    failure_reason: str | None = Field(description="failure_code in words, for people")
    settled: bool = Field(
        description="completed, failed, expired, cancelled or refunded: the checkout is over "
        "(stop polling)"
    )
    next_step: OrderNextStep = Field(
        description="confirm_payment: approve payment.next_action (open its url, or use "
        "its client_secret with Stripe.js), then POST /checkout/confirm; wait: poll this "
        "order; check_out_again: nothing charged, the cart is as it was; none: settled"
    )
    cancellable: bool = Field(
        description="the buyer may give the pending payment up: POST /orders/{id}/cancel"
    )


class CheckoutOut(BaseModel):
    order: OrderOut
    workflow_id: str
    status_url: str


def order_out(view: OrderView) -> OrderOut:
    """An order as the checkout and order endpoints answer it."""
    order = view.order
    next_action = order.payment_next_action
    slugs = {item.get("module_id"): item.get("module_slug", "") for item in order.items}
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
        license_ids=view.license_ids,
        licenses=[
            OrderLicenseOut(
                id=row.id,
                module_id=row.module_id,
                module_slug=slugs.get(row.module_id, ""),
                license_type=row.license_type,
                status=row.status,
                expires_at=row.expires_at,
            )
            for row in view.licenses
        ],
        invoice_url=(
            f"/api/v1/marketplace/orders/{order.id}/invoice" if view.has_invoice else None
        ),
        failure_reason=view.failure_reason,
        settled=view.settled,
        next_step=view.next_step,
        cancellable=view.cancellable,
    )
