"""PayPal Checkout through the official ``paypal-server-sdk`` (Orders v2, Payments v2).

A payment is a PayPal order with intent CAPTURE: ``create_payment`` creates it and returns
the link where the buyer approves it; ``confirm_payment`` captures it once approved. No
money moves before the capture, which is why an unconfirmed order can simply be abandoned.

The SDK is synchronous (``requests``), so every SDK call runs in ``asyncio.to_thread``. The
SDK does not verify webhooks: ``parse_webhook`` asks PayPal's
``/v1/notifications/verify-webhook-signature`` with ``httpx`` and its own OAuth token.

Errors: an unreachable PayPal, a 5xx, a 429 or refused client credentials raise
``GatewayError`` (retry later); any other refusal raises ``PayPalRefused``, a
``DomainError`` whose code is PayPal's issue in lower case (``refund_amount_exceeded``,
``resource_not_found``...). Secrets and tokens are never logged.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import requests
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.exceptions.o_auth_provider_exception import OAuthProviderException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_experience_user_action import PaypalExperienceUserAction
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_context_shipping_preference import (
    PaypalWalletContextShippingPreference,
)
from paypalserversdk.models.paypal_wallet_experience_context import (
    PaypalWalletExperienceContext,
)
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

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

log = logging.getLogger("marketplace.payments.paypal")

REPRESENTATION = "return=representation"
"""PayPal answers writes minimally (id, status, links) unless asked for the whole resource."""
TIMEOUT_SECONDS = 30
TOKEN_MARGIN_SECONDS = 60
"""A cached OAuth token is replaced this long before PayPal says it expires."""
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


class PayPalGateway:
    """The ``PaymentGateway`` for PayPal Checkout.

    ``api_base`` points everything at another server (tests: ``tests/paypal_fake.py``).
    The SDK has no base-URL option: it resolves every URL through
    ``Configuration.get_base_uri``, which looks up ``self.environments[environment]
    [Server.DEFAULT]``. That table is a class attribute, so this gateway gives its own
    ``Configuration`` instance an ``environments`` attribute with the one entry it uses;
    the class table (and any other client in the process) is left untouched. OAuth token
    requests go through the same lookup, so they reach that server too.
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
        environment = Environment.SANDBOX if sandbox else Environment.PRODUCTION
        credentials = ClientCredentialsAuthCredentials(
            o_auth_client_id=client_id,
            o_auth_client_secret=client_secret,
            o_auth_token_provider=_fetch_sdk_token,
            o_auth_clock_skew=TOKEN_MARGIN_SECONDS,
        )
        config = Configuration(
            environment=environment,
            timeout=TIMEOUT_SECONDS,
            client_credentials_auth_credentials=credentials,
        )
        if api_base is not None:
            config.environments = {environment: {Server.DEFAULT: api_base.rstrip("/")}}
        self._client = PaypalServersdkClient(config=config)
        self._api_base = config.get_base_uri()
        self._client_id = client_id
        self._client_secret = client_secret
        self._webhook_id = webhook_id
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PayPalGateway(api_base={self._api_base!r})"

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
        experience = PaypalWalletExperienceContext(
            shipping_preference=PaypalWalletContextShippingPreference.NO_SHIPPING,
            user_action=PaypalExperienceUserAction.PAY_NOW,
        )
        if request.return_url is not None:
            experience.return_url = request.return_url
        body = OrderRequest(
            intent=CheckoutPaymentIntent.CAPTURE,
            purchase_units=[
                PurchaseUnitRequest(
                    amount=AmountWithBreakdown(
                        currency_code=request.currency,
                        value=_decimal(request.amount_minor, request.currency),
                    ),
                    description=request.description[:PAYPAL_FIELD_LIMIT],
                    custom_id=reference,
                    invoice_id=reference,
                )
            ],
            payment_source=PaymentSource(paypal=PaypalWallet(experience_context=experience)),
        )
        order = await self._sdk(
            self._client.orders.create_order,
            body=body,
            paypal_request_id=request.idempotency_key,
            prefer=REPRESENTATION,
        )
        return _payment(order)

    async def confirm_payment(self, payment_id: str, idempotency_key: str) -> Payment:
        """Capture an approved order. Only an APPROVED order is sent to capture: a capture
        refused because the buyer has not approved yet must not leave a failed request
        behind the idempotency key that the real capture will use later."""
        order = await self._get_order(payment_id)
        if order.status != "APPROVED":
            return _payment(order)
        try:
            captured = await self._sdk(
                self._client.orders.capture_order,
                id=payment_id,
                paypal_request_id=idempotency_key,
                prefer=REPRESENTATION,
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
        """The SDK can void only authorizations, not CAPTURE orders, and PayPal lets an
        uncaptured order expire by itself. Since nothing is charged before our capture,
        canceling means never capturing: an order not completed is reported CANCELED here
        while PayPal may still show it CREATED or APPROVED until it expires. The caller
        must not confirm a payment it canceled."""
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
        currency = capture.amount.currency_code
        refund = await self._sdk(
            self._client.payments.refund_captured_payment,
            capture_id=capture.id,
            body=RefundRequest(
                amount=Money(currency_code=currency, value=_decimal(amount_minor, currency))
            ),
            paypal_request_id=idempotency_key,
            prefer=REPRESENTATION,
        )
        amount = getattr(refund, "amount", None)
        return Refund(
            refund_id=refund.id,
            status=_REFUND_STATUS.get(getattr(refund, "status", ""), RefundStatus.FAILED),
            amount_minor=_minor(amount) if amount is not None else amount_minor,
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
        _check_fresh(signature["transmission_time"])
        fields = json.dumps(signature | {"webhook_id": self._webhook_id})
        payload = fields[:-1] + ', "webhook_event": ' + text + "}"
        answer = await self._verify(payload.encode())
        if answer.get("verification_status") != "SUCCESS":
            raise WebhookRejected("invalid_signature", "PayPal did not verify the signature")
        return _webhook_event(event)

    # --- PayPal calls -------------------------------------------------------------------

    async def _sdk(self, call: Callable[[dict[str, Any]], Any], **options: Any) -> Any:
        try:
            response = await asyncio.to_thread(call, options)
        except requests.RequestException as error:
            raise GatewayError(f"PayPal is unreachable: {type(error).__name__}") from error
        except OAuthProviderException as error:
            log.error("PayPal refused the client credentials (HTTP %s)", error.response_code)
            raise GatewayError("PayPal refused the client credentials") from error
        except ApiException as error:
            if error.response_code >= 500 or error.response_code in (401, 429):
                raise GatewayError(f"PayPal answered HTTP {error.response_code}") from error
            raise _refused(error) from error
        return response.body

    async def _get_order(self, order_id: str) -> Any:
        return await self._sdk(self._client.orders.get_order, id=order_id)

    async def _verify(self, payload: bytes) -> dict[str, Any]:
        url = "/v1/notifications/verify-webhook-signature"
        try:
            async with httpx.AsyncClient(
                base_url=self._api_base, timeout=TIMEOUT_SECONDS
            ) as client:
                for attempt in range(2):
                    response = await client.post(
                        url,
                        content=payload,
                        headers={
                            "Authorization": f"Bearer {await self._access_token(client)}",
                            "Content-Type": "application/json",
                        },
                    )
                    if response.status_code != 401 or attempt:
                        break
                    self._token = None
        except httpx.HTTPError as error:
            raise GatewayError(f"PayPal is unreachable: {type(error).__name__}") from error
        if response.status_code >= 500 or response.status_code in (401, 429):
            raise GatewayError(f"webhook verification answered HTTP {response.status_code}")
        if response.status_code != 200:
            log.warning("webhook verification refused: HTTP %s", response.status_code)
            raise WebhookRejected("invalid_signature", "PayPal refused the verification request")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise GatewayError("webhook verification answered something not a JSON object")
        return answer

    async def _access_token(self, client: httpx.AsyncClient) -> str:
        """A client-credentials token for the REST calls the SDK does not cover, cached
        until ``TOKEN_MARGIN_SECONDS`` before it expires."""
        async with self._token_lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            response = await client.post(
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                headers={"Accept": "application/json"},
            )
            if response.status_code in (400, 401):
                log.error("PayPal refused the client credentials (HTTP %s)", response.status_code)
                raise GatewayError("PayPal refused the client credentials")
            if response.status_code != 200:
                raise GatewayError(f"PayPal token endpoint answered HTTP {response.status_code}")
            try:
                answer = response.json()
                token, lifetime = str(answer["access_token"]), int(answer["expires_in"])
            except (ValueError, KeyError, TypeError) as error:
                raise GatewayError("PayPal token endpoint answered something unusable") from error
            self._token = (token, time.monotonic() + lifetime - TOKEN_MARGIN_SECONDS)
            return token


def _fetch_sdk_token(_previous: Any, auth_manager: Any) -> Any:
    """The SDK's token provider hook. Without it the SDK swallows a failed token request
    and reports only "OAuthToken is undefined or expired"; through it, the real failure
    (unreachable, 503, refused credentials) reaches ``_sdk``."""
    return auth_manager.fetch_token()


def _refused(error: ApiException) -> PayPalRefused:
    details = getattr(error, "details", None) or []
    issue = getattr(details[0], "issue", None) if details else None
    issue = issue or getattr(error, "name", None) or f"HTTP_{error.response_code}"
    message = getattr(error, "message", None) or error.reason
    return PayPalRefused(error.response_code, issue, f"PayPal refused the request: {message}")


# --- mapping ----------------------------------------------------------------------------


def _decimal(amount_minor: int, currency: str) -> str:
    return str(from_minor_units(amount_minor, currency))


def _minor(money: Any) -> int:
    return to_minor_units(Decimal(money.value), money.currency_code)


def _purchase_unit(order: Any) -> Any:
    units = getattr(order, "purchase_units", None) or []
    return units[0] if units else None


def _capture(order: Any) -> Any:
    """The order's capture (one purchase unit, one capture in this integration)."""
    unit = _purchase_unit(order)
    payments = getattr(unit, "payments", None)
    captures = getattr(payments, "captures", None) or []
    return captures[0] if captures else None


def _payment(
    order: Any, status: PaymentStatus | None = None, decline_code: str | None = None
) -> Payment:
    unit = _purchase_unit(order)
    if unit is None:
        raise GatewayError("PayPal answered an order without its purchase unit")
    order_status = getattr(order, "status", None)
    approval = None
    if status is None and order_status in _WAITING:
        status = PaymentStatus.REQUIRES_ACTION
        links = getattr(order, "links", None) or []
        approval = next((link.href for link in links if link.rel in APPROVAL_RELS), None)
    elif status is None and order_status == "COMPLETED":
        capture = _capture(order)
        capture_status = getattr(capture, "status", "COMPLETED")
        status = _CAPTURE_STATUS.get(capture_status, PaymentStatus.PROCESSING)
        if status is PaymentStatus.DECLINED:
            decline_code = capture_status.lower()
    elif status is None and order_status == "VOIDED":
        status = PaymentStatus.CANCELED
    elif status is None:
        raise GatewayError(f"PayPal answered an unknown order status {order_status!r}")
    return Payment(
        gateway=PayPalGateway.name,
        payment_id=order.id,
        status=status,
        amount_minor=_minor(unit.amount),
        currency=unit.amount.currency_code,
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
        with contextlib.suppress(AttributeError):
            order_id = resource.get("supplementary_data").get("related_ids").get("order_id")
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
