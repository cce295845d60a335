"""PayPal Checkout over REST (Orders v2, Payments v2) on the shared ``PayPalClient``.

A payment is a PayPal order with intent CAPTURE: ``create_payment`` creates it and returns
the link where the buyer approves it; ``confirm_payment`` captures it once approved. No
money moves before the capture, which is why an unconfirmed order can simply be abandoned.

Every call goes through ``integrations.paypal.PayPalClient`` (async ``httpx``, one cached
OAuth token, retries of network errors and 5xx under the same ``PayPal-Request-Id``), the
same client the PayPal payouts rail uses. ``parse_webhook`` asks PayPal's
``/v1/notifications/verify-webhook-signature`` whether PayPal signed a delivery.

Errors: an unreachable PayPal, a 5xx, a 429 or refused client credentials raise
``GatewayError`` (retry later); any other refusal raises ``PayPalRefused``, a
``DomainError`` whose code is PayPal's issue in lower case (``refund_amount_exceeded``,
``resource_not_found``...). Secrets and tokens are never logged.
"""

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from domain.checkout import PaymentStatus, RefundStatus
from domain.errors import DomainError, ErrorKind
from domain.pricing import from_minor_units, to_minor_units
from integrations.payments import (
    GatewayError,
    Payment,
    PaymentRequest,
    Refund,
    WebhookEvent,
    WebhookRejected,
)
from integrations.paypal import PayPalClient, PayPalError, PayPalUnavailable

log = logging.getLogger("marketplace.payments.paypal")

ORDERS_PATH = "/v2/checkout/orders"
CAPTURES_PATH = "/v2/payments/captures"
VERIFY_WEBHOOK_PATH = "/v1/notifications/verify-webhook-signature"
REPRESENTATION = "return=representation"
"""PayPal answers writes minimally (id, status, links) unless asked for the whole resource."""
WEBHOOK_MAX_AGE = timedelta(minutes=5)
WEBHOOK_MAX_AHEAD = timedelta(minutes=1)
WEBHOOK_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}
APPROVAL_RELS = ("approve", "payer-action")
PAYPAL_FIELD_LIMIT = 127
"""Longest ``description``/``invoice_id``/``custom_id`` PayPal takes on a purchase unit."""

_WAITING = {"CREATED", "SAVED", "APPROVED", "PAYER_ACTION_REQUIRED"}
_CAPTURE_STATUS = {
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "PARTIALLY_REFUNDED": PaymentStatus.SUCCEEDED,
    "REFUNDED": PaymentStatus.SUCCEEDED,
    "PENDING": PaymentStatus.PROCESSING,
    "DECLINED": PaymentStatus.DECLINED,
    "FAILED": PaymentStatus.DECLINED,
}
_REFUND_STATUS = {"COMPLETED": RefundStatus.SUCCEEDED, "PENDING": RefundStatus.PENDING}
_ERROR_KIND = {400: ErrorKind.INVALID, 404: ErrorKind.NOT_FOUND}


class PayPalRefused(DomainError):
    """PayPal understood the request and refused it (4xx): retrying will not help."""

    def __init__(self, status: int, issue: str, detail: str) -> None:
        super().__init__(issue.lower(), detail, _ERROR_KIND.get(status, ErrorKind.CONFLICT))
        self.status = status
        self.issue = issue


@contextlib.contextmanager
def _gateway_errors() -> Iterator[None]:
    """The shared client's errors as the ``PaymentGateway`` contract names them."""
    try:
        yield
    except PayPalUnavailable as error:
        raise GatewayError(str(error)) from error
    except PayPalError as error:
        raise PayPalRefused(
            error.status, error.issue, f"PayPal refused the request: {error.message}"
        ) from error


