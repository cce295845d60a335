"""PayPalGateway, and through it the shared PayPal REST client, against tests/paypal_fake.py."""

import json
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from domain.checkout import PaymentStatus, RefundStatus
from domain.errors import DomainError, ErrorKind
from integrations.payments import GatewayError, PaymentRequest, WebhookRejected
from integrations.payments.paypal_gateway import PayPalGateway, PayPalRefused
from integrations.payouts import PayPalPayouts, TransferRefused, TransferRequest
from integrations.paypal import PayPalClient
from tests.paypal_fake import APPROVAL_PAGE, PayPalFake, PayPalServer

CLIENT_ID = "client-" + uuid.uuid4().hex
CLIENT_SECRET = "secret-" + uuid.uuid4().hex
WEBHOOK_ID = "WH-" + uuid.uuid4().hex[:17].upper()
ORDERS = "/v2/checkout/orders"


@pytest.fixture(scope="module")
def paypal_server():
    with PayPalServer(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID) as fake:
        yield fake


@pytest.fixture
def paypal(paypal_server: PayPalFake):
    paypal_server.reset()
    yield paypal_server
    paypal_server.reset()


@pytest.fixture
def gateway(paypal: PayPalFake) -> PayPalGateway:
    return PayPalGateway(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, api_base=paypal.url, sandbox=True)


def payment_request(amount_minor: int = 1999, currency: str = "EUR", **changes) -> PaymentRequest:
    reference = changes.pop("reference", f"FV-{uuid.uuid4().hex[:10].upper()}")
    return PaymentRequest(
        reference=reference,
        amount_minor=amount_minor,
        currency=currency,
        description="FastVue modules: hello_fastvue",
        idempotency_key=changes.pop("idempotency_key", f"checkout:{reference}:charge"),
        return_url="https://market.example/checkout/return",
        **changes,
    )


def payout_request() -> TransferRequest:
    return TransferRequest(
        payout_id=1,
        amount=Decimal("5.00"),
        currency="USD",
        destination="pub@example.com",
        idempotency_key="payout:1:2026-10",
        description="payout",
    )


async def paid_order(gateway: PayPalGateway, paypal: PayPalFake, amount_minor: int = 1999):
    payment = await gateway.create_payment(payment_request(amount_minor))
    paypal.approve(payment.payment_id)
    confirmed = await gateway.confirm_payment(payment.payment_id, "confirm-" + payment.payment_id)
    assert confirmed.status is PaymentStatus.SUCCEEDED
    return confirmed


# --- orders -------------------------------------------------------------------------------


async def test_a_new_payment_waits_for_the_buyer_on_paypal(gateway, paypal):
    request = payment_request()

    payment = await gateway.create_payment(request)

    assert payment.gateway == "paypal"
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action_url == APPROVAL_PAGE + payment.payment_id
    assert (payment.amount_minor, payment.currency) == (1999, "EUR")
    assert paypal.orders[payment.payment_id].status == "PAYER_ACTION_REQUIRED"
    [sent] = paypal.requests_to("POST", ORDERS)
    assert sent.headers["paypal-request-id"] == request.idempotency_key
    assert sent.headers["prefer"] == "return=representation"
    assert sent.headers["authorization"].startswith("Bearer A21AA")
    assert sent.body["intent"] == "CAPTURE"
    [unit] = sent.body["purchase_units"]
    assert unit["amount"] == {"currency_code": "EUR", "value": "19.99"}
    assert unit["invoice_id"] == unit["custom_id"] == request.reference
    assert unit["description"] == request.description
    context = sent.body["payment_source"]["paypal"]["experience_context"]
    assert context["return_url"] == request.return_url
    assert context["shipping_preference"] == "NO_SHIPPING"


async def test_zero_decimal_currencies_are_sent_without_decimals(gateway, paypal):
    payment = await gateway.create_payment(payment_request(1500, "JPY"))

    [sent] = paypal.requests_to("POST", ORDERS)
    assert sent.body["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1500"}
    assert (payment.amount_minor, payment.currency) == (1500, "JPY")


