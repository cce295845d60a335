"""Orders, refunds and subscription billing periods: the rules, no I/O.

An order moves ``pending`` → ``paid`` → ``completed``, or ends ``failed`` (declined, or
fulfilment failed and was refunded), ``expired`` (never confirmed) or ``cancelled`` (its
buyer gave the pending payment up); a completed order can become ``refunded``. Payment
status follows the gateway: ``pending``, ``requires_action``, ``processing``,
``succeeded``, ``declined``, ``canceled``, ``refunded``.
"""

import calendar
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from domain.errors import Conflict, Forbidden
from domain.modules import LicenseType, SubscriptionPeriod

ORDER_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_NUMBER_RANDOM = 10


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    """The buyer cancelled the pending payment: nothing was charged."""
    REFUNDED = "refunded"


class OrderKind(StrEnum):
    PURCHASE = "purchase"
    RENEWAL = "renewal"


class Gateway(StrEnum):
    LOCAL = "local"
    STRIPE = "stripe"
    PAYPAL = "paypal"


class LicenseKind(StrEnum):
    """``license_type`` of a license row (a module's ``license_type`` is what it sells)."""

    FREE = "free"
    PURCHASE = "purchase"
    SUBSCRIPTION = "subscription"
    TRIAL = "trial"


class PaymentStatus(StrEnum):
    """A payment as its gateway reports it."""

    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    """The buyer must approve or authenticate (3-D Secure, PayPal approval), then confirm."""
    PROCESSING = "processing"
    """The gateway has it and will say how it ended (webhook, or a later look-up)."""
    DECLINED = "declined"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.DECLINED, PaymentStatus.CANCELED)


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_live(self) -> bool:
        return self in (
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
        )


def new_order_number(now: datetime) -> str:
    """``FV-20261127-7K2Q9XWM3D``: the day for people, 50 random bits for uniqueness."""
    random_part = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_RANDOM))
    return f"FV-{now:%Y%m%d}-{random_part}"


def renewal_order_number(license_id: int, period_number: int) -> str:
    """Renewal orders are named by what they pay for, so a retried charge finds its order."""
    return f"FV-R{license_id}-{period_number}"


def license_kind_for(module_license_type: LicenseType) -> LicenseKind:
    if module_license_type is LicenseType.FREE:
        return LicenseKind.FREE
    if module_license_type is LicenseType.PAID:
        return LicenseKind.PURCHASE
    return LicenseKind.SUBSCRIPTION


def add_period(start: datetime, period: SubscriptionPeriod, count: int = 1) -> datetime:
    """``start`` moved by whole months or years, clamping the day (Jan 31 + 1 month = Feb 28
    or 29), so twelve monthly periods from any day make exactly one year."""
    months = count * (12 if period is SubscriptionPeriod.YEARLY else 1)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def period_end(anchor: datetime, period: SubscriptionPeriod, period_number: int) -> datetime:
    """The end of period ``period_number`` (1-based) counted from the anchor, never drifting
    the way repeated clamping would (Jan 31 → Feb 28 → Mar 28)."""
    return add_period(anchor, period, period_number)


@dataclass(frozen=True)
class RefundRequest:
    status: OrderStatus
    kind: OrderKind
    paid_at: datetime | None
    total_refunded: bool


def check_refund_allowed(
    order: RefundRequest, *, by_admin: bool, now: datetime, window: timedelta
) -> None:
    """A completed order can be refunded once: by an admin at any time, by the buyer within
    the refund window from payment. Renewals follow the same rule."""
    if order.status is OrderStatus.REFUNDED or order.total_refunded:
        raise Conflict("already_refunded", "this order has been refunded")
    if order.status is not OrderStatus.COMPLETED or order.paid_at is None:
        raise Conflict("order_not_refundable", f"a {order.status} order cannot be refunded")
    if not by_admin and now - order.paid_at > window:
        days = window.days
        raise Forbidden(
            "refund_window_closed",
            f"refunds can be requested within {days} days of payment; contact support",
        )


FAILURE_REASONS = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "incorrect_cvc": "The card's security code is incorrect.",
    "processing_error": "The card could not be processed; try again.",
    "test_card_required": "The test gateway takes only its test card numbers.",
    "authentication_required": "The bank asked for an authentication that was not completed.",
    "payment_not_confirmed": "The payment was not confirmed in time.",
    "payment_declined": "The payment was declined.",
    "declined": "The payment was declined.",
    "order_closed": "The order was closed before it was paid.",
    "cancelled_by_buyer": "You cancelled the payment; nothing was charged.",
    "checkout_unavailable": "Checkout could not start; nothing was charged.",
    "fulfilment_failed": "The payment went through but the licenses could not be issued, so "
    "the money was refunded.",
    "subscription_ended": "The subscription ended before this period was paid.",
}
"""What a ``failure_code`` means, for people; a code not listed here reads as a decline."""


def failure_reason(code: str | None) -> str | None:
    if code is None:
        return None
    return FAILURE_REASONS.get(code, f"The payment did not go through ({code}).")


