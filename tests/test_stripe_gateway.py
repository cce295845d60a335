"""StripeGateway through the real stripe SDK against the real localstripe emulator
(``tests/stripe_fake.py``), plus a canned-answer server for what localstripe cannot do
(Stripe's 5xx/429 answers, Stripe's own decline shape).

localstripe ignores ``Idempotency-Key`` (the same key twice creates two intents), so the
tests check that every money-moving call sends the key we chose, not that Stripe replays.
"""

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from domain.checkout import PaymentStatus, RefundStatus
from domain.errors import ErrorKind
from integrations.payments import GatewayError, PaymentRequest, WebhookRejected
from integrations.payments.stripe_gateway import StripeGateway, StripeRefused, payment_from_intent
from tests.helpers import eventually
from tests.stripe_fake import (
    DECLINED_ON_CHARGE,
    NEEDS_3DS,
    NEEDS_3DS_THEN_DECLINED,
    SUCCEEDS,
    LocalStripe,
    localstripe_server,
)

# The SDK's httpx client posts a pre-encoded body as ``data=``, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning")

WEBHOOK_SECRET = "whsec_test_" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def emulator() -> Iterator[LocalStripe]:
    with localstripe_server() as server:
        yield server


@pytest.fixture(scope="module")
async def gateway(emulator):
    gateway = StripeGateway(emulator.secret_key, WEBHOOK_SECRET, api_base=emulator.url)
    yield gateway
    await gateway.aclose()


@pytest.fixture(scope="module")
async def customer(gateway) -> str:
    return await gateway.ensure_customer(1, "buyer@example.com", None)


def payment_request(**changes: Any) -> PaymentRequest:
    order = "FV-" + uuid.uuid4().hex[:8].upper()
    fields: dict[str, Any] = {
        "reference": order,
        "amount_minor": 2500,
        "currency": "EUR",
        "description": f"FastVue Marketplace order {order}",
        "idempotency_key": f"checkout:{order}:charge",
    }
    return PaymentRequest(**(fields | changes))


async def sent(emulator: LocalStripe, path: str, key: str | None = None) -> list[dict]:
    """POSTs to ``path`` the emulator received, with this idempotency key if given."""
    posts = await emulator.requests("POST", path)
    return [r for r in posts if key is None or r["idempotency_key"] == key]


# --- customers --------------------------------------------------------------------------


async def test_ensure_customer_creates_a_customer_once_per_user(gateway, emulator):
    customer_id = await gateway.ensure_customer(42, "ada@example.com", None)

    assert customer_id.startswith("cus_")
    [created] = await sent(emulator, "/v1/customers", "customer:42")
    assert created["params"] == {"email": "ada@example.com", "metadata[user_id]": "42"}

    assert await gateway.ensure_customer(42, "ada@example.com", customer_id) == customer_id
    assert len(await sent(emulator, "/v1/customers", "customer:42")) == 1


# --- paying -----------------------------------------------------------------------------


async def test_a_good_card_pays_at_once(gateway, emulator, customer):
    method = await emulator.card(SUCCEEDS)
    request = payment_request(customer_id=customer, payment_method=method)

    payment = await gateway.create_payment(request)

    assert payment.gateway == "stripe"
    assert payment.payment_id.startswith("pi_")
    assert payment.status is PaymentStatus.SUCCEEDED
    assert (payment.amount_minor, payment.currency) == (2500, "EUR")
    assert payment.customer_id == customer
    assert payment.client_secret
    assert payment.payment_method is None  # not saved
    assert payment.decline_code is None
    [created] = await sent(emulator, "/v1/payment_intents", request.idempotency_key)
    assert created["params"] == {
        "amount": "2500",
        "currency": "eur",
        "payment_method_types[0]": "card",
        "metadata[order]": request.reference,
        "description": request.description,
        "customer": customer,
        "payment_method": method,
        "confirm": "true",
    }
    assert await gateway.get_payment(payment.payment_id) == payment


async def test_stripe_test_payment_method_ids_work(gateway):
    payment = await gateway.create_payment(payment_request(payment_method="pm_card_visa"))

    assert payment.status is PaymentStatus.SUCCEEDED