async def test_the_same_key_gives_the_same_order(gateway, paypal):
    request = payment_request()

    first = await gateway.create_payment(request)
    again = await gateway.create_payment(request)

    assert again.payment_id == first.payment_id
    assert again.status is PaymentStatus.REQUIRES_ACTION
    invoices = [o for o in paypal.orders.values() if o.unit["invoice_id"] == request.reference]
    assert len(invoices) == 1


async def test_confirming_before_approval_keeps_waiting(gateway, paypal):
    payment = await gateway.create_payment(payment_request())

    confirmed = await gateway.confirm_payment(payment.payment_id, "confirm-1")

    assert confirmed.status is PaymentStatus.REQUIRES_ACTION
    assert confirmed.next_action_url == payment.next_action_url
    assert paypal.requests_to("POST", f"{ORDERS}/{payment.payment_id}/capture") == []


async def test_approved_then_confirmed_is_captured_once(gateway, paypal):
    payment = await gateway.create_payment(payment_request())
    paypal.approve(payment.payment_id)

    confirmed = await gateway.confirm_payment(payment.payment_id, "confirm-2")
    again = await gateway.confirm_payment(payment.payment_id, "confirm-2")
    looked_up = await gateway.get_payment(payment.payment_id)

    assert confirmed.status is again.status is looked_up.status is PaymentStatus.SUCCEEDED
    assert confirmed.next_action_url is None
    [capture] = paypal.requests_to("POST", f"{ORDERS}/{payment.payment_id}/capture")
    assert capture.headers["paypal-request-id"] == "confirm-2"
    assert capture.headers["prefer"] == "return=representation"
    assert paypal.orders[payment.payment_id].capture["status"] == "COMPLETED"


async def test_a_declined_instrument_declines_the_payment(gateway, paypal):
    payment = await gateway.create_payment(payment_request())
    paypal.approve(payment.payment_id)
    paypal.decline_next_capture = True

    confirmed = await gateway.confirm_payment(payment.payment_id, "confirm-3")

    assert confirmed.status is PaymentStatus.DECLINED
    assert confirmed.decline_code == "instrument_declined"
    assert paypal.orders[payment.payment_id].capture is None


@pytest.mark.parametrize(
    ("capture_status", "expected"),
    [("PENDING", PaymentStatus.PROCESSING), ("DECLINED", PaymentStatus.DECLINED)],
)
async def test_the_capture_status_decides(gateway, paypal, capture_status, expected):
    payment = await gateway.create_payment(payment_request())
    paypal.approve(payment.payment_id)
    paypal.next_capture_status = capture_status

    confirmed = await gateway.confirm_payment(payment.payment_id, "confirm-4")

    assert confirmed.status is expected
    assert (await gateway.get_payment(payment.payment_id)).status is expected


async def test_one_reference_is_never_charged_twice(gateway, paypal):
    """Two orders for one reference (say, two keys by mistake): PayPal refuses the second
    capture because the invoice id was already paid."""
    reference = "FV-" + uuid.uuid4().hex[:8]
    first = await gateway.create_payment(payment_request(reference=reference, idempotency_key="a"))
    second = await gateway.create_payment(payment_request(reference=reference, idempotency_key="b"))
    paypal.approve(first.payment_id)
    paypal.approve(second.payment_id)

    assert (await gateway.confirm_payment(first.payment_id, "c1")).status is PaymentStatus.SUCCEEDED
    with pytest.raises(PayPalRefused) as refused:
        await gateway.confirm_payment(second.payment_id, "c2")
    assert refused.value.code == "duplicate_invoice_id"


async def test_canceling_gives_up_unless_already_paid(gateway, paypal):
    waiting = await gateway.create_payment(payment_request())
    paid = await paid_order(gateway, paypal)

    assert (await gateway.cancel_payment(waiting.payment_id)).status is PaymentStatus.CANCELED
    assert (await gateway.cancel_payment(paid.payment_id)).status is PaymentStatus.SUCCEEDED