class PayPalGateway:
    """The ``PaymentGateway`` for PayPal Checkout.

    Built from credentials (its own ``PayPalClient``), or with ``over`` on a client the
    process shares with the payouts rail. ``api_base`` points everything at another server
    (tests: ``tests/paypal_fake.py``).
    """

    name = "paypal"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        api_base: str | None = None,
        sandbox: bool = False,
    ) -> None:
        self._paypal = PayPalClient(client_id, client_secret, api_base=api_base, sandbox=sandbox)
        self._webhook_id = webhook_id

    @classmethod
    def over(cls, paypal: PayPalClient, webhook_id: str) -> Self:
        """A gateway on a client shared with other PayPal adapters (one token cache)."""
        gateway = cls.__new__(cls)
        gateway._paypal = paypal
        gateway._webhook_id = webhook_id
        return gateway

    def __repr__(self) -> str:
        return f"PayPalGateway(api_base={self._paypal.api_base!r})"

    async def ensure_customer(self, user_id: int, email: str, existing: str | None) -> None:
        """PayPal Checkout has no customer objects: the buyer logs in to PayPal."""
        return None

    async def create_payment(self, request: PaymentRequest) -> Payment:
        """A PayPal order awaiting the buyer's approval. ``payment_method`` and
        ``customer_id`` do not apply; off-session charges would need PayPal's vault, which
        this gateway does not use, so they are refused rather than left waiting forever."""
        if request.off_session:
            raise DomainError(
                "off_session_unsupported", "PayPal payments need the buyer to approve them"
            )
        reference = request.reference[:PAYPAL_FIELD_LIMIT]
        experience: dict[str, str] = {
            "shipping_preference": "NO_SHIPPING",
            "user_action": "PAY_NOW",
        }
        if request.return_url is not None:
            experience["return_url"] = request.return_url
        body = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "amount": {
                        "currency_code": request.currency,
                        "value": _decimal(request.amount_minor, request.currency),
                    },
                    "description": request.description[:PAYPAL_FIELD_LIMIT],
                    "custom_id": reference,
                    "invoice_id": reference,
                }
            ],
            "payment_source": {"paypal": {"experience_context": experience}},
        }
        order = await self._call("POST", ORDERS_PATH, json=body, request_id=request.idempotency_key)
        return _payment(order)

    async def confirm_payment(self, payment_id: str, idempotency_key: str) -> Payment:
        """Capture an approved order. Only an APPROVED order is sent to capture: a capture
        refused because the buyer has not approved yet must not leave a failed request
        behind the idempotency key that the real capture will use later."""
        order = await self._get_order(payment_id)
        if order.get("status") != "APPROVED":
            return _payment(order)
        try:
            captured = await self._call(
                "POST", f"{ORDERS_PATH}/{payment_id}/capture", json={}, request_id=idempotency_key
            )
        except PayPalRefused as refused:
            if refused.issue == "ORDER_NOT_APPROVED":
                return _payment(order)
            if refused.issue == "ORDER_ALREADY_CAPTURED":
                return _payment(await self._get_order(payment_id))
            if refused.issue == "INSTRUMENT_DECLINED":
                return _payment(order, PaymentStatus.DECLINED, "instrument_declined")
            raise
        return _payment(captured)

    async def get_payment(self, payment_id: str) -> Payment:
        return _payment(await self._get_order(payment_id))

    async def cancel_payment(self, payment_id: str) -> Payment:
        """PayPal can void only authorizations, not CAPTURE orders, and lets an uncaptured
        order expire by itself. Since nothing is charged before our capture, canceling
        means never capturing: an order not completed is reported CANCELED here while
        PayPal may still show it CREATED or APPROVED until it expires. The caller must not
        confirm a payment it canceled."""
        payment = _payment(await self._get_order(payment_id))
        if payment.status.is_final:
            return payment
        return replace(payment, status=PaymentStatus.CANCELED, next_action_url=None)

    async def refund(
        self, payment_id: str, amount_minor: int, idempotency_key: str, reason: str | None
    ) -> Refund:
        """Refund the order's capture. ``reason`` is not sent: PayPal's only free-text
        field on a refund (``note_to_payer``) is shown to the buyer."""
        capture = _capture(await self._get_order(payment_id))
        if capture is None:
            raise DomainError("payment_not_captured", "the PayPal order has no capture to refund")
        currency = capture["amount"]["currency_code"]
        refund = await self._call(
            "POST",
            f"{CAPTURES_PATH}/{capture['id']}/refund",
            json={"amount": {"currency_code": currency, "value": _decimal(amount_minor, currency)}},
            request_id=idempotency_key,
        )
        amount = refund.get("amount")
        return Refund(
            refund_id=refund["id"],
            status=_REFUND_STATUS.get(refund.get("status", ""), RefundStatus.FAILED),
            amount_minor=_minor(amount) if isinstance(amount, dict) else amount_minor,
        )

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check the delivery's freshness locally, then ask PayPal whether it signed it.

        The event is spliced into the verification request as received, not re-encoded:
        PayPal checks its signature against a CRC of the event's bytes, which re-encoding
        (key order, number formats, escapes) could change.
        """
        lowered = {key.lower(): value for key, value in headers.items()}
        signature = {field: lowered.get(header) for field, header in WEBHOOK_HEADERS.items()}
        missing = [WEBHOOK_HEADERS[f] for f, value in signature.items() if not value]
        if missing:
            raise WebhookRejected("invalid_signature", f"missing headers: {', '.join(missing)}")
        try:
            text = body.decode()
            event = json.loads(text)
        except ValueError as error:
            raise WebhookRejected("malformed_event", "the body is not JSON") from error
        if not isinstance(event, dict) or not all(
            isinstance(event.get(key), str) for key in ("id", "event_type")
        ):
            raise WebhookRejected("malformed_event", "the body is not a PayPal event")
        transmission_time = signature["transmission_time"]
        assert transmission_time is not None  # no header is missing
        _check_fresh(transmission_time)
        fields = json.dumps(signature | {"webhook_id": self._webhook_id})
        payload = fields[:-1] + ', "webhook_event": ' + text + "}"
        answer = await self._verify(payload.encode())
        if answer.get("verification_status") != "SUCCESS":
            raise WebhookRejected("invalid_signature", "PayPal did not verify the signature")
        return _webhook_event(event)

    # --- PayPal calls -------------------------------------------------------------------

    async def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """A call whose answer is a resource (asked for whole: ``Prefer``)."""
        with _gateway_errors():
            answer = await self._paypal.request(method, path, prefer=REPRESENTATION, **options)
        if not isinstance(answer, dict):
            raise GatewayError("PayPal answered something not a JSON object")
        return answer

    async def _get_order(self, order_id: str) -> dict[str, Any]:
        return await self._call("GET", f"{ORDERS_PATH}/{order_id}")

    async def _verify(self, payload: bytes) -> dict[str, Any]:
        try:
            answer = await self._paypal.request("POST", VERIFY_WEBHOOK_PATH, content=payload)
        except PayPalUnavailable as error:
            raise GatewayError(f"webhook verification failed: {error}") from error
        except PayPalError as error:
            log.warning("webhook verification refused: HTTP %s", error.status)
            raise WebhookRejected(
                "invalid_signature", "PayPal refused the verification request"
            ) from error
        if not isinstance(answer, dict):
            raise GatewayError("webhook verification answered something not a JSON object")
        return answer


# --- mapping ----------------------------------------------------------------------------


def _decimal(amount_minor: int, currency: str) -> str:
    return str(from_minor_units(amount_minor, currency))


def _minor(money: dict[str, Any]) -> int:
    return to_minor_units(Decimal(money["value"]), money["currency_code"])


def _purchase_unit(order: dict[str, Any]) -> dict[str, Any] | None:
    units = order.get("purchase_units") or []
    unit = units[0] if isinstance(units, list) and units else None
    return unit if isinstance(unit, dict) and isinstance(unit.get("amount"), dict) else None


def _capture(order: dict[str, Any]) -> dict[str, Any] | None:
    """The order's capture (one purchase unit, one capture in this integration)."""
    unit = _purchase_unit(order) or {}
    payments = unit.get("payments")
    captures = (payments.get("captures") if isinstance(payments, dict) else None) or []
    capture = captures[0] if isinstance(captures, list) and captures else None
    return capture if isinstance(capture, dict) else None


