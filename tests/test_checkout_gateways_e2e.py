"""Checkout end to end through the Stripe and PayPal gateways: HTTP API → checkout workflow
on the dev server → worker activities → the real stripe SDK against localstripe
(``tests/stripe_fake.py``) and our PayPal REST client (httpx) against ``tests/paypal_fake.py``,
with webhooks signed the way each gateway signs them.

localstripe ignores ``Idempotency-Key`` and PayPal's fake records ``PayPal-Request-Id``, so
the tests check the keys the system sends rather than the gateways' replays."""

import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import stripe
from pydantic import SecretStr
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType

from domain import processes
from domain.modules import ModuleStatus
from models.commerce import License, ProcessedWebhookEvent
from tests.helpers import eventually, terminate_if_running
from tests.paypal_fake import APPROVAL_PAGE, PayPalFake, PayPalServer
from tests.stripe_fake import DECLINED_ON_CHARGE, NEEDS_3DS, SUCCEEDS, localstripe_server
from worker import build_worker

# The stripe SDK's httpx client posts a pre-encoded body as ``data=``, which httpx deprecates.
pytestmark = [
    pytest.mark.workflow,
    pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning"),
]
CHECKOUT = "/api/v1/marketplace/checkout"
STRIPE_HOOK = "/api/v1/marketplace/webhooks/stripe"
PAYPAL_HOOK = "/api/v1/marketplace/webhooks/paypal"
STRIPE_WEBHOOK_SECRET = "whsec_e2e_" + uuid.uuid4().hex
PAYPAL_CLIENT_ID = "client-" + uuid.uuid4().hex
PAYPAL_CLIENT_SECRET = "secret-" + uuid.uuid4().hex
PAYPAL_WEBHOOK_ID = "WH-" + uuid.uuid4().hex[:17].upper()
PAYPAL_ORDERS = "/v2/checkout/orders"
LOCAL_NEEDS_3DS = "4000000000003220"


async def fill_cart(api, buyer, *modules):
    for module in modules:
        added = await api.request(
            "POST", "/api/v1/marketplace/cart/add", as_user=buyer, json={"module_id": module.id}
        )
        assert added.status_code == 200, added.text


async def order_when(api, buyer, order_id: int, *statuses: str) -> dict:
    async def settled():
        response = await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
        body = response.json()
        return body if body["status"] in statuses else None

    body = await eventually(settled)
    assert body, f"order {order_id} never reached {statuses}"
    return body


async def count(sessions, model, *where) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture(scope="module")
def emulator():
    with localstripe_server() as server:
        yield server


@pytest.fixture(scope="module")
def paypal_server():
    with PayPalServer(PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, PAYPAL_WEBHOOK_ID) as fake:
        yield fake


@pytest.fixture
def paypal(paypal_server: PayPalFake):
    paypal_server.reset()
    yield paypal_server
    paypal_server.reset()


@pytest.fixture
def settings(settings, emulator, paypal):
    return settings.model_copy(
        update={
            "checkout_confirm_timeout": timedelta(minutes=2),
            "stripe_secret_key": SecretStr(emulator.secret_key),
            "stripe_webhook_secret": SecretStr(STRIPE_WEBHOOK_SECRET),
            "stripe_api_base": emulator.url,
            "paypal_client_id": PAYPAL_CLIENT_ID,
            "paypal_client_secret": SecretStr(PAYPAL_CLIENT_SECRET),
            "paypal_webhook_id": PAYPAL_WEBHOOK_ID,
            "paypal_api_base": paypal.url,
            "paypal_sandbox": True,
        }
    )


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


@pytest.fixture
async def buy(committed_api, make_committed, worker):
    """Put one paid module in a new buyer's cart and check out; answers the buyer and the
    202 body. Checkouts still waiting at the end are terminated."""
    _, publisher = await make_committed.publisher()
    started: list[str] = []

    async def checkout(price: str = "25.00", **body) -> tuple[object, dict]:
        buyer = await make_committed.user()
        module = await make_committed.module(
            publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal(price)
        )
        await fill_cart(committed_api, buyer, module)
        response = await committed_api.request("POST", CHECKOUT, as_user=buyer, json=body)
        assert response.status_code == 202, response.text
        started.append(response.json()["workflow_id"])
        return buyer, response.json()

    yield checkout
    for workflow_id in started:
        await terminate_if_running(worker.client.get_workflow_handle(workflow_id))