@pytest.mark.parametrize("card", [DECLINED_ON_CHARGE, "pm_card_chargeCustomerFail"])
async def test_a_declined_card_gives_a_declined_payment(gateway, emulator, card):
    method = card if card.startswith("pm_") else await emulator.card(card)

    payment = await gateway.create_payment(payment_request(payment_method=method))

    assert payment.status is PaymentStatus.DECLINED
    assert payment.decline_code == "card_declined"
    assert payment.payment_id.startswith("pi_")
    again = await gateway.get_payment(payment.payment_id)
    assert (again.status, again.decline_code) == (PaymentStatus.DECLINED, "card_declined")


async def test_retrying_a_payment_sends_the_same_idempotency_key(gateway, emulator):
    request = payment_request(payment_method=await emulator.card(SUCCEEDS))

    await gateway.create_payment(request)
    await gateway.create_payment(request)

    assert len(await sent(emulator, "/v1/payment_intents", request.idempotency_key)) == 2


async def test_without_a_method_the_buyer_pays_in_the_browser(gateway, emulator, customer):
    request = payment_request(customer_id=customer, save_payment_method=True)

    payment = await gateway.create_payment(request)

    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.client_secret and payment.client_secret.startswith(payment.payment_id)
    [created] = await sent(emulator, "/v1/payment_intents", request.idempotency_key)
    assert created["params"]["setup_future_usage"] == "off_session"
    assert "confirm" not in created["params"]


# --- 3-D Secure -------------------------------------------------------------------------


async def test_3ds_card_waits_for_the_buyer_then_confirm_returns_the_success(gateway, emulator):
    request = payment_request(
        payment_method=await emulator.card(NEEDS_3DS), return_url="https://shop.test/back"
    )

    payment = await gateway.create_payment(request)

    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action_url is None  # localstripe: use_stripe_sdk, not a redirect
    [created] = await sent(emulator, "/v1/payment_intents", request.idempotency_key)
    assert created["params"]["return_url"] == "https://shop.test/back"

    confirm_path = f"/v1/payment_intents/{payment.payment_id}/confirm"
    early = await gateway.confirm_payment(payment.payment_id, "checkout:x:confirm")
    assert early.status is PaymentStatus.REQUIRES_ACTION
    assert await sent(emulator, confirm_path) == []

    assert payment.client_secret is not None
    status = await emulator.authenticate(payment.payment_id, payment.client_secret, success=True)
    assert status == 200

    done = await gateway.confirm_payment(payment.payment_id, "checkout:x:confirm")
    assert done.status is PaymentStatus.SUCCEEDED
    assert await sent(emulator, confirm_path) == []


async def test_failed_3ds_is_a_decline(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(payment_method=await emulator.card(NEEDS_3DS))
    )
    assert payment.client_secret is not None

    await emulator.authenticate(payment.payment_id, payment.client_secret, success=False)

    after = await gateway.get_payment(payment.payment_id)
    assert after.status is PaymentStatus.DECLINED
    assert after.decline_code == "payment_intent_authentication_failure"


async def test_3ds_passed_but_card_declined(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(payment_method=await emulator.card(NEEDS_3DS_THEN_DECLINED))
    )
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.client_secret is not None

    status = await emulator.authenticate(payment.payment_id, payment.client_secret, success=True)
    assert status == 402

    after = await gateway.confirm_payment(payment.payment_id, "checkout:y:confirm")
    assert (after.status, after.decline_code) == (PaymentStatus.DECLINED, "card_declined")


# --- confirming -------------------------------------------------------------------------


async def test_confirm_confirms_a_waiting_intent_once(gateway, emulator):
    intent = await emulator.unconfirmed_intent(1500, "eur", await emulator.card(SUCCEEDS))
    assert (await gateway.get_payment(intent)).status is PaymentStatus.REQUIRES_ACTION

    first = await gateway.confirm_payment(intent, "checkout:FV-1:confirm")
    second = await gateway.confirm_payment(intent, "checkout:FV-1:confirm")

    assert first.status is second.status is PaymentStatus.SUCCEEDED
    assert first.amount_minor == 1500
    [confirmed] = await sent(emulator, f"/v1/payment_intents/{intent}/confirm")
    assert confirmed["idempotency_key"] == "checkout:FV-1:confirm"