async def test_an_unknown_order_is_not_found(gateway):
    with pytest.raises(PayPalRefused) as refused:
        await gateway.get_payment("0NOSUCHORDER0000")
    assert refused.value.kind is ErrorKind.NOT_FOUND


async def test_off_session_charges_are_refused(gateway, paypal):
    with pytest.raises(DomainError) as refused:
        await gateway.create_payment(payment_request(off_session=True))
    assert refused.value.code == "off_session_unsupported"
    assert paypal.requests_to("POST", ORDERS) == []


# --- refunds ------------------------------------------------------------------------------


async def test_partial_then_full_refunds(gateway, paypal):
    paid = await paid_order(gateway, paypal)
    capture_id = paypal.orders[paid.payment_id].capture["id"]

    part = await gateway.refund(paid.payment_id, 500, "refund:1:part", None)
    repeated = await gateway.refund(paid.payment_id, 500, "refund:1:part", None)
    rest = await gateway.refund(paid.payment_id, 1499, "refund:1:rest", "requested_by_customer")

    assert (part.status, part.amount_minor) == (RefundStatus.SUCCEEDED, 500)
    assert repeated.refund_id == part.refund_id
    assert (rest.status, rest.amount_minor) == (RefundStatus.SUCCEEDED, 1499)
    sent = paypal.requests_to("POST", f"/v2/payments/captures/{capture_id}/refund")
    assert [r.headers["paypal-request-id"] for r in sent] == [
        "refund:1:part",
        "refund:1:part",
        "refund:1:rest",
    ]
    assert sent[0].body == {"amount": {"currency_code": "EUR", "value": "5.00"}}
    assert len(paypal.orders[paid.payment_id].refunds) == 2
    assert paypal.orders[paid.payment_id].capture["status"] == "REFUNDED"
    assert (await gateway.get_payment(paid.payment_id)).status is PaymentStatus.SUCCEEDED
    with pytest.raises(PayPalRefused) as refused:
        await gateway.refund(paid.payment_id, 1, "refund:1:more", None)
    assert refused.value.code == "capture_fully_refunded"


async def test_refunding_more_than_was_paid_fails_clearly(gateway, paypal):
    paid = await paid_order(gateway, paypal)

    with pytest.raises(PayPalRefused) as refused:
        await gateway.refund(paid.payment_id, 2000, "refund:2", None)

    assert isinstance(refused.value, DomainError)
    assert refused.value.code == "refund_amount_exceeded"
    assert refused.value.kind is ErrorKind.CONFLICT
    assert paypal.orders[paid.payment_id].refunds == []


async def test_a_pending_refund_is_pending(gateway, paypal):
    paid = await paid_order(gateway, paypal)
    paypal.next_refund_status = "PENDING"

    refund = await gateway.refund(paid.payment_id, 1999, "refund:3", None)

    assert refund.status is RefundStatus.PENDING


async def test_an_unpaid_order_has_nothing_to_refund(gateway):
    payment = await gateway.create_payment(payment_request())

    with pytest.raises(DomainError) as refused:
        await gateway.refund(payment.payment_id, 100, "refund:4", None)
    assert refused.value.code == "payment_not_captured"


# --- webhooks -----------------------------------------------------------------------------


async def test_a_signed_order_event_names_the_order(gateway, paypal):
    request = payment_request()
    payment = await gateway.create_payment(request)
    paypal.approve(payment.payment_id)
    event = paypal.order_event(payment.payment_id)
    headers, body = paypal.sign(event)

    parsed = await gateway.parse_webhook({k.lower(): v for k, v in headers.items()}, body)

    assert parsed.event_id == event["id"]
    assert parsed.event_type == "CHECKOUT.ORDER.APPROVED"
    assert parsed.payment_id == payment.payment_id
    assert parsed.reference == request.reference
    [verify] = paypal.requests_to("POST", "/v1/notifications/verify-webhook-signature")
    assert verify.body["webhook_id"] == WEBHOOK_ID
    assert verify.body["webhook_event"] == event
    assert verify.headers["authorization"].startswith("Bearer ")