async def awaiting_buyer(api, buyer, order_id: int) -> dict:
    """The order once its payment waits for the buyer (3-D Secure, PayPal approval)."""

    async def waiting():
        response = await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
        body = response.json()
        return body if body["payment"]["status"] == "requires_action" else None

    body = await eventually(waiting)
    assert body, f"order {order_id} never waited for the buyer"
    assert body["status"] == "pending"
    return body


async def history(client, order_number: str) -> list:
    handle = client.get_workflow_handle(processes.Checkout.workflow_id(order_number))
    return [event async for event in handle.fetch_history_events()]


def signals_in(events: list) -> int:
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED for e in events)


async def signal_handled(client, order_number: str, signals: int = 1) -> list:
    """The checkout's history once it received ``signals`` signals and finished every
    activity they started: what the webhook made it do has been done."""

    async def settled():
        events = await history(client, order_number)
        scheduled = {
            e.event_id
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }
        finished = {
            e.activity_task_completed_event_attributes.scheduled_event_id
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        }
        done = (
            signals_in(events) >= signals
            and scheduled <= finished
            and events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        return events if done else None

    events = await eventually(settled)
    assert events, f"checkout {order_number} never handled {signals} signal(s)"
    return events


def activities_in(events: list) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def webhook_rows(sessions, event_id: str) -> int:
    return await count(sessions, ProcessedWebhookEvent, ProcessedWebhookEvent.event_id == event_id)


# --- Stripe -------------------------------------------------------------------------------


async def intent_at_stripe(emulator, intent_id: str) -> dict:
    async with httpx.AsyncClient(
        base_url=emulator.url, auth=(emulator.secret_key, ""), timeout=10.0
    ) as http:
        response = await http.get(f"/v1/payment_intents/{intent_id}")
    response.raise_for_status()
    return response.json()


def stripe_event(event_type: str, subject: dict) -> dict:
    return {
        "id": "evt_" + uuid.uuid4().hex[:24],
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": subject},
    }


def stripe_delivery(
    event: dict, *, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None
) -> dict:
    """What Stripe POSTs: the event and its ``Stripe-Signature``, made by the SDK's own
    signing helper with ``secret``."""
    payload = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=timestamp
    )
    return {
        "content": payload.encode(),
        "headers": {"Stripe-Signature": signature, "Content-Type": "application/json"},
    }


async def test_a_stripe_card_pays_at_once_with_one_payment_intent(
    committed_api, emulator, buy, worker
):
    api = committed_api
    method = await emulator.card(SUCCEEDS)
    buyer, started = await buy("25.00", gateway="stripe", payment_method=method)
    number = started["order"]["order_number"]

    order = await order_when(api, buyer, started["order"]["id"], "completed")

    assert order["payment"]["gateway"] == "stripe"
    assert order["payment"]["status"] == "succeeded"
    assert order["payment"]["payment_id"].startswith("pi_")
    assert order["payment"]["next_action"] is None
    assert len(order["license_ids"]) == 1
    [created] = [
        r
        for r in await emulator.requests("POST", "/v1/payment_intents")
        if r["params"].get("metadata[order]") == number
    ]
    assert created["idempotency_key"] == f"checkout:{number}:charge"
    assert created["params"]["amount"] == "2500"
    assert created["params"]["payment_method"] == method
    assert created["params"]["confirm"] == "true"
    assert created["params"]["customer"].startswith("cus_")
    intent = await intent_at_stripe(emulator, order["payment"]["payment_id"])
    assert (intent["status"], intent["amount"]) == ("succeeded", 2500)


