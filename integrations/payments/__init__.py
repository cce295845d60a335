"""Payment gateways behind one interface: the local test gateway, Stripe and PayPal.

Amounts cross this boundary as integer minor units (``domain.pricing.to_minor_units``);
everything inside the system is ``Decimal``. Every call that moves money takes an
idempotency key built from business ids (``checkout:{order}:charge``,
``sub:{license}:period:{n}:attempt:{k}``, ``refund:{order}``), so a retried activity never
charges or refunds twice.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from domain.checkout import PaymentStatus, RefundStatus


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    """Our order number; stored on the gateway's object (metadata, invoice id)."""
    amount_minor: int
    currency: str
    description: str
    idempotency_key: str
    customer_id: str | None = None
    payment_method: str | None = None
    """A gateway payment method (Stripe ``pm_…``, a local test card number or ``pm_local_…``)."""
    off_session: bool = False
    """A renewal charged without the buyer present, with a saved payment method."""
    save_payment_method: bool = False
    """Keep the method for later off-session charges (subscriptions)."""
    buyer_email: str | None = None
    return_url: str | None = None
    """Where the gateway sends the buyer back after approval (PayPal, 3-D Secure)."""


@dataclass(frozen=True)
class Payment:
    gateway: str
    payment_id: str
    status: PaymentStatus
    amount_minor: int
    currency: str
    next_action_url: str | None = None
    """Where the buyer approves or authenticates (PayPal approval link, 3-D Secure)."""
    client_secret: str | None = None
    """For a browser-side confirmation (Stripe.js); only ever shown to the buyer."""
    customer_id: str | None = None
    payment_method: str | None = None
    """The reusable method when one was saved, for renewals."""
    decline_code: str | None = None
    """Machine-readable reason when ``status`` is ``declined``."""


@dataclass(frozen=True)
class Refund:
    refund_id: str
    status: RefundStatus
    amount_minor: int


@dataclass(frozen=True)
class WebhookEvent:
    """A verified gateway notification. It only says *what to look at again*: the state
    itself is always read back from the gateway, so out-of-order events cannot mislead."""

    event_id: str
    event_type: str
    payment_id: str | None
    reference: str | None = None


class WebhookRejected(Exception):
    """A forged, stale or malformed webhook delivery. ``code`` is machine-readable."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class GatewayError(Exception):
    """The gateway could not be reached or answered with a server error: retry later."""


class PaymentGateway(Protocol):
    name: str

    async def ensure_customer(self, user_id: int, email: str, existing: str | None) -> str | None:
        """The gateway's customer for this buyer (created once; ``existing`` if known).
        ``None`` for gateways without customers."""

    async def create_payment(self, request: PaymentRequest) -> Payment:
        """Create (and, when a method is given, attempt) a payment. Same key, same payment."""

    async def confirm_payment(self, payment_id: str, idempotency_key: str) -> Payment:
        """The buyer approved: confirm or capture. Confirming a settled payment returns it."""

    async def get_payment(self, payment_id: str) -> Payment:
        """The gateway's current view of the payment."""

    async def cancel_payment(self, payment_id: str) -> Payment:
        """Give up on an unconfirmed payment. If it succeeded meanwhile, that is returned."""

    async def refund(
        self, payment_id: str, amount_minor: int, idempotency_key: str, reason: str | None
    ) -> Refund:
        """Refund part or all of a succeeded payment. Same key, same refund."""

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a delivery (signature, freshness) and extract the event; else
        ``WebhookRejected``."""