async def test_confirm_with_a_declining_card(gateway, emulator):
    intent = await emulator.unconfirmed_intent(1500, "eur", await emulator.card(DECLINED_ON_CHARGE))

    payment = await gateway.confirm_payment(intent, "checkout:FV-2:confirm")

    assert (payment.payment_id, payment.status) == (intent, PaymentStatus.DECLINED)
    assert payment.decline_code == "card_declined"


# --- canceling --------------------------------------------------------------------------


async def test_cancel_an_unpaid_payment(gateway, emulator):
    payment = await gateway.create_payment(payment_request())

    canceled = await gateway.cancel_payment(payment.payment_id)
    again = await gateway.cancel_payment(payment.payment_id)

    assert canceled.status is again.status is PaymentStatus.CANCELED
    assert len(await sent(emulator, f"/v1/payment_intents/{payment.payment_id}/cancel")) == 1


async def test_cancel_a_payment_waiting_for_3ds(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(payment_method=await emulator.card(NEEDS_3DS))
    )

    assert (await gateway.cancel_payment(payment.payment_id)).status is PaymentStatus.CANCELED


async def test_cancel_after_success_returns_the_success(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(payment_method=await emulator.card(SUCCEEDS))
    )

    after = await gateway.cancel_payment(payment.payment_id)

    assert after.status is PaymentStatus.SUCCEEDED
    assert await sent(emulator, f"/v1/payment_intents/{payment.payment_id}/cancel") == []


# --- refunds ----------------------------------------------------------------------------


async def test_full_refund(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(payment_method=await emulator.card(SUCCEEDS))
    )

    refund = await gateway.refund(
        payment.payment_id, 2500, "refund:FV-9", "buyer changed their mind"
    )

    assert refund.refund_id.startswith("re_")
    assert (refund.status, refund.amount_minor) == (RefundStatus.SUCCEEDED, 2500)
    [sent_refund] = await sent(emulator, "/v1/refunds", "refund:FV-9")
    assert sent_refund["params"] == {
        "payment_intent": payment.payment_id,
        "amount": "2500",
        "metadata[reason]": "buyer changed their mind",
    }


async def test_partial_refunds(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(amount_minor=3000, payment_method=await emulator.card(SUCCEEDS))
    )

    first = await gateway.refund(payment.payment_id, 1000, f"{payment.payment_id}:r1", None)
    second = await gateway.refund(payment.payment_id, 500, f"{payment.payment_id}:r2", None)

    assert (first.status, first.amount_minor) == (RefundStatus.SUCCEEDED, 1000)
    assert (second.status, second.amount_minor) == (RefundStatus.SUCCEEDED, 500)
    assert first.refund_id != second.refund_id


async def test_refunding_a_declined_payment_is_refused(gateway, emulator):
    payment = await gateway.create_payment(
        payment_request(payment_method=await emulator.card(DECLINED_ON_CHARGE))
    )

    with pytest.raises(StripeRefused) as refused:
        await gateway.refund(payment.payment_id, 2500, f"{payment.payment_id}:r", None)
    assert refused.value.kind is ErrorKind.INVALID


# --- renewals (off session) -------------------------------------------------------------


async def test_saved_method_pays_a_renewal_off_session(gateway, emulator, customer):
    method = await emulator.card(SUCCEEDS)
    first = payment_request(customer_id=customer, payment_method=method, save_payment_method=True)

    bought = await gateway.create_payment(first)

    assert bought.status is PaymentStatus.SUCCEEDED
    assert bought.payment_method == method
    assert (await gateway.get_payment(bought.payment_id)).payment_method == method
    [created] = await sent(emulator, "/v1/payment_intents", first.idempotency_key)
    assert created["params"]["setup_future_usage"] == "off_session"

    renewal = payment_request(
        customer_id=customer,
        payment_method=bought.payment_method,
        off_session=True,
        save_payment_method=True,
        idempotency_key="sub:7:period:2:attempt:1",
    )
    renewed = await gateway.create_payment(renewal)

    assert renewed.status is PaymentStatus.SUCCEEDED
    assert renewed.payment_method == method
    [created] = await sent(emulator, "/v1/payment_intents", "sub:7:period:2:attempt:1")
    assert created["params"]["off_session"] == "true"
    assert created["params"]["confirm"] == "true"
    assert "setup_future_usage" not in created["params"]