async def test_a_3ds_payment_completes_by_a_signed_stripe_webhook_applied_once(
    committed_api, committed, emulator, buy, worker
):
    api = committed_api
    buyer, started = await buy(
        "15.00", gateway="stripe", payment_method=await emulator.card(NEEDS_3DS)
    )
    order_id, number = started["order"]["id"], started["order"]["order_number"]
    pending = await awaiting_buyer(api, buyer, order_id)
    intent_id = pending["payment"]["payment_id"]
    client_secret = pending["payment"]["next_action"]["client_secret"]
    assert client_secret and client_secret.startswith(intent_id)

    assert await emulator.authenticate(intent_id, client_secret, success=True) == 200
    intent = await intent_at_stripe(emulator, intent_id)
    assert intent["status"] == "succeeded"
    event = stripe_event("payment_intent.succeeded", intent)

    forged = await api.request(
        "POST", STRIPE_HOOK, **stripe_delivery(event, secret="whsec_" + uuid.uuid4().hex)
    )
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_signature"
    tampered = stripe_delivery(event)
    tampered["content"] = tampered["content"].replace(b"succeeded", b"SUCCEEDED")
    edited = await api.request("POST", STRIPE_HOOK, **tampered)
    assert edited.status_code == 401 and edited.json()["error"] == "invalid_signature"
    unsigned = await api.request(
        "POST", STRIPE_HOOK, content=json.dumps(event).encode(), headers={}
    )
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "invalid_signature"
    stale = await api.request(
        "POST", STRIPE_HOOK, **stripe_delivery(event, timestamp=int(time.time()) - 301)
    )
    assert stale.status_code == 400 and stale.json()["error"] == "stale_event"
    assert signals_in(await history(worker.client, number)) == 0, "no rejected delivery woke it"
    assert await webhook_rows(committed, event["id"]) == 0
    still = await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
    assert still.json()["status"] == "pending"

    delivery = stripe_delivery(event)
    received = await api.request("POST", STRIPE_HOOK, **delivery)
    assert received.status_code == 200, received.text
    assert received.json() == {"received": True, "duplicate": False}
    order = await order_when(api, buyer, order_id, "completed")
    assert order["payment"]["status"] == "succeeded"
    assert len(order["license_ids"]) == 1
    assert "checkout.refresh_payment" in activities_in(await history(worker.client, number))

    replayed = await api.request("POST", STRIPE_HOOK, **delivery)
    assert replayed.status_code == 200
    assert replayed.json() == {"received": True, "duplicate": True}
    assert await webhook_rows(committed, event["id"]) == 1

    stranger_intent = {
        "id": "pi_" + uuid.uuid4().hex[:24],
        "object": "payment_intent",
        "status": "succeeded",
        "amount": 1500,
        "currency": "usd",
        "metadata": {},
    }
    unrelated_event = stripe_event("payment_intent.succeeded", stranger_intent)
    unrelated = await api.request("POST", STRIPE_HOOK, **stripe_delivery(unrelated_event))
    assert unrelated.status_code == 200
    assert unrelated.json() == {"received": True, "duplicate": False}

    after = await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
    assert after.json()["status"] == "completed"
    assert after.json()["license_ids"] == order["license_ids"]
    assert await count(committed, License, License.user_id == buyer.id) == 1
    assert signals_in(await history(worker.client, number)) == 1


async def test_a_signed_webhook_cannot_pay_an_order_the_gateway_has_not_been_paid_for(
    committed_api, committed, emulator, buy, worker
):
    """The webhook only wakes the checkout: it reads the intent back from Stripe, which
    still waits for 3-D Secure, so a (genuinely signed) ``succeeded`` claim changes nothing."""
    api = committed_api
    buyer, started = await buy(
        "15.00", gateway="stripe", payment_method=await emulator.card(NEEDS_3DS)
    )
    order_id, number = started["order"]["id"], started["order"]["order_number"]
    pending = await awaiting_buyer(api, buyer, order_id)
    intent_id = pending["payment"]["payment_id"]
    claim = (await intent_at_stripe(emulator, intent_id)) | {"status": "succeeded"}
    claim.pop("next_action", None)

    received = await api.request(
        "POST", STRIPE_HOOK, **stripe_delivery(stripe_event("payment_intent.succeeded", claim))
    )

    assert received.status_code == 200 and received.json()["duplicate"] is False
    events = await signal_handled(worker.client, number)
    assert activities_in(events)[-2:] == ["checkout.refresh_payment", "checkout.confirm_payment"]
    assert await emulator.requests("POST", f"/v1/payment_intents/{intent_id}/confirm") == []
    order = (
        await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
    ).json()
    assert order["status"] == "pending"
    assert order["payment"]["status"] == "requires_action"
    assert order["paid_at"] is None and order["license_ids"] == []
    assert await count(committed, License, License.user_id == buyer.id) == 0
    assert (await intent_at_stripe(emulator, intent_id))["status"] == "requires_action"


