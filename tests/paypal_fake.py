"""A small stand-in for PayPal's REST API, so our PayPal client (``integrations.paypal``) is
tested over real HTTP.

It speaks what ``integrations/payments/paypal_gateway.py`` uses, with PayPal's JSON shapes
and error bodies (``name``, ``details[].issue``):

- ``POST /v1/oauth2/token``: client credentials in HTTP basic auth (401 ``invalid_client``
  otherwise); every other endpoint wants a live ``Bearer`` token from here (401).
- ``POST /v2/checkout/orders``, ``GET /v2/checkout/orders/{id}``,
  ``POST /v2/checkout/orders/{id}/capture``: intent CAPTURE, one purchase unit. An order
  starts CREATED with an ``approve`` link, or PAYER_ACTION_REQUIRED with a ``payer-action``
  link when created with ``payment_source.paypal``; ``approve()`` plays the buyer. Capture
  of an unapproved order is 422 ``ORDER_NOT_APPROVED``; of a captured one 422
  ``ORDER_ALREADY_CAPTURED``; a second completed capture for one ``invoice_id`` 422
  ``DUPLICATE_INVOICE_ID`` (PayPal's default account setting).
- ``POST /v2/payments/captures/{id}/refund``: partial or full, against what is left of the
  capture (422 ``REFUND_AMOUNT_EXCEEDED``, ``CAPTURE_FULLY_REFUNDED``).
- ``POST /v1/notifications/verify-webhook-signature``: SUCCESS only for a delivery made
  with ``sign()`` (same headers, same event, our webhook id), else FAILURE.

``Prefer: return=representation`` gets the whole resource, anything else the minimal one
(id, status, links), as PayPal does. A ``PayPal-Request-Id`` seen before on the same path
answers 200 with the resource it created; only successful answers are remembered. ``mode =
"down"`` answers 503 to everything. Every request is recorded in ``requests``.
"""

import base64
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.helpers import BackgroundHttpServer

ZERO_DECIMAL_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})
APPROVAL_PAGE = "https://www.sandbox.paypal.com/checkoutnow?token="
CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-fake"
_VALUE = re.compile(r"^\d{1,10}(\.\d+)?$")

Mode = Literal["ok", "down", "verify_fails"]
"""``down``: every call answers 503; ``verify_fails``: webhook verification answers 500."""
Answer = tuple[int, Any]