class OrderNextStep(StrEnum):
    """What the buyer (or their page) does next with an order."""

    CONFIRM_PAYMENT = "confirm_payment"
    """Approve the payment (``payment.next_action``), then ``POST /checkout/confirm``."""
    WAIT = "wait"
    """The checkout is under way: poll the order."""
    CHECK_OUT_AGAIN = "check_out_again"
    """Nothing was charged (or it was refunded) and the cart is as it was."""
    NONE = "none"
    """Settled: licensed, refunded, or a renewal that ended."""


SETTLED = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.FAILED,
        OrderStatus.EXPIRED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    }
)
UNPAID_ENDS = (OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED)
"""How an order ends without anything charged (or after an automatic refund)."""
CANCELLED_BY_BUYER = "cancelled_by_buyer"
"""The ``failure_code`` of an order whose buyer cancelled its pending payment."""


def next_step(status: OrderStatus, kind: OrderKind, awaits_buyer: bool) -> OrderNextStep:
    """``awaits_buyer``: the gateway asks the buyer to approve the payment."""
    if status is OrderStatus.PENDING and awaits_buyer:
        return OrderNextStep.CONFIRM_PAYMENT
    if status not in SETTLED:
        return OrderNextStep.WAIT
    if status in UNPAID_ENDS and kind is OrderKind.PURCHASE:
        return OrderNextStep.CHECK_OUT_AGAIN
    return OrderNextStep.NONE


def cancellable(status: OrderStatus, kind: OrderKind) -> bool:
    """Whether the buyer may cancel the order's payment (``POST /orders/{id}/cancel``): a
    purchase still waiting for it. A renewal is charged by its subscription, which is
    cancelled instead."""
    return status is OrderStatus.PENDING and kind is OrderKind.PURCHASE


def check_cancel(status: OrderStatus, kind: OrderKind) -> bool:
    """May the buyer cancel this order's payment now? True: ask its checkout; False: it
    is cancelled already (a retried cancel changes nothing). Anything else is refused."""
    if kind is not OrderKind.PURCHASE:
        raise Conflict(
            "order_not_cancellable",
            "a renewal is charged by its subscription: cancel the subscription instead",
        )
    if status is OrderStatus.CANCELLED:
        return False
    if status in (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.REFUNDED):
        raise Conflict(
            "order_paid", "the order is paid: there is no payment to cancel (ask for a refund)"
        )
    if status is not OrderStatus.PENDING:
        raise Conflict(
            "order_not_pending",
            f"the order is {status.value}: nothing was charged and there is nothing to cancel",
        )
    return True


class CheckoutPending(Conflict):
    """A purchase of some of these modules is still waiting for its payment: a second
    order for the same lines is not made. The API names the order in ``Location``."""

    def __init__(self, order_id: int, order_number: str, expires_at: datetime | None) -> None:
        until = f" until {expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if expires_at else ""
        super().__init__(
            "checkout_pending",
            f"order {order_number} is waiting for the payment of these modules: confirm "
            f"or cancel it, or check out again once it has failed or expired (it "
            f"waits{until})",
        )
        self.order_id = order_id
        self.order_number = order_number


class CheckoutStage(StrEnum):
    CREATING_PAYMENT = "creating_payment"
    AWAITING_PAYMENT = "awaiting_payment"
    FULFILLING = "fulfilling"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    """The buyer cancelled the payment (the ``cancel`` update)."""


class PaymentView(BaseModel):
    """The payment as the workflow last saw it."""

    status: str
    payment_id: str | None = None
    decline_code: str | None = None
    next_action_url: str | None = None


class CheckoutProgress(BaseModel):
    stage: CheckoutStage
    payment: PaymentView | None = None
    failure_code: str | None = None
    license_ids: list[int] = []


class PaymentInstructions(BaseModel):
    """What the buyer gave at checkout; kept in the workflow's input, never in a table."""

    order_id: int
    payment_method: str | None = None
    save_payment_method: bool = False
    return_url: str | None = None


class CheckoutInput(PaymentInstructions):
    """The checkout workflow's input."""

    order_number: str
    confirm_timeout_seconds: float
    free: bool = False
    """Nothing to charge (a coupon covered everything): go straight to fulfilment."""
    activity_timeout_seconds: float = 60.0
    """How long one gateway or database step may take before it is tried again (on
    another worker, if this one died)."""


class RefundInput(BaseModel):
    """The refund workflow's input (and the compensation's, after a failed fulfilment)."""

    order_id: int
    initiated_by: str
    requested_by: int | None = None
    reason: str | None = None


class SubscriptionInput(BaseModel):
    """The subscription workflow's input: one billing period per run."""

    license_id: int


class SubscriptionView(BaseModel):
    """Where a subscription stands, as its workflow answers cancel, resume and view."""

    status: SubscriptionStatus
    period_number: int
    cancel_at_period_end: bool
    failed_attempts: int = 0