async def test_a_stripe_webhook_never_wakes_an_order_of_another_gateway(
    committed_api, committed, buy, worker
):
    """Found by reference (``metadata.order``), a local 3-D Secure order is not Stripe's to
    wake: were it woken, confirming it would stand in for the buyer's approval."""
    api = committed_api
    buyer, started = await buy("15.00", payment_method=LOCAL_NEEDS_3DS)
    order_id, number = started["order"]["id"], started["order"]["order_number"]
    pending = await awaiting_buyer(api, buyer, order_id)
    claim = {
        "id": "pi_" + uuid.uuid4().hex[:24],
        "object": "payment_intent",
        "status": "succeeded",
        "metadata": {"order": number},
    }

    received = await api.request(
        "POST", STRIPE_HOOK, **stripe_delivery(stripe_event("payment_intent.succeeded", claim))
    )

    assert received.status_code == 200 and received.json()["duplicate"] is False
    assert signals_in(await history(worker.client, number)) == 0
    order = (
        await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
    ).json()
    assert order["status"] == "pending" and order["payment"] == pending["payment"]
    assert await count(committed, License, License.user_id == buyer.id) == 0


async def test_a_declined_stripe_card_fails_the_order(committed_api, committed, emulator, buy):
    api = committed_api
    buyer, started = await buy(
        "20.00", gateway="stripe", payment_method=await emulator.card(DECLINED_ON_CHARGE)
    )

    order = await order_when(api, buyer, started["order"]["id"], "failed")

    assert order["failure_code"] == "card_declined"
    assert order["payment"]["status"] == "declined"
    assert order["license_ids"] == []
    assert await count(committed, License, License.user_id == buyer.id) == 0


async def test_a_stripe_order_is_refunded_at_stripe_and_its_license_revoked(
    committed_api, make_committed, emulator, buy
):
    api = committed_api
    buyer, started = await buy(
        "30.00", gateway="stripe", payment_method=await emulator.card(SUCCEEDS)
    )
    order = await order_when(api, buyer, started["order"]["id"], "completed")
    number, intent_id = order["order_number"], order["payment"]["payment_id"]

    asked = await api.request(
        "POST",
        f"/api/v1/marketplace/orders/{order['id']}/refund",
        as_user=buyer,
        json={"reason": "wrong module"},
    )
    assert asked.status_code == 202, asked.text

    refunded = await order_when(api, buyer, order["id"], "refunded")
    assert refunded["refunded_amount"] == "30.00"
    assert refunded["payment"]["status"] == "refunded"
    [license_id] = order["license_ids"]
    assert (await make_committed.reload(License, license_id)).status == "revoked"
    [sent] = [
        r
        for r in await emulator.requests("POST", "/v1/refunds")
        if r["params"].get("payment_intent") == intent_id
    ]
    assert sent["idempotency_key"] == f"refund:{number}"
    assert sent["params"]["amount"] == "3000"
    assert sent["params"]["metadata[reason]"] == "wrong module"


# --- PayPal -------------------------------------------------------------------------------


def paypal_delivery(paypal: PayPalFake, event: dict) -> dict:
    headers, body = paypal.sign(event)
    return {"content": body, "headers": headers | {"Content-Type": "application/json"}}