class Refusal(Exception):
    """A PayPal error answer: ``status`` with ``name`` and one ``details`` issue."""

    def __init__(self, status: int, name: str, issue: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {
            "name": name,
            "message": description,
            "debug_id": secrets.token_hex(7),
            "details": [{"issue": issue, "description": description}],
            "links": [
                {
                    "href": f"https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue}",
                    "rel": "information_link",
                    "method": "GET",
                }
            ],
        }


def _unprocessable(issue: str, description: str) -> Refusal:
    return Refusal(422, "UNPROCESSABLE_ENTITY", issue, description)


def _invalid(issue: str, description: str) -> Refusal:
    return Refusal(400, "INVALID_REQUEST", issue, description)


def _not_found(resource_id: str) -> Refusal:
    return Refusal(
        404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", f"{resource_id} does not exist"
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _paypal_id() -> str:
    return secrets.token_hex(9).upper()[:17]


def _money(currency: str, value: Decimal) -> dict[str, str]:
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return {"currency_code": currency, "value": f"{value:.{places}f}"}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeOrder:
    id: str
    currency: str
    value: Decimal
    unit: dict[str, Any]
    """The purchase unit as requested, minus its amount."""
    status: str
    return_url: str | None
    create_time: str = field(default_factory=_now)
    capture: dict[str, Any] | None = None
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refunded(self) -> Decimal:
        return sum(
            (Decimal(r["amount"]["value"]) for r in self.refunds if r["status"] != "FAILED"),
            Decimal(0),
        )


@dataclass
class PayPalFake:
    client_id: str
    client_secret: str
    webhook_id: str
    url: str = ""
    mode: Mode = "ok"
    decline_next_capture: bool = False
    """The next capture fails with 422 INSTRUMENT_DECLINED (the order stays APPROVED)."""
    next_capture_status: str = "COMPLETED"
    """Status of the next successful capture: COMPLETED, PENDING or DECLINED."""
    next_refund_status: str = "COMPLETED"
    token_lifetime: int = 32400
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    tokens_issued: int = 0
    requests: list[Recorded] = field(default_factory=list)
    signatures: dict[str, dict[str, Any]] = field(default_factory=dict)
    replays: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.mode = "ok"
            self.decline_next_capture = False
            self.next_capture_status = "COMPLETED"
            self.next_refund_status = "COMPLETED"
            self.requests.clear()

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- test helpers ---------------------------------------------------------------------

    def approve(self, order_id: str) -> None:
        """The buyer approves the order on PayPal's page."""
        with self.lock:
            order = self.orders[order_id]
            if order.status not in ("CREATED", "PAYER_ACTION_REQUIRED"):
                raise ValueError(f"order {order_id} is {order.status}, not awaiting approval")
            order.status = "APPROVED"

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (expiry, revocation)."""
        with self.lock:
            self.tokens.clear()

    def order_event(self, order_id: str, event_type: str = "CHECKOUT.ORDER.APPROVED") -> dict:
        with self.lock:
            resource = self._order_json(self.orders[order_id], full=True)
        return self._event(event_type, "checkout-order", "2.0", resource)

    def capture_event(self, order_id: str, event_type: str = "PAYMENT.CAPTURE.COMPLETED") -> dict:
        with self.lock:
            capture = self.orders[order_id].capture
            if capture is None:
                raise ValueError(f"order {order_id} has no capture")
            resource = json.loads(json.dumps(capture))
        return self._event(event_type, "capture", "2.0", resource)

    def sign(
        self,
        event: dict[str, Any],
        *,
        transmission_time: datetime | None = None,
        webhook_id: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Deliver ``event`` as PayPal would: the body and the signature headers. PayPal
        will vouch for exactly this delivery when asked (for ``webhook_id``, by default
        the fake's own)."""
        sent = transmission_time or datetime.now(UTC)
        headers = {
            "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4()),
            "PAYPAL-TRANSMISSION-TIME": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(secrets.token_bytes(64)).decode(),
            "PAYPAL-CERT-URL": f"{self.url}{CERT_PATH}",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
        with self.lock:
            self.signatures[headers["PAYPAL-TRANSMISSION-SIG"]] = {
                "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
                "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
                "cert_url": headers["PAYPAL-CERT-URL"],
                "auth_algo": headers["PAYPAL-AUTH-ALGO"],
                "webhook_id": webhook_id or self.webhook_id,
                "webhook_event": event,
            }
        return headers, json.dumps(event).encode()

    # --- the API --------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        if self.mode == "down":
            return 503, {"name": "SERVICE_UNAVAILABLE", "message": "Service Unavailable."}
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["v1", "oauth2", "token"] and method == "POST":
            return self._token(headers.get("authorization", ""), body)
        if not self._authorized(headers.get("authorization", "")):
            return 401, {
                "name": "AUTHENTICATION_FAILURE",
                "message": "Authentication failed due to invalid authentication credentials "
                "or a missing Authorization header.",
            }
        full = headers.get("prefer", "") == "return=representation"
        key = headers.get("paypal-request-id")
        try:
            match parts:
                case ["v2", "checkout", "orders"] if method == "POST":
                    return self._idempotent(path, key, full, lambda: self._create_order(body))
                case ["v2", "checkout", "orders", order_id] if method == "GET":
                    return 200, self._order_json(self._order(order_id), full=True)
                case ["v2", "checkout", "orders", order_id, "capture"] if method == "POST":
                    return self._idempotent(path, key, full, lambda: self._capture(order_id))
                case ["v2", "payments", "captures", capture_id, "refund"] if method == "POST":
                    return self._idempotent(path, key, full, lambda: self._refund(capture_id, body))
                case ["v1", "notifications", "verify-webhook-signature"] if method == "POST":
                    if self.mode == "verify_fails":
                        return 500, {"name": "INTERNAL_SERVICE_ERROR", "message": "Error."}
                    return 200, self._verify(body)
        except Refusal as refusal:
            return refusal.status, refusal.body
        return 404, {"name": "RESOURCE_NOT_FOUND", "message": "Not Found"}

    def _token(self, authorization: str, body: Any) -> Answer:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Grant Type is NULL",
            }
        token = "A21AA" + secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        self.tokens_issued += 1
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": self.token_lifetime,
            "nonce": f"{_now()}{secrets.token_hex(8)}",
        }

    def _authorized(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        expiry = self.tokens.get(token)
        return scheme == "Bearer" and expiry is not None and time.monotonic() < expiry

    def _idempotent(
        self, path: str, key: str | None, full: bool, action: Callable[[], tuple[int, str]]
    ) -> Answer:
        """Run ``action`` (which answers a status and the id of what it made) unless this
        key already made something on this path."""
        if key is not None and (path, key) in self.replays:
            return 200, self._resource_json(self.replays[path, key], full)
        status, resource_id = action()
        if key is not None:
            self.replays[path, key] = resource_id
        return status, self._resource_json(resource_id, full)

    def _resource_json(self, resource_id: str, full: bool) -> dict[str, Any]:
        if resource_id in self.orders:
            return self._order_json(self.orders[resource_id], full)
        refund = next(r for o in self.orders.values() for r in o.refunds if r["id"] == resource_id)
        if full:
            return refund
        return {key: refund[key] for key in ("id", "status", "links")}

    def _order(self, order_id: str) -> FakeOrder:
        if order_id not in self.orders:
            raise _not_found(order_id)
        return self.orders[order_id]

    def _create_order(self, body: Any) -> tuple[int, str]:
        if not isinstance(body, dict):
            raise _invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.")
        if body.get("intent") != "CAPTURE":
            raise _invalid("INVALID_PARAMETER_VALUE", "this fake supports intent CAPTURE only")
        units = body.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
            raise _invalid("INVALID_PARAMETER_VALUE", "this fake takes one purchase unit")
        unit = dict(units[0])
        currency, value = self._amount(unit.pop("amount", None))
        for name in ("description", "custom_id", "invoice_id"):
            if len(str(unit.get(name, ""))) > 127:
                raise _invalid("INVALID_STRING_LENGTH", f"{name} is longer than 127")
        wallet = (body.get("payment_source") or {}).get("paypal")
        context = (wallet or {}).get("experience_context") or {}
        order = FakeOrder(
            id=_paypal_id(),
            currency=currency,
            value=value,
            unit=unit,
            status="CREATED" if wallet is None else "PAYER_ACTION_REQUIRED",
            return_url=context.get("return_url"),
        )
        self.orders[order.id] = order
        return 201, order.id

    @staticmethod
    def _amount(amount: Any) -> tuple[str, Decimal]:
        if not isinstance(amount, dict):
            raise _invalid("MISSING_REQUIRED_PARAMETER", "amount is required")
        currency, value = amount.get("currency_code"), amount.get("value")
        if not isinstance(currency, str) or not isinstance(value, str) or not _VALUE.match(value):
            raise _invalid("INVALID_PARAMETER_VALUE", "amount is not a currency and a value")
        places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
        if len(value.partition(".")[2]) > places:
            raise _unprocessable("DECIMAL_PRECISION", f"{currency} takes {places} decimals")
        parsed = Decimal(value)
        if parsed <= 0:
            raise _unprocessable("AMOUNT_MUST_BE_POSITIVE", "the amount must be above zero")
        return currency, parsed

    def _capture(self, order_id: str) -> tuple[int, str]:
        order = self._order(order_id)
        if order.status == "COMPLETED":
            raise _unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.")
        if order.status != "APPROVED":
            raise _unprocessable(
                "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."
            )
        if self.decline_next_capture:
            self.decline_next_capture = False
            raise _unprocessable(
                "INSTRUMENT_DECLINED",
                "The instrument presented was either declined by the "
                "processor or bank, or it can't be used for this payment.",
            )
        invoice_id = order.unit.get("invoice_id")
        if invoice_id is not None and any(
            other.capture is not None
            and other.capture["status"] != "DECLINED"
            and other.unit.get("invoice_id") == invoice_id
            for other in self.orders.values()
        ):
            raise _unprocessable("DUPLICATE_INVOICE_ID", "Duplicate Invoice ID detected.")
        capture_id = _paypal_id()
        order.capture = {
            "id": capture_id,
            "status": self.next_capture_status,
            "amount": _money(order.currency, order.value),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            "create_time": _now(),
            "update_time": _now(),
            "supplementary_data": {"related_ids": {"order_id": order.id}},
            "links": [
                {
                    "href": f"{self.url}/v2/payments/captures/{capture_id}",
                    "rel": "self",
                    "method": "GET",
                },
                {
                    "href": f"{self.url}/v2/payments/captures/{capture_id}/refund",
                    "rel": "refund",
                    "method": "POST",
                },
                {"href": f"{self.url}/v2/checkout/orders/{order.id}", "rel": "up", "method": "GET"},
            ],
        } | {k: order.unit[k] for k in ("invoice_id", "custom_id") if k in order.unit}
        self.next_capture_status = "COMPLETED"
        order.status = "COMPLETED"
        return 201, order.id

    def _refund(self, capture_id: str, body: Any) -> tuple[int, str]:
        order = next(
            (o for o in self.orders.values() if o.capture and o.capture["id"] == capture_id),
            None,
        )
        if order is None or order.capture is None:
            raise _not_found(capture_id)
        if order.capture["status"] == "REFUNDED":
            raise _unprocessable(
                "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded."
            )
        if order.capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise _unprocessable("CANNOT_BE_REFUNDED", "The capture cannot be refunded.")
        remaining = order.value - order.refunded
        amount = body.get("amount") if isinstance(body, dict) else None
        currency, value = (order.currency, remaining) if amount is None else self._amount(amount)
        if currency != order.currency:
            raise _unprocessable(
                "REFUND_CURRENCY_MISMATCH", "Refund must be in the capture's currency."
            )
        if value > remaining:
            raise _unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the "
                "capture amount that has not yet been refunded.",
            )
        refund_id = _paypal_id()
        order.refunds.append(
            {
                "id": refund_id,
                "status": self.next_refund_status,
                "amount": _money(currency, value),
                "create_time": _now(),
                "update_time": _now(),
                "links": [
                    {
                        "href": f"{self.url}/v2/payments/refunds/{refund_id}",
                        "rel": "self",
                        "method": "GET",
                    },
                    {
                        "href": f"{self.url}/v2/payments/captures/{capture_id}",
                        "rel": "up",
                        "method": "GET",
                    },
                ],
            }
            | {k: order.unit[k] for k in ("invoice_id", "custom_id") if k in order.unit}
        )
        self.next_refund_status = "COMPLETED"
        order.capture["status"] = (
            "REFUNDED" if order.refunded >= order.value else ("PARTIALLY_REFUNDED")
        )
        return 201, refund_id

    def _verify(self, body: Any) -> dict[str, str]:
        fields = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        )
        if not isinstance(body, dict) or any(body.get(f) in (None, "") for f in fields):
            raise Refusal(
                400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", "Invalid data provided"
            )
        signed = self.signatures.get(body["transmission_sig"])
        genuine = (
            signed is not None
            and body["webhook_id"] == self.webhook_id
            and all(body[name] == value for name, value in signed.items())
        )
        return {"verification_status": "SUCCESS" if genuine else "FAILURE"}

    # --- representations ------------------------------------------------------------------

    def _order_json(self, order: FakeOrder, full: bool) -> dict[str, Any]:
        links = [
            {"href": f"{self.url}/v2/checkout/orders/{order.id}", "rel": "self", "method": "GET"}
        ]
        if order.status == "CREATED":
            links.append({"href": APPROVAL_PAGE + order.id, "rel": "approve", "method": "GET"})
        elif order.status == "PAYER_ACTION_REQUIRED":
            links.append({"href": APPROVAL_PAGE + order.id, "rel": "payer-action", "method": "GET"})
        if order.status in ("CREATED", "APPROVED"):
            links.append(
                {
                    "href": f"{self.url}/v2/checkout/orders/{order.id}/capture",
                    "rel": "capture",
                    "method": "POST",
                }
            )
        if not full:
            return {"id": order.id, "status": order.status, "links": links}
        unit: dict[str, Any] = {"reference_id": "default", **order.unit}
        unit["amount"] = _money(order.currency, order.value)
        if order.capture is not None:
            unit["payments"] = {"captures": [order.capture]}
            if order.refunds:
                unit["payments"]["refunds"] = order.refunds
        answer = {
            "id": order.id,
            "intent": "CAPTURE",
            "status": order.status,
            "create_time": order.create_time,
            "purchase_units": [unit],
            "links": links,
        }
        if order.status in ("APPROVED", "COMPLETED"):
            answer["payer"] = {
                "payer_id": "FAKEPAYER0001",
                "email_address": "buyer@example.com",
                "name": {"given_name": "Test", "surname": "Buyer"},
            }
        if order.return_url is not None or order.status == "PAYER_ACTION_REQUIRED":
            answer["payment_source"] = {"paypal": {}}
        return answer

    def _event(self, event_type: str, kind: str, version: str, resource: dict) -> dict:
        event_id = "WH-" + secrets.token_hex(8).upper()
        return {
            "id": event_id,
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": kind,
            "resource_version": version,
            "event_type": event_type,
            "summary": f"{event_type} for {resource.get('id')}",
            "resource": resource,
            "links": [
                {
                    "href": f"{self.url}/v1/notifications/webhooks-events/{event_id}",
                    "rel": "self",
                    "method": "GET",
                }
            ],
        }


# --- the HTTP server ----------------------------------------------------------------------


def _handler_for(fake: PayPalFake):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            body: Any
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                body = dict(parse_qsl(raw.decode(errors="replace")))
            else:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
            with fake.lock:
                fake.requests.append(Recorded(self.command, url.path, headers, body))
                status, answer = fake.handle(self.command, url.path, headers, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Paypal-Debug-Id", secrets.token_hex(7))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    return Handler


class PayPalServer:
    """The fake on a real socket (127.0.0.1, a free port), served from a thread."""

    def __init__(self, client_id: str, client_secret: str, webhook_id: str) -> None:
        self.fake = PayPalFake(client_id, client_secret, webhook_id)
        self.http = BackgroundHttpServer(_handler_for(self.fake))
        self.fake.url = self.http.url

    def __enter__(self) -> PayPalFake:
        self.http.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.http.stop()
