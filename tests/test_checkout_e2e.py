"""Checkout end to end through the local gateway: HTTP API → checkout workflow on the dev
server → worker activities → Postgres, the gateway's own records, and the mail folder."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.modules import ModuleStatus
from models.commerce import Coupon, EarningEntry, License, Order, Subscription
from models.platform import PlatformSetting
from tests.helpers import eventually
from worker import build_worker

pytestmark = pytest.mark.workflow
GOOD, DECLINED, NEEDS_3DS = "4242424242424242", "4000000000000002", "4000000000003220"
CHECKOUT = "/api/v1/marketplace/checkout"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"checkout_confirm_timeout": timedelta(seconds=4)})


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


@pytest.fixture
async def shop(make_committed):
    _, publisher = await make_committed.publisher()

    async def module(price: str, **fields):
        return await make_committed.module(
            publisher,
            status=ModuleStatus.PUBLISHED,
            license_type=fields.pop("license_type", "paid"),
            price=Decimal(price),
            **fields,
        )

    return publisher, module


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


async def test_a_paid_checkout_issues_licenses_books_earnings_and_sends_a_receipt(
    committed_api, make_committed, committed, worker, shop, settings
):
    api = committed_api
    _, module = shop
    async with committed() as session:
        session.add(PlatformSetting(key="tax_rate_percent", value="10"))
        await session.commit()
    buyer = await make_committed.user()
    plugin = await module("49.99")
    monthly = await module("10.00", license_type="subscription", subscription_period="monthly")
    await fill_cart(api, buyer, plugin, monthly)

    started = await api.request(
        "POST",
        CHECKOUT,
        as_user=buyer,
        json={"payment_method": GOOD, "billing_name": "Ada Buyer"},
        headers={"Idempotency-Key": "cart-1"},
    )
    assert started.status_code == 202, started.text
    body = started.json()
    order_id = body["order"]["id"]
    assert body["workflow_id"] == f"checkout-{body['order']['order_number']}"
    assert body["order"]["total"] == "65.99"
    assert body["order"]["tax"] == "6.00"

    order = await order_when(api, buyer, order_id, "completed")
    assert order["payment"]["status"] == "succeeded"
    assert len(order["license_ids"]) == 2
    assert order["invoice_url"] == f"/api/v1/marketplace/orders/{order_id}/invoice"

    retried = await api.request(
        "POST",
        CHECKOUT,
        as_user=buyer,
        json={"payment_method": GOOD},
        headers={"Idempotency-Key": "cart-1"},
    )
    assert retried.status_code == 202 and retried.json()["order"]["id"] == order_id
    cart = await api.request("GET", "/api/v1/marketplace/cart", as_user=buyer)
    assert cart.json()["items"] == []

    licenses = (await api.request("GET", "/api/v1/marketplace/licenses", as_user=buyer)).json()
    by_module = {row["module_slug"]: row for row in licenses}
    assert by_module[plugin.slug]["license_type"] == "purchase"
    assert by_module[plugin.slug]["expires_at"] is None
    assert by_module[monthly.slug]["license_type"] == "subscription"
    assert by_module[monthly.slug]["expires_at"] is not None

    async with committed() as session:
        earnings = (
            await session.scalars(select(EarningEntry).where(EarningEntry.order_id == order_id))
        ).all()
        subscription = await session.scalar(
            select(Subscription).where(Subscription.user_id == buyer.id)
        )
    assert sorted((e.gross, e.commission, e.net) for e in earnings) == [
        (Decimal("10.00"), Decimal("3.00"), Decimal("7.00")),
        (Decimal("49.99"), Decimal("15.00"), Decimal("34.99")),
    ]
    assert subscription is not None and subscription.status == "active"
    async with committed() as session:
        license_row = await session.get(License, subscription.license_id)
    assert license_row.subscription_id.startswith(f"subscription-{license_row.id}-")
    handle = worker.client.get_workflow_handle(license_row.subscription_id)
    assert (await handle.describe()).status.name == "RUNNING"
    await handle.terminate()

    number = order["order_number"]
    receipt = settings.mail_dir / f"receipt-{number}.eml"

    async def receipt_sent() -> bool:
        return receipt.exists()

    # The receipt goes out after the order is marked completed, not with it.
    assert await eventually(receipt_sent) and number in receipt.read_text()

    invoice = await api.request(
        "GET", f"/api/v1/marketplace/orders/{order_id}/invoice", as_user=buyer
    )
    assert invoice.status_code == 200
    assert invoice.headers["content-type"] == "application/pdf"
    assert invoice.content.startswith(b"%PDF")
    stranger = await make_committed.user()
    hidden = await api.request(
        "GET", f"/api/v1/marketplace/orders/{order_id}/invoice", as_user=stranger
    )
    assert hidden.status_code == 404


async def test_a_declined_card_fails_the_order_and_gives_the_coupon_back(
    committed_api, make_committed, committed, worker, shop
):
    api = committed_api
    _, module = shop
    async with committed() as session:
        session.add(Coupon(code="ONCE", kind="percent", value=Decimal("50"), max_redemptions=1))
        await session.commit()
    buyer = await make_committed.user()
    plugin = await module("20.00")
    await fill_cart(api, buyer, plugin)
    started = await api.request(
        "POST",
        CHECKOUT,
        as_user=buyer,
        json={"payment_method": DECLINED, "coupon_code": "once"},
    )
    assert started.status_code == 202, started.text
    assert started.json()["order"]["total"] == "10.00"
    order = await order_when(api, buyer, started.json()["order"]["id"], "failed")
    assert order["failure_code"] == "card_declined"
    assert order["license_ids"] == []
    assert await count(committed, License, License.user_id == buyer.id) == 0
    assert await count(committed, EarningEntry, EarningEntry.order_id == order["id"]) == 0
    async with committed() as session:
        coupon = await session.scalar(select(Coupon).where(Coupon.code == "ONCE"))
    assert coupon.redemptions == 0, "an unpaid order gives its coupon use back"


async def test_a_payment_needing_confirmation_waits_for_the_buyer(
    committed_api, make_committed, worker, shop
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    plugin = await module("15.00")
    await fill_cart(api, buyer, plugin)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": NEEDS_3DS})
    number = started.json()["order"]["order_number"]
    order_id = started.json()["order"]["id"]

    async def awaiting():
        body = (
            await api.request("GET", f"/api/v1/marketplace/orders/{order_id}", as_user=buyer)
        ).json()
        return body if body["payment"]["status"] == "requires_action" else None

    pending = await eventually(awaiting)
    assert pending and pending["status"] == "pending"
    assert pending["payment"]["next_action"]["url"].endswith("/checkout/confirm")

    stranger = await make_committed.user()
    foreign = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=stranger, json={"order_number": number}
    )
    assert foreign.status_code == 404

    confirmed = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert len(confirmed.json()["license_ids"]) == 1
    again = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
    )
    assert (
        again.status_code == 200 and again.json()["license_ids"] == confirmed.json()["license_ids"]
    )


async def test_a_payment_never_confirmed_expires_without_a_license(
    committed_api, make_committed, committed, worker, shop, settings
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    plugin = await module("15.00")
    await fill_cart(api, buyer, plugin)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": NEEDS_3DS})
    order = await order_when(api, buyer, started.json()["order"]["id"], "expired")
    assert order["failure_code"] == "payment_not_confirmed"
    late = await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": order["order_number"]}
    )
    assert late.status_code == 200 and late.json()["status"] == "expired"
    assert await count(committed, License, License.user_id == buyer.id) == 0
    state = json.loads(
        (settings.payments_dir / f"{order['payment']['payment_id']}.json").read_text()
    )
    assert state["status"] == "canceled", "the gateway's payment is cancelled too"


async def test_a_refund_revokes_licenses_and_reverses_earnings_once(
    committed_api, make_committed, committed, worker, shop, settings
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    plugin = await module("30.00")
    await fill_cart(api, buyer, plugin)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    order = await order_when(api, buyer, started.json()["order"]["id"], "completed")
    license_id = order["license_ids"][0]

    stranger = await make_committed.user()
    foreign = await api.request(
        "POST", f"/api/v1/marketplace/orders/{order['id']}/refund", as_user=stranger, json={}
    )
    assert foreign.status_code == 404
    asked = await api.request(
        "POST",
        f"/api/v1/marketplace/orders/{order['id']}/refund",
        as_user=buyer,
        json={"reason": "not what I needed"},
    )
    assert asked.status_code == 202, asked.text
    refunded = await order_when(api, buyer, order["id"], "refunded")
    assert refunded["refunded_amount"] == "30.00"
    assert (await make_committed.reload(License, license_id)).status == "revoked"
    async with committed() as session:
        rows = (
            await session.scalars(select(EarningEntry).where(EarningEntry.order_id == order["id"]))
        ).all()
    assert len(rows) == 2 and sum(row.net for row in rows) == 0
    assert sum(row.gross for row in rows) == 0

    again = await api.request(
        "POST", f"/api/v1/marketplace/orders/{order['id']}/refund", as_user=buyer, json={}
    )
    assert again.status_code == 409 and again.json()["error"] == "already_refunded"
    state = json.loads(
        (settings.payments_dir / f"{order['payment']['payment_id']}.json").read_text()
    )
    assert list(state["refunds"].values()) == [3000], "refunded exactly once, in full"


async def test_buyers_refund_only_within_the_window_admins_any_time(
    committed_api, make_committed, committed, worker, shop
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    admin = await make_committed.admin()
    plugin = await module("12.00")
    await fill_cart(api, buyer, plugin)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    order = await order_when(api, buyer, started.json()["order"]["id"], "completed")
    async with committed() as session:
        row = await session.get(Order, order["id"])
        row.paid_at = row.paid_at - timedelta(days=30)
        await session.commit()
    late = await api.request(
        "POST", f"/api/v1/marketplace/orders/{order['id']}/refund", as_user=buyer, json={}
    )
    assert late.status_code == 403 and late.json()["error"] == "refund_window_closed"
    by_admin = await api.request(
        "POST", f"/api/v1/marketplace/orders/{order['id']}/refund", as_user=admin, json={}
    )
    assert by_admin.status_code == 202, by_admin.text
    await order_when(api, buyer, order["id"], "refunded")


async def test_checkout_refusals(committed_api, make_committed, worker, shop):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    empty = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    assert empty.status_code == 400 and empty.json()["error"] == "empty_cart"
    await fill_cart(api, buyer, await module("5.00"))
    no_card = await api.request("POST", CHECKOUT, as_user=buyer, json={})
    assert no_card.status_code == 400 and no_card.json()["error"] == "payment_method_required"
    stripe = await api.request(
        "POST", CHECKOUT, as_user=buyer, json={"gateway": "stripe", "payment_method": "pm_x"}
    )
    assert stripe.status_code == 400 and stripe.json()["error"] == "gateway_unavailable"
    unknown = await api.request(
        "POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD, "coupon_code": "NOPE"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "coupon_not_found"
    anonymous = await api.request("POST", CHECKOUT, json={"payment_method": GOOD})
    assert anonymous.status_code == 401
    cart = await api.request("GET", "/api/v1/marketplace/cart", as_user=buyer)
    assert len(cart.json()["items"]) == 1, "a refused checkout leaves the cart as it was"


async def test_when_checkout_cannot_start_nothing_is_lost(
    committed_api, make_committed, committed, shop, monkeypatch
):
    from services import checkout as checkout_service

    async def unavailable(*args, **kwargs):
        raise RuntimeError("temporal is down")

    monkeypatch.setattr(checkout_service, "start_checkout", unavailable)
    api = committed_api
    _, module = shop
    async with committed() as session:
        session.add(Coupon(code="KEEP", kind="percent", value=Decimal("10"), max_redemptions=1))
        await session.commit()
    buyer = await make_committed.user()
    plugin = await module("8.00")
    await fill_cart(api, buyer, plugin)
    refused = await api.request(
        "POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD, "coupon_code": "KEEP"}
    )
    assert refused.status_code == 503 and refused.json()["error"] == "checkout_unavailable"
    cart = (await api.request("GET", "/api/v1/marketplace/cart", as_user=buyer)).json()
    assert [item["module_id"] for item in cart["items"]] == [plugin.id]
    async with committed() as session:
        coupon = await session.scalar(select(Coupon).where(Coupon.code == "KEEP"))
        order = await session.scalar(select(Order).where(Order.user_id == buyer.id))
    assert coupon.redemptions == 0
    assert (order.status, order.failure_code) == ("failed", "checkout_unavailable")


# --- the cart is cleared when the order is paid, not when it is made ----------------------


async def cart_modules(api, buyer) -> list[int]:
    cart = await api.request("GET", "/api/v1/marketplace/cart", as_user=buyer)
    assert cart.status_code == 200, cart.text
    return [item["module_id"] for item in cart.json()["items"]]


async def test_a_declined_card_leaves_the_cart_as_it_was_and_a_new_checkout_pays(
    committed_api, make_committed, worker, shop
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    plugins = [await module("20.00"), await module("5.00")]
    await fill_cart(api, buyer, *plugins)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": DECLINED})
    assert started.status_code == 202, started.text
    failed = await order_when(api, buyer, started.json()["order"]["id"], "failed")
    assert failed["failure_code"] == "card_declined"
    assert failed["failure_reason"] == "The card was declined."
    assert (failed["settled"], failed["next_step"]) == (True, "check_out_again")
    assert failed["licenses"] == []
    assert await cart_modules(api, buyer) == [m.id for m in plugins]

    again = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    assert again.status_code == 202, again.text
    assert again.json()["order"]["id"] != failed["id"]
    paid = await order_when(api, buyer, again.json()["order"]["id"], "completed")
    assert len(paid["license_ids"]) == 2
    assert await cart_modules(api, buyer) == []


async def test_a_pending_payment_keeps_the_cart_refuses_a_second_order_and_payment_takes_only_its_lines(  # noqa: E501
    committed_api, make_committed, committed, worker, shop
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    bought, later = await module("15.00"), await module("3.00")
    await fill_cart(api, buyer, bought)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": NEEDS_3DS})
    assert started.status_code == 202, started.text
    order = started.json()["order"]

    async def awaiting():
        body = (
            await api.request("GET", f"/api/v1/marketplace/orders/{order['id']}", as_user=buyer)
        ).json()
        return body["payment"]["status"] == "requires_action"

    assert await eventually(awaiting)
    waiting = (
        await api.request("GET", f"/api/v1/marketplace/orders/{order['id']}", as_user=buyer)
    ).json()
    assert (waiting["settled"], waiting["next_step"]) == (False, "confirm_payment")
    assert waiting["failure_reason"] is None
    assert await cart_modules(api, buyer) == [bought.id], "nothing is paid yet"

    await fill_cart(api, buyer, later)
    twice = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    assert twice.status_code == 409, twice.text
    assert twice.json()["error"] == "checkout_pending"
    assert order["order_number"] in twice.json()["detail"]
    assert twice.headers["location"] == f"/api/v1/marketplace/orders/{order['id']}"
    assert await count(committed, Order, Order.user_id == buyer.id) == 1

    confirmed = await api.request(
        "POST",
        f"{CHECKOUT}/confirm",
        as_user=buyer,
        json={"order_number": order["order_number"]},
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed"
    done = confirmed.json()
    assert (done["settled"], done["next_step"]) == (True, "none")
    assert [
        (lic["id"], lic["module_id"], lic["module_slug"], lic["status"]) for lic in done["licenses"]
    ] == [(done["license_ids"][0], bought.id, bought.slug, "active")]
    assert await cart_modules(api, buyer) == [later.id], "the line added meanwhile stays"


async def test_an_expired_payment_leaves_the_cart_and_frees_it_for_a_new_checkout(
    committed_api, make_committed, worker, shop
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    plugin = await module("15.00")
    await fill_cart(api, buyer, plugin)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": NEEDS_3DS})
    expired = await order_when(api, buyer, started.json()["order"]["id"], "expired")
    assert expired["failure_code"] == "payment_not_confirmed"
    assert expired["failure_reason"] == "The payment was not confirmed in time."
    assert expired["next_step"] == "check_out_again"
    assert await cart_modules(api, buyer) == [plugin.id]
    again = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    assert again.status_code == 202, again.text
    await order_when(api, buyer, again.json()["order"]["id"], "completed")
    assert await cart_modules(api, buyer) == []