async def test_a_paypal_checkout_waits_for_approval_then_confirm_captures_it(
    committed_api, paypal, buy
):
    api = committed_api
    buyer, started = await buy("19.99", gateway="paypal", return_url="https://shop.test/back")
    order_id, number = started["order"]["id"], started["order"]["order_number"]

    pending = await awaiting_buyer(api, buyer, order_id)
    paypal_order = pending["payment"]["payment_id"]
    assert pending["payment"]["gateway"] == "paypal"
    assert pending["payment"]["next_action"]["url"] == APPROVAL_PAGE + paypal_order
    [created] = paypal.requests_to("POST", PAYPAL_ORDERS)
    assert created.headers["paypal-request-id"] == f"checkout:{number}:charge"
    [unit] = created.body["purchase_units"]
    assert unit["amount"] == {"currency_code": "USD", "value": "19.99"}
    assert unit["invoice_id"] == number
    assert created.body["payment_source"]["paypal"]["experience_context"]["return_url"] == (
        "https://shop.test/back"
    )

    early = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
    )
    assert early.status_code == 200, early.text
    assert early.json()["status"] == "pending"
    assert early.json()["payment"]["status"] == "requires_action"
    assert paypal.requests_to("POST", f"{PAYPAL_ORDERS}/{paypal_order}/capture") == []

    paypal.approve(paypal_order)
    confirmed = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert confirmed.json()["payment"]["status"] == "succeeded"
    assert len(confirmed.json()["license_ids"]) == 1
    [capture] = paypal.requests_to("POST", f"{PAYPAL_ORDERS}/{paypal_order}/capture")
    assert capture.headers["paypal-request-id"] == f"checkout:{number}:confirm"
    assert paypal.orders[paypal_order].capture["status"] == "COMPLETED"


async def test_a_paypal_approval_webhook_captures_for_a_buyer_who_left(
    committed_api, committed, paypal, buy, worker
):
    """The buyer approved on PayPal and closed the tab: CHECKOUT.ORDER.APPROVED makes the
    checkout read the order back and, since PayPal itself says it is approved, capture it."""
    api = committed_api
    buyer, started = await buy("12.00", gateway="paypal")
    order_id, number = started["order"]["id"], started["order"]["order_number"]
    pending = await awaiting_buyer(api, buyer, order_id)
    paypal_order = pending["payment"]["payment_id"]
    captures = f"{PAYPAL_ORDERS}/{paypal_order}/capture"

    lying = paypal.order_event(paypal_order)
    lying["resource"]["status"] = "APPROVED"
    early = await api.request("POST", PAYPAL_HOOK, **paypal_delivery(paypal, lying))
    assert early.status_code == 200 and early.json()["duplicate"] is False
    events = await signal_handled(worker.client, number)
    assert activities_in(events)[-2:] == ["checkout.refresh_payment", "checkout.confirm_payment"]
    assert paypal.requests_to("POST", captures) == [], "PayPal says not approved: no capture"
    still = await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
    assert still.json()["status"] == "pending"

    paypal.approve(paypal_order)
    approved = paypal.order_event(paypal_order)
    forged = paypal_delivery(paypal, approved)
    forged["content"] = forged["content"].replace(b"APPROVED", b"COMPLETED")
    rejected = await api.request("POST", PAYPAL_HOOK, **forged)
    assert rejected.status_code == 401 and rejected.json()["error"] == "invalid_signature"
    made_up = await api.request(
        "POST",
        PAYPAL_HOOK,
        content=json.dumps(approved).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert made_up.status_code == 401 and made_up.json()["error"] == "invalid_signature"
    assert signals_in(await history(worker.client, number)) == 1
    assert paypal.requests_to("POST", captures) == []

    received = await api.request("POST", PAYPAL_HOOK, **paypal_delivery(paypal, approved))
    assert received.status_code == 200 and received.json()["duplicate"] is False
    order = await order_when(api, buyer, order_id, "completed")
    assert len(order["license_ids"]) == 1
    [capture] = paypal.requests_to("POST", captures)
    assert capture.headers["paypal-request-id"] == f"checkout:{number}:confirm"

    back = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
    )
    assert back.status_code == 200 and back.json()["status"] == "completed"
    assert back.json()["license_ids"] == order["license_ids"]
    captured = paypal.capture_event(paypal_order)
    late = await api.request("POST", PAYPAL_HOOK, **paypal_delivery(paypal, captured))
    assert late.status_code == 200 and late.json()["duplicate"] is False
    assert len(paypal.requests_to("POST", captures)) == 1, "captured exactly once"
    assert await count(committed, License, License.user_id == buyer.id) == 1


# --- the buyer cancels a pending payment ------------------------------------------------


async def cancel(api, buyer, order_id: int):
    return await api.request("POST", f"/api/v1/marketplace/orders/{order_id}/cancel", as_user=buyer)


