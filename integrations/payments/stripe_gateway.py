"""Stripe card payments through the official ``stripe`` SDK: PaymentIntents, Refunds and
signed webhooks.

A payment is a PaymentIntent restricted to cards (``payment_method_types=["card"]``; Apple
Pay and Google Pay are cards too). Given a payment method it is confirmed at once; without
one the buyer confirms it in the browser with ``client_secret`` (Stripe.js). Restricting to
cards is what lets the server confirm without a ``return_url``: Stripe demands one whenever
a redirect-based method could be chosen. When a ``return_url`` is given anyway, 3-D Secure
comes back as a ``redirect_to_url`` next action, returned as ``next_action_url``.

Every call uses the SDK's async methods on its httpx client, so nothing blocks the event
loop. The SDK itself retries connection errors, 409s and 5xx (with the same idempotency
key); what still fails, and any 429, raises ``GatewayError``. Stripe refusing a request
(other 4xx) raises ``StripeRefused`` with Stripe's error code; a card decline is not an
error but a ``DECLINED`` payment. Currencies go to Stripe in lower case and come back in
upper case, as everywhere else in the system. The secret key is handed to the SDK only and
never logged.
"""

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from domain.checkout import PaymentStatus, RefundStatus
from domain.errors import DomainError, ErrorKind
from integrations.payments import (
    GatewayError,
    Payment,
    PaymentRequest,
    Refund,
    WebhookEvent,
    WebhookRejected,
)

MAX_NETWORK_RETRIES = 2
TIMEOUT_SECONDS = 30.0
METADATA_VALUE_LIMIT = 500
SIGNATURE_HEADER = "stripe-signature"

_STATUS = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "requires_capture": PaymentStatus.PROCESSING,
    "canceled": PaymentStatus.CANCELED,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_confirmation": PaymentStatus.REQUIRES_ACTION,
    "requires_payment_method": PaymentStatus.REQUIRES_ACTION,
}
_CANCELABLE = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
}
_REFUND_STATUS = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


class StripeRefused(DomainError):
    """Stripe understood the request and refused it (4xx other than 429): retrying will not
    help. ``code`` is Stripe's error code (``resource_missing``, ``amount_too_large``...)."""

    def __init__(self, status: int | None, code: str, detail: str) -> None:
        if status == 404 or code == "resource_missing":
            kind = ErrorKind.NOT_FOUND
        elif code == "idempotency_key_reused":
            kind = ErrorKind.CONFLICT
        else:
            kind = ErrorKind.INVALID
        super().__init__(code, detail, kind)
        self.status = status


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Stripe's transport and refusal errors as ours; ``CardError`` (a decline, handled by
    the callers) and authentication errors (a wrong key) pass through."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise GatewayError(f"Stripe unreachable or busy: {error.user_message}") from error
    except stripe.APIError as error:
        status = error.http_status
        if status is not None and 400 <= status < 500 and status != 409:
            raise StripeRefused(status, "api_error", error.user_message or "") from error
        raise GatewayError(f"Stripe answered HTTP {status}: {error.user_message}") from error
    except stripe.IdempotencyError as error:
        raise StripeRefused(
            error.http_status, "idempotency_key_reused", error.user_message or ""
        ) from error
    except stripe.InvalidRequestError as error:
        raise StripeRefused(
            error.http_status, error.code or "invalid_request", error.user_message or ""
        ) from error