async def test_off_session_card_that_needs_authentication_is_declined(gateway, emulator, customer):
    request = payment_request(
        customer_id=customer, payment_method=await emulator.card(NEEDS_3DS), off_session=True
    )

    payment = await gateway.create_payment(request)

    assert payment.status is PaymentStatus.DECLINED
    assert payment.decline_code == "authentication_required"
    assert payment.payment_method is None


async def test_off_session_decline(gateway, emulator, customer):
    request = payment_request(
        customer_id=customer,
        payment_method=await emulator.card(DECLINED_ON_CHARGE),
        off_session=True,
    )

    payment = await gateway.create_payment(request)

    assert (payment.status, payment.decline_code) == (PaymentStatus.DECLINED, "card_declined")


async def test_off_session_needs_a_method(gateway):
    with pytest.raises(ValueError, match="saved payment method"):
        await gateway.create_payment(payment_request(off_session=True))


# --- webhooks ---------------------------------------------------------------------------


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None):
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=at)
    return {"Stripe-Signature": header}, body.encode()


def intent_event(event_type: str = "payment_intent.succeeded") -> dict[str, Any]:
    return {
        "id": "evt_" + uuid.uuid4().hex[:14],
        "object": "event",
        "type": event_type,
        "data": {
            "object": {"id": "pi_123", "object": "payment_intent", "metadata": {"order": "FV-1"}}
        },
    }


async def test_a_signed_event_is_accepted(gateway):
    event = intent_event()
    headers, body = signed(event)

    parsed = await gateway.parse_webhook({"stripe-SIGNATURE": headers["Stripe-Signature"]}, body)

    assert parsed.event_id == event["id"]
    assert parsed.event_type == "payment_intent.succeeded"
    assert (parsed.payment_id, parsed.reference) == ("pi_123", "FV-1")


async def test_charge_events_name_their_payment_intent(gateway):
    event = {
        "id": "evt_charge",
        "object": "event",
        "type": "charge.refunded",
        "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": "pi_9"}},
    }

    parsed = await gateway.parse_webhook(*signed(event))

    assert (parsed.payment_id, parsed.reference) == ("pi_9", None)


async def test_other_events_name_no_payment(gateway):
    event = {
        "id": "evt_customer",
        "object": "event",
        "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer", "metadata": {}}},
    }

    assert (await gateway.parse_webhook(*signed(event))).payment_id is None


async def test_wrong_secret_is_rejected(gateway):
    headers, body = signed(intent_event(), secret="whsec_someone_else")

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)
    assert rejected.value.code == "invalid_signature"


async def test_missing_signature_is_rejected(gateway):
    _, body = signed(intent_event())

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook({"Content-Type": "application/json"}, body)
    assert rejected.value.code == "invalid_signature"


async def test_an_old_event_is_rejected_as_stale(gateway):
    headers, body = signed(intent_event(), at=int(time.time()) - 301)

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)
    assert rejected.value.code == "stale_event"


async def test_an_old_forged_event_is_an_invalid_signature(gateway):
    headers, body = signed(intent_event(), secret="whsec_forger", at=int(time.time()) - 3600)

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)
    assert rejected.value.code == "invalid_signature"


async def test_a_tampered_body_is_rejected(gateway):
    headers, body = signed(intent_event())
    tampered = body.replace(b"pi_123", b"pi_666")

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, tampered)
    assert rejected.value.code == "invalid_signature"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json at all", "malformed_event"),
        ("[1, 2, 3]", "malformed_event"),
        ('{"type": "payment_intent.succeeded"}', "malformed_event"),
    ],
)
async def test_signed_garbage_is_malformed(gateway, body, code):
    header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook({"Stripe-Signature": header}, body.encode())
    assert rejected.value.code == code


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({"Stripe-Signature": "t=abc,v1=zz"}, b'{"id": "evt_1"}', "invalid_signature"),
        ({"Stripe-Signature": "garbage"}, b"garbage", "invalid_signature"),
        ({"Stripe-Signature": "t=1,v1=00"}, b"\xff\xfe\x00binary", "malformed_event"),
    ],
)
async def test_unsigned_garbage_is_rejected(gateway, headers, body, code):
    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)
    assert rejected.value.code == code