async def test_a_stripe_payment_left_at_3ds_is_cancelled_at_stripe_and_the_cart_checks_out_again(
    committed_api, committed, emulator, buy, worker
):
    api = committed_api
    buyer, started = await buy(
        "18.00", gateway="stripe", payment_method=await emulator.card(NEEDS_3DS)
    )
    order_id, number = started["order"]["id"], started["order"]["order_number"]
    pending = await awaiting_buyer(api, buyer, order_id)
    intent_id = pending["payment"]["payment_id"]
    client_secret = pending["payment"]["next_action"]["client_secret"]

    cancelled = await cancel(api, buyer, order_id)

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["next_step"], body["settled"]) == (
        "cancelled",
        "check_out_again",
        True,
    )
    assert body["payment"]["status"] == "canceled" and body["payment"]["next_action"] is None
    assert (await intent_at_stripe(emulator, intent_id))["status"] == "canceled"
    assert len(await emulator.requests("POST", f"/v1/payment_intents/{intent_id}/cancel")) == 1
    assert await emulator.authenticate(intent_id, client_secret, success=True) != 200, (
        "the old client_secret cannot pay the cancelled order"
    )
    assert (await intent_at_stripe(emulator, intent_id))["status"] == "canceled"
    await worker.client.get_workflow_handle(processes.Checkout.workflow_id(number)).result()
    assert await count(committed, License, License.user_id == buyer.id) == 0

    again = await api.request(
        "POST",
        CHECKOUT,
        as_user=buyer,
        json={"gateway": "stripe", "payment_method": await emulator.card(SUCCEEDS)},
    )
    assert again.status_code == 202, again.text
    paid = await order_when(api, buyer, again.json()["order"]["id"], "completed")
    assert len(paid["license_ids"]) == 1
    assert paid["payment"]["payment_id"] != intent_id


async def test_a_stripe_payment_authenticated_before_the_cancel_wins(
    committed_api, committed, emulator, buy, worker
):
    """The buyer passed 3-D Secure in Stripe.js, and the cancel arrives before the
    webhook: Stripe will not cancel a succeeded intent, so the order is paid and the cancel
    answers ``order_paid``."""
    api = committed_api
    buyer, started = await buy(
        "17.00", gateway="stripe", payment_method=await emulator.card(NEEDS_3DS)
    )
    order_id = started["order"]["id"]
    pending = await awaiting_buyer(api, buyer, order_id)
    intent_id = pending["payment"]["payment_id"]
    secret = pending["payment"]["next_action"]["client_secret"]
    assert await emulator.authenticate(intent_id, secret, success=True) == 200

    refused = await cancel(api, buyer, order_id)

    assert refused.status_code == 409 and refused.json()["error"] == "order_paid"
    assert await emulator.requests("POST", f"/v1/payment_intents/{intent_id}/cancel") == []
    order = await order_when(api, buyer, order_id, "completed")
    assert len(order["license_ids"]) == 1
    assert (await intent_at_stripe(emulator, intent_id))["status"] == "succeeded"


async def test_a_cancelled_paypal_order_is_never_captured_even_when_approved_later(
    committed_api, committed, paypal, buy, worker
):
    """PayPal voids only authorizations; an order we never capture lapses by itself. A
    cancelled checkout never captures, whatever the buyer does on PayPal afterwards."""
    api = committed_api
    buyer, started = await buy("11.00", gateway="paypal")
    order_id, number = started["order"]["id"], started["order"]["order_number"]
    pending = await awaiting_buyer(api, buyer, order_id)
    paypal_order = pending["payment"]["payment_id"]

    cancelled = await cancel(api, buyer, order_id)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["payment"]["status"] == "canceled"
    await worker.client.get_workflow_handle(processes.Checkout.workflow_id(number)).result()
    paypal.approve(paypal_order)
    approved = await api.request(
        "POST", PAYPAL_HOOK, **paypal_delivery(paypal, paypal.order_event(paypal_order))
    )
    assert approved.status_code == 200, approved.text
    late = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
    )
    assert late.status_code == 200 and late.json()["status"] == "cancelled"
    assert paypal.requests_to("POST", f"{PAYPAL_ORDERS}/{paypal_order}/capture") == []
    assert await count(committed, License, License.user_id == buyer.id) == 0