def _id(value: Any) -> str | None:
    """An id from a field Stripe returns either as an id or expanded as an object."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def payment_from_intent(intent: Mapping[str, Any], *, off_session: bool = False) -> Payment:
    """Our view of a PaymentIntent (as a plain dict).

    ``requires_payment_method`` after a failed attempt (``last_payment_error``) is a decline;
    before any attempt it only waits for the buyer. An off-session payment that needs the
    buyer's authentication is a decline too (``authentication_required``): nobody is there
    to authenticate. The payment method is returned once a payment that saves it (or an
    off-session one) succeeded. An unknown status counts as processing: read it again later.
    """
    stripe_status = intent["status"]
    status = _STATUS.get(stripe_status, PaymentStatus.PROCESSING)
    decline_code = None
    error = intent.get("last_payment_error")
    if stripe_status == "requires_payment_method" and error:
        status = PaymentStatus.DECLINED
        decline_code = error.get("decline_code") or error.get("code") or "card_declined"
    elif stripe_status == "requires_action" and off_session:
        status, decline_code = PaymentStatus.DECLINED, "authentication_required"

    next_action = intent.get("next_action") or {}
    redirect = next_action.get("redirect_to_url") or {}
    saves_method = off_session or bool(intent.get("setup_future_usage"))
    return Payment(
        gateway=StripeGateway.name,
        payment_id=intent["id"],
        status=status,
        amount_minor=intent["amount"],
        currency=intent["currency"].upper(),
        next_action_url=redirect.get("url") if status is PaymentStatus.REQUIRES_ACTION else None,
        client_secret=intent.get("client_secret"),
        customer_id=_id(intent.get("customer")),
        payment_method=(
            _id(intent.get("payment_method"))
            if saves_method and status is PaymentStatus.SUCCEEDED
            else None
        ),
        decline_code=decline_code,
    )


class StripeGateway:
    """The ``PaymentGateway`` for Stripe. ``api_base`` points the SDK at another server
    (tests: localstripe, see ``tests/stripe_fake.py``)."""

    name = "stripe"

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        webhook_tolerance_seconds: int = 300,
    ) -> None:
        if not secret_key or not webhook_secret:
            raise ValueError("Stripe needs a secret key and a webhook signing secret")
        if webhook_tolerance_seconds <= 0:
            raise ValueError("webhook_tolerance_seconds must be positive")
        self.api_base = api_base
        self._webhook_secret = webhook_secret
        self._tolerance = webhook_tolerance_seconds
        self._http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=MAX_NETWORK_RETRIES,
        )
        self._intents = self._client.v1.payment_intents

    def __repr__(self) -> str:
        return f"StripeGateway(api_base={self.api_base!r})"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.close_async()  # type: ignore[no-untyped-call]  # unannotated in stripe

    async def ensure_customer(self, user_id: int, email: str, existing: str | None) -> str:
        if existing:
            return existing
        with _translated_errors():
            customer = await self._client.v1.customers.create_async(
                {"email": email, "metadata": {"user_id": str(user_id)}},
                {"idempotency_key": f"customer:{user_id}"},
            )
        return customer.id

    async def create_payment(self, request: PaymentRequest) -> Payment:
        if request.off_session and not request.payment_method:
            raise ValueError("an off-session payment needs a saved payment method")
        params: PaymentIntentCreateParams = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            # Accepted by the API; stripe-python's TypedDict no longer lists it.
            "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
            "metadata": {"order": request.reference},
        }
        if request.description:
            params["description"] = request.description
        if request.customer_id:
            params["customer"] = request.customer_id
        if request.save_payment_method and not request.off_session:
            params["setup_future_usage"] = "off_session"
        if request.payment_method:
            params["payment_method"] = request.payment_method
            params["confirm"] = True
            if request.off_session:
                params["off_session"] = True
            elif request.return_url:
                params["return_url"] = request.return_url
        with _translated_errors():
            try:
                intent = await self._intents.create_async(
                    params, {"idempotency_key": request.idempotency_key}
                )
            except stripe.CardError as error:
                return await self._declined(error, off_session=request.off_session)
        return payment_from_intent(intent.to_dict(), off_session=request.off_session)

    async def confirm_payment(self, payment_id: str, idempotency_key: str) -> Payment:
        """Confirm an intent that waits for it (``requires_confirmation``). Any other state is
        returned as it is: settled, or still waiting for the buyer (a payment method,
        3-D Secure), which only the buyer's browser can complete."""
        with _translated_errors():
            intent = await self._intents.retrieve_async(payment_id)
            if intent.status == "requires_confirmation":
                try:
                    intent = await self._intents.confirm_async(
                        payment_id, options={"idempotency_key": idempotency_key}
                    )
                except stripe.CardError as error:
                    return await self._declined(error)
        return payment_from_intent(intent.to_dict())

    async def get_payment(self, payment_id: str) -> Payment:
        with _translated_errors():
            intent = await self._intents.retrieve_async(payment_id)
        return payment_from_intent(intent.to_dict())

    async def cancel_payment(self, payment_id: str) -> Payment:
        """Cancel whatever Stripe still lets us cancel, declined intents included, so the
        buyer cannot pay an order we gave up on with the old ``client_secret``."""
        with _translated_errors():
            intent = await self._intents.retrieve_async(payment_id)
            if intent.status in _CANCELABLE:
                try:
                    intent = await self._intents.cancel_async(payment_id)
                except stripe.InvalidRequestError as error:
                    if error.code != "payment_intent_unexpected_state":
                        raise
                    intent = await self._intents.retrieve_async(payment_id)
        return payment_from_intent(intent.to_dict())

    async def refund(
        self, payment_id: str, amount_minor: int, idempotency_key: str, reason: str | None
    ) -> Refund:
        """``reason`` is free text, kept as metadata: Stripe's own ``reason`` field only
        takes three fixed values."""
        params: RefundCreateParams = {"payment_intent": payment_id, "amount": amount_minor}
        if reason:
            params["metadata"] = {"reason": reason[:METADATA_VALUE_LIMIT]}
        with _translated_errors():
            refund = await self._client.v1.refunds.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        return Refund(
            refund_id=refund.id,
            status=_REFUND_STATUS.get(refund.status or "", RefundStatus.PENDING),
            amount_minor=refund.amount,
        )

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify with the SDK's ``WebhookSignature.verify_header`` (what ``construct_event``
        calls) twice: without, then with the tolerance. ``construct_event`` does both at
        once and tells a stale event from a forged one only in its message text."""
        signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WebhookRejected("malformed_event", "the body is not UTF-8") from error
        verify = stripe.WebhookSignature.verify_header
        try:
            verify(payload, signature, self._webhook_secret, tolerance=None)
        except stripe.SignatureVerificationError as error:
            raise WebhookRejected("invalid_signature", error.user_message or "") from error
        try:
            verify(payload, signature, self._webhook_secret, tolerance=self._tolerance)
        except stripe.SignatureVerificationError as error:
            raise WebhookRejected("stale_event", error.user_message or "") from error
        try:
            event = json.loads(payload)
        except ValueError as error:
            raise WebhookRejected("malformed_event", "the body is not JSON") from error
        if not (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
        ):
            raise WebhookRejected("malformed_event", "not a Stripe event")

        data = event.get("data")
        subject = data.get("object") if isinstance(data, dict) else None
        subject = subject if isinstance(subject, dict) else {}
        payment_id = None
        if event["type"].startswith("payment_intent."):
            payment_id = _id(subject)
        elif event["type"].startswith("charge."):
            payment_id = _id(subject.get("payment_intent"))
        metadata = subject.get("metadata")
        reference = metadata.get("order") if isinstance(metadata, dict) else None
        return WebhookEvent(
            event_id=event["id"],
            event_type=event["type"],
            payment_id=payment_id,
            reference=reference if isinstance(reference, str) else None,
        )

    async def _declined(self, error: stripe.CardError, *, off_session: bool = False) -> Payment:
        """The payment behind a card decline. Stripe puts the intent in the error;
        localstripe only names the charge, whose intent is then read back."""
        details = error.json_body.get("error") if isinstance(error.json_body, dict) else None
        details = details if isinstance(details, dict) else {}
        intent = details.get("payment_intent")
        if not isinstance(intent, dict) and isinstance(details.get("charge"), str):
            charge = await self._client.v1.charges.retrieve_async(
                details["charge"], {"expand": ["payment_intent"]}
            )
            expanded = charge.to_dict().get("payment_intent")
            intent = expanded if isinstance(expanded, dict) else None
        if intent is None:
            raise error
        payment = payment_from_intent(intent, off_session=off_session)
        code = details.get("decline_code") or error.code or "card_declined"
        return replace(payment, status=PaymentStatus.DECLINED, decline_code=code)