def _payment(
    order: dict[str, Any], status: PaymentStatus | None = None, decline_code: str | None = None
) -> Payment:
    unit = _purchase_unit(order)
    if unit is None or not isinstance(order.get("id"), str):
        raise GatewayError("PayPal answered an order without its id or purchase unit")
    order_status = order.get("status")
    approval = None
    if status is None and order_status in _WAITING:
        status = PaymentStatus.REQUIRES_ACTION
        links = order.get("links") or []
        approval = next(
            (
                link.get("href")
                for link in links
                if isinstance(link, dict) and link.get("rel") in APPROVAL_RELS
            ),
            None,
        )
    elif status is None and order_status == "COMPLETED":
        capture = _capture(order) or {}
        capture_status = capture.get("status", "COMPLETED")
        status = _CAPTURE_STATUS.get(capture_status, PaymentStatus.PROCESSING)
        if status is PaymentStatus.DECLINED:
            decline_code = capture_status.lower()
    elif status is None and order_status == "VOIDED":
        status = PaymentStatus.CANCELED
    elif status is None:
        raise GatewayError(f"PayPal answered an unknown order status {order_status!r}")
    return Payment(
        gateway=PayPalGateway.name,
        payment_id=order["id"],
        status=status,
        amount_minor=_minor(unit["amount"]),
        currency=unit["amount"]["currency_code"],
        next_action_url=approval,
        decline_code=decline_code,
    )


def _check_fresh(transmission_time: str) -> None:
    try:
        sent = datetime.fromisoformat(transmission_time)
    except ValueError as error:
        raise WebhookRejected(
            "invalid_signature", "PAYPAL-TRANSMISSION-TIME is not a timestamp"
        ) from error
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    age = datetime.now(UTC) - sent
    if age > WEBHOOK_MAX_AGE or -age > WEBHOOK_MAX_AHEAD:
        raise WebhookRejected("stale_event", f"transmitted {transmission_time}")


def _webhook_event(event: dict[str, Any]) -> WebhookEvent:
    resource = event.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    event_type = event["event_type"]
    order_id = None
    if event_type.startswith("CHECKOUT.ORDER."):
        order_id = resource.get("id")
    elif event_type.startswith("PAYMENT.CAPTURE."):
        supplementary = resource.get("supplementary_data")
        related = supplementary.get("related_ids") if isinstance(supplementary, dict) else None
        order_id = related.get("order_id") if isinstance(related, dict) else None
    reference = resource.get("invoice_id") or resource.get("custom_id")
    if reference is None:
        units = resource.get("purchase_units")
        unit = units[0] if isinstance(units, list) and units else {}
        if isinstance(unit, dict):
            reference = unit.get("invoice_id") or unit.get("custom_id")
    return WebhookEvent(
        event_id=event["id"],
        event_type=event_type,
        payment_id=order_id if isinstance(order_id, str) else None,
        reference=reference if isinstance(reference, str) else None,
    )