async def test_a_signed_capture_event_names_the_order(gateway, paypal):
    paid = await paid_order(gateway, paypal)
    headers, body = paypal.sign(paypal.capture_event(paid.payment_id))

    parsed = await gateway.parse_webhook(headers, body)

    assert parsed.event_type == "PAYMENT.CAPTURE.COMPLETED"
    assert parsed.payment_id == paid.payment_id
    assert parsed.reference == paypal.orders[paid.payment_id].unit["invoice_id"]


async def test_one_token_serves_orders_and_webhooks_until_paypal_drops_it(gateway, paypal):
    issued = paypal.tokens_issued
    payment = await gateway.create_payment(payment_request())

    for _ in range(2):
        await gateway.parse_webhook(*paypal.sign(paypal.order_event(payment.payment_id)))
    await gateway.get_payment(payment.payment_id)
    assert paypal.tokens_issued == issued + 1

    paypal.expire_tokens()
    await gateway.parse_webhook(*paypal.sign(paypal.order_event(payment.payment_id)))
    await gateway.get_payment(payment.payment_id)
    assert paypal.tokens_issued == issued + 2


async def test_the_gateway_and_the_payouts_rail_share_one_token(paypal):
    client = PayPalClient(CLIENT_ID, CLIENT_SECRET, api_base=paypal.url)
    gateway = PayPalGateway.over(client, WEBHOOK_ID)
    rail = PayPalPayouts.over(client)
    issued = paypal.tokens_issued

    payment = await gateway.create_payment(payment_request())
    with pytest.raises(TransferRefused):  # the order fake has no payouts: 404, a refusal
        await rail.check(payout_request(), "NOSUCHBATCH")
    await gateway.get_payment(payment.payment_id)

    assert paypal.tokens_issued == issued + 1
    [looked_up] = paypal.requests_to("GET", "/v1/payments/payouts/NOSUCHBATCH")
    assert looked_up.headers["authorization"].startswith("Bearer A21AA")
    await client.aclose()


async def test_a_5xx_is_retried_with_the_same_request_id(gateway, paypal, monkeypatch):
    """PayPal answers a request id it has seen with what it made the first time, so the
    retry of a write that failed with a 503 is the same request, not a second order."""
    request = payment_request()
    real_handle = paypal.handle
    failures = iter([True])

    def flaky(method, path, headers, body):
        if path == ORDERS and next(failures, False):
            real_handle(method, path, headers, body)  # done, but the answer is lost
            return 503, {"name": "SERVICE_UNAVAILABLE", "message": "Service Unavailable."}
        return real_handle(method, path, headers, body)

    monkeypatch.setattr(paypal, "handle", flaky)

    payment = await gateway.create_payment(request)

    sent = paypal.requests_to("POST", ORDERS)
    assert [r.headers["paypal-request-id"] for r in sent] == [request.idempotency_key] * 2
    invoices = [o for o in paypal.orders.values() if o.unit["invoice_id"] == request.reference]
    assert [o.id for o in invoices] == [payment.payment_id]


async def test_forged_deliveries_are_rejected(gateway, paypal):
    payment = await gateway.create_payment(payment_request())
    event = paypal.order_event(payment.payment_id)
    headers, _ = paypal.sign(event)
    tampered = paypal.order_event(payment.payment_id) | {"id": event["id"]}
    tampered["resource"]["id"] = "SOMEONEELSES0001"
    other_hook_headers, other_hook_body = paypal.sign(event, webhook_id="WH-SOMEONE-ELSE")
    unsigned = headers | {"PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk"}

    for forged_headers, forged_body in [
        (headers, json.dumps(tampered).encode()),
        (unsigned, json.dumps(event).encode()),
        (other_hook_headers, other_hook_body),
    ]:
        with pytest.raises(WebhookRejected) as rejected:
            await gateway.parse_webhook(forged_headers, forged_body)
        assert rejected.value.code == "invalid_signature"