class Receiver:
    """Collects webhook deliveries (headers, body) on a local port."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stripe/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_a_delivery_from_localstripe_is_verified(gateway, emulator):
    receiver = Receiver()
    try:
        await emulator.register_webhook(receiver.url, WEBHOOK_SECRET, ["payment_intent.succeeded"])
        request = payment_request(payment_method=await emulator.card(SUCCEEDS))
        payment = await gateway.create_payment(request)

        async def delivered():
            events = [await gateway.parse_webhook(h, b) for h, b in receiver.deliveries]
            return events if any(e.payment_id == payment.payment_id for e in events) else None

        events = await eventually(delivered) or []
    finally:
        receiver.close()

    [event] = [e for e in events if e.payment_id == payment.payment_id]
    assert event.event_type == "payment_intent.succeeded"
    assert event.event_id.startswith("evt_")
    assert event.reference == request.reference


# --- failures ---------------------------------------------------------------------------


async def test_an_unknown_payment_is_not_found(gateway):
    with pytest.raises(StripeRefused) as refused:
        await gateway.get_payment("pi_doesnotexist")
    assert refused.value.kind is ErrorKind.NOT_FOUND


async def test_an_unreachable_stripe_is_a_gateway_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = StripeGateway("sk_test_x", WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(GatewayError):
            await gateway.get_payment("pi_1")
    finally:
        await gateway.aclose()


class Canned:
    """Answers every request with one status and JSON body, counting requests."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.requests = 0
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                canned.requests += 1
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned():
    servers: list[Canned] = []

    def start(status: int, body: dict[str, Any]) -> Canned:
        servers.append(Canned(status, body))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (503, 3), (429, 1)])
async def test_server_errors_and_rate_limits_are_gateway_errors(canned, status, attempts):
    server = canned(status, {"error": {"type": "api_error", "message": "try later"}})
    gateway = StripeGateway("sk_test_x", WEBHOOK_SECRET, api_base=server.url)
    try:
        with pytest.raises(GatewayError):
            await gateway.create_payment(payment_request(payment_method="pm_card_visa"))
    finally:
        await gateway.aclose()
    assert server.requests == attempts  # the SDK retries 5xx twice


async def test_stripes_own_decline_shape(canned):
    """Stripe puts the intent and a decline code in the 402 error; localstripe does not."""
    intent = {
        "id": "pi_real",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "amount": 2500,
        "currency": "eur",
        "client_secret": "pi_real_secret_x",
        "customer": "cus_real",
        "payment_method": None,
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }
    error = {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "payment_intent": intent,
    }
    server = canned(402, {"error": error})
    gateway = StripeGateway("sk_test_x", WEBHOOK_SECRET, api_base=server.url)
    try:
        payment = await gateway.create_payment(payment_request(payment_method="pm_x"))
    finally:
        await gateway.aclose()

    assert (payment.payment_id, payment.status) == ("pi_real", PaymentStatus.DECLINED)
    assert payment.decline_code == "insufficient_funds"
    assert payment.customer_id == "cus_real"


async def test_the_secret_key_stays_out_of_repr():
    gateway = StripeGateway("sk_live_very_secret", WEBHOOK_SECRET)
    try:
        assert "very_secret" not in repr(gateway)
    finally:
        await gateway.aclose()


# --- Stripe shapes localstripe never produces -------------------------------------------


def test_a_3ds_redirect_becomes_the_next_action_url():
    payment = payment_from_intent(
        {
            "id": "pi_1",
            "status": "requires_action",
            "amount": 100,
            "currency": "usd",
            "next_action": {
                "type": "redirect_to_url",
                "redirect_to_url": {"url": "https://hooks.stripe.com/3d_secure/x"},
            },
        }
    )

    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action_url == "https://hooks.stripe.com/3d_secure/x"
    assert payment.currency == "USD"


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [
        ("processing", PaymentStatus.PROCESSING),
        ("requires_confirmation", PaymentStatus.REQUIRES_ACTION),
        ("canceled", PaymentStatus.CANCELED),
        ("some_future_status", PaymentStatus.PROCESSING),
    ],
)
def test_status_mapping(stripe_status, ours):
    intent = {"id": "pi_1", "status": stripe_status, "amount": 100, "currency": "eur"}

    assert payment_from_intent(intent).status is ours