async def test_a_delivery_without_signature_headers_is_rejected_locally(gateway, paypal):
    headers, body = paypal.sign({"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED"})
    del headers["PAYPAL-TRANSMISSION-SIG"]

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)

    assert rejected.value.code == "invalid_signature"
    assert paypal.requests == []


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=10)])
async def test_stale_or_future_deliveries_are_rejected_locally(gateway, paypal, offset):
    event = {"id": "WH-2", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": "X"}}
    headers, body = paypal.sign(event, transmission_time=datetime.now(UTC) + offset)

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)

    assert rejected.value.code == "stale_event"
    assert paypal.requests == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "WH-3"}', b"\xff\xfe{}"])
async def test_malformed_deliveries_are_rejected(gateway, paypal, body):
    headers, _ = paypal.sign({"id": "WH-3", "event_type": "CHECKOUT.ORDER.APPROVED"})

    with pytest.raises(WebhookRejected) as rejected:
        await gateway.parse_webhook(headers, body)

    assert rejected.value.code == "malformed_event"
    assert paypal.requests == []


# --- failures -----------------------------------------------------------------------------


async def test_paypal_down_is_a_gateway_error(gateway, paypal):
    payment = await gateway.create_payment(payment_request())
    headers, body = paypal.sign(paypal.order_event(payment.payment_id))
    paypal.mode = "down"

    with pytest.raises(GatewayError):
        await gateway.create_payment(payment_request())
    with pytest.raises(GatewayError):
        await gateway.get_payment(payment.payment_id)
    with pytest.raises(GatewayError):
        await gateway.parse_webhook(headers, body)
    fresh = PayPalGateway(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, api_base=paypal.url)
    with pytest.raises(GatewayError):
        await fresh.get_payment(payment.payment_id)


async def test_an_unreachable_paypal_is_a_gateway_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = PayPalGateway(
        CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, api_base=f"http://127.0.0.1:{port}"
    )

    with pytest.raises(GatewayError):
        await gateway.create_payment(payment_request())


async def test_wrong_credentials_are_refused_without_leaking_them(paypal, caplog):
    wrong = "wrong-" + uuid.uuid4().hex
    gateway = PayPalGateway(CLIENT_ID, wrong, WEBHOOK_ID, api_base=paypal.url)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(GatewayError):
        await gateway.create_payment(payment_request())
    headers, body = paypal.sign({"id": "WH-4", "event_type": "CHECKOUT.ORDER.APPROVED"})
    with pytest.raises(GatewayError):
        await gateway.parse_webhook(headers, body)

    assert [r.path for r in paypal.requests] == ["/v1/oauth2/token"] * 2
    assert all(wrong not in record.getMessage() for record in caplog.records)
    assert wrong not in repr(gateway)


# --- the fake itself, where the gateway relies on PayPal's behaviour -----------------------


def test_the_fake_refuses_like_paypal(paypal):
    order = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "5.00"}}],
    }
    with httpx.Client(base_url=paypal.url) as client:
        assert client.post(ORDERS, json=order).status_code == 401
        token = client.post(
            "/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"

        created = client.post(ORDERS, json=order)
        assert created.status_code == 201
        assert set(created.json()) == {"id", "status", "links"}  # no Prefer: minimal
        order_id = created.json()["id"]
        capture = f"{ORDERS}/{order_id}/capture"
        refused = client.post(capture, headers={"PayPal-Request-Id": "k1"})
        assert refused.status_code == 422
        assert refused.json()["details"][0]["issue"] == "ORDER_NOT_APPROVED"

        paypal.approve(order_id)
        first = client.post(capture, headers={"PayPal-Request-Id": "k1"})
        replayed = client.post(capture, headers={"PayPal-Request-Id": "k1"})
        other_key = client.post(capture, headers={"PayPal-Request-Id": "k2"})
        assert (first.status_code, replayed.status_code) == (201, 200)
        assert replayed.json()["id"] == order_id
        assert other_key.json()["details"][0]["issue"] == "ORDER_ALREADY_CAPTURED"
