"""Cancelling a pending payment end to end through the local gateway: HTTP API → the
checkout workflow's ``cancel`` update on the dev server → worker activities → Postgres and
the gateway's own records. (Stripe and PayPal: ``test_checkout_gateways_e2e``.)

A buyer who leaves the confirmation step (3-D Secure) used to be stuck: a new checkout of
the same cart was refused with ``checkout_pending`` until the order expired."""

import asyncio
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

from domain import processes
from integrations.payments.local import LocalGateway
from models.commerce import Coupon, License
from tests import test_checkout_e2e
from tests.helpers import eventually, terminate_if_running
from tests.test_checkout_e2e import (
    CHECKOUT,
    DECLINED,
    GOOD,
    NEEDS_3DS,
    cart_modules,
    count,
    fill_cart,
    order_when,
)
from worker import build_worker

pytestmark = pytest.mark.workflow
ORDERS = "/api/v1/marketplace/orders"

shop = test_checkout_e2e.shop
"""The checkout tests' fixture: a publisher and a way to list its modules for sale."""


@pytest.fixture
def settings(settings):
    """Long enough that no order here expires on its own: only a cancel closes it."""
    return settings.model_copy(update={"checkout_confirm_timeout": timedelta(minutes=2)})


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


@pytest.fixture
async def started(committed_api, worker):
    """Check out the buyer's cart; checkouts still running at the end are terminated."""
    workflow_ids: list[str] = []

    async def checkout(buyer, card: str, **body) -> dict:
        response = await committed_api.request(
            "POST", CHECKOUT, as_user=buyer, json={"payment_method": card, **body}
        )
        assert response.status_code == 202, response.text
        workflow_ids.append(response.json()["workflow_id"])
        return response.json()["order"]

    yield checkout
    for workflow_id in workflow_ids:
        await terminate_if_running(worker.client.get_workflow_handle(workflow_id))


async def awaiting_buyer(api, buyer, order_id: int) -> dict:
    """The order once its payment waits for the buyer's confirmation."""

    async def waiting():
        body = (await api.request("GET", f"{ORDERS}/{order_id}", as_user=buyer)).json()
        return body if body["payment"]["status"] == "requires_action" else None

    body = await eventually(waiting)
    assert body, f"order {order_id} never waited for the buyer"
    return body


async def cancel(api, buyer, order_id: int):
    return await api.request("POST", f"{ORDERS}/{order_id}/cancel", as_user=buyer)


async def confirm(api, buyer, order_number: str):
    return await api.request(
        "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": order_number}
    )


def at_gateway(settings, payment_id: str) -> dict:
    return json.loads((settings.payments_dir / f"{payment_id}.json").read_text())


async def redemptions(sessions, code: str) -> int:
    async with sessions() as session:
        return (await session.scalar(select(Coupon).where(Coupon.code == code))).redemptions


async def activities_of(client, order_number: str) -> list[str]:
    handle = client.get_workflow_handle(processes.Checkout.workflow_id(order_number))
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_a_buyer_who_left_the_confirmation_step_cancels_and_checks_out_again_at_once(
    committed_api, make_committed, committed, worker, shop, settings, started
):
    api = committed_api
    _, module = shop
    async with committed() as session:
        session.add(Coupon(code="ONCE-C", kind="percent", value=Decimal("50"), max_redemptions=1))
        await session.commit()
    buyer = await make_committed.user()
    plugin = await module("20.00")
    await fill_cart(api, buyer, plugin)
    order = await started(buyer, NEEDS_3DS, coupon_code="ONCE-C")
    waiting = await awaiting_buyer(api, buyer, order["id"])
    assert (waiting["next_step"], waiting["cancellable"]) == ("confirm_payment", True)
    assert await redemptions(committed, "ONCE-C") == 1
    blocked = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    assert blocked.status_code == 409 and blocked.json()["error"] == "checkout_pending"

    for other in (await make_committed.user(), await make_committed.admin()):
        foreign = await cancel(api, other, order["id"])
        assert foreign.status_code == 404 and foreign.json()["error"] == "order_not_found"
    assert (await api.request("GET", f"{ORDERS}/{order['id']}", as_user=buyer)).json()[
        "status"
    ] == "pending", "a stranger's cancel changed nothing"

    cancelled = await cancel(api, buyer, order["id"])

    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert (body["status"], body["failure_code"]) == ("cancelled", "cancelled_by_buyer")
    assert body["failure_reason"] == "You cancelled the payment; nothing was charged."
    assert (body["settled"], body["next_step"], body["cancellable"]) == (
        True,
        "check_out_again",
        False,
    )
    assert body["payment"]["status"] == "canceled" and body["payment"]["next_action"] is None
    assert body["license_ids"] == []
    payment_id = body["payment"]["payment_id"]
    assert at_gateway(settings, payment_id)["status"] == "canceled"
    assert await redemptions(committed, "ONCE-C") == 0, "the coupon use is given back"
    assert await cart_modules(api, buyer) == [plugin.id], "the cart is as it was"

    again = await cancel(api, buyer, order["id"])
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    late = await confirm(api, buyer, order["order_number"])
    assert late.status_code == 200 and late.json()["status"] == "cancelled"
    assert at_gateway(settings, payment_id)["status"] == "canceled", "never paid after all"
    handle = worker.client.get_workflow_handle(
        processes.Checkout.workflow_id(order["order_number"])
    )
    assert (await handle.result())["stage"] == "cancelled"
    activities = await activities_of(worker.client, order["order_number"])
    assert activities.count("checkout.cancel_payment") == 1
    assert activities.count("checkout.close_unpaid") == 1
    assert "checkout.mark_paid" not in activities

    fresh = await started(buyer, GOOD, coupon_code="ONCE-C")
    assert fresh["id"] != order["id"]
    paid = await order_when(api, buyer, fresh["id"], "completed")
    assert len(paid["license_ids"]) == 1 and paid["discount"] == "10.00"
    assert await cart_modules(api, buyer) == []
    assert await redemptions(committed, "ONCE-C") == 1


async def test_an_order_that_is_not_pending_is_not_cancelled(
    committed_api, make_committed, committed, worker, shop, started
):
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    await fill_cart(api, buyer, await module("12.00"))
    order = await order_when(api, buyer, (await started(buyer, GOOD))["id"], "completed")

    refused = await cancel(api, buyer, order["id"])

    assert refused.status_code == 409 and refused.json()["error"] == "order_paid"
    after = (await api.request("GET", f"{ORDERS}/{order['id']}", as_user=buyer)).json()
    assert after["status"] == "completed" and after["license_ids"] == order["license_ids"]
    [license_id] = order["license_ids"]
    assert (await make_committed.reload(License, license_id)).status == "active"

    await fill_cart(api, buyer, await module("13.00"))
    failed = await order_when(api, buyer, (await started(buyer, DECLINED))["id"], "failed")
    assert failed["cancellable"] is False
    closed = await cancel(api, buyer, failed["id"])
    assert closed.status_code == 409 and closed.json()["error"] == "order_not_pending"
    assert (await api.request("GET", f"{ORDERS}/{failed['id']}", as_user=buyer)).json()[
        "failure_code"
    ] == "card_declined"


async def test_a_payment_that_went_through_first_wins_over_the_cancel(
    committed_api, make_committed, committed, worker, shop, settings, started
):
    """The buyer passed 3-D Secure at the bank, but the news has not reached the checkout
    yet when the cancel does: the gateway's answer to the cancel says paid, so the order
    is paid and licensed and the cancel answers 409 ``order_paid``."""
    api = committed_api
    _, module = shop
    buyer = await make_committed.user()
    plugin = await module("15.00")
    await fill_cart(api, buyer, plugin)
    order = await started(buyer, NEEDS_3DS)
    waiting = await awaiting_buyer(api, buyer, order["id"])
    payment_id = waiting["payment"]["payment_id"]
    gateway = LocalGateway(settings.payments_dir, settings.public_base_url)
    await gateway.confirm_payment(payment_id, "approved-at-the-bank")

    refused = await cancel(api, buyer, order["id"])

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "order_paid"
    paid = await order_when(api, buyer, order["id"], "completed")
    assert len(paid["license_ids"]) == 1 and paid["failure_code"] is None
    assert at_gateway(settings, payment_id)["status"] == "succeeded"
    assert await cart_modules(api, buyer) == []
    activities = await activities_of(worker.client, order["order_number"])
    assert "checkout.close_unpaid" not in activities


async def test_a_cancel_racing_a_confirmation_ends_in_exactly_one_outcome(
    committed_api, make_committed, committed, worker, shop, settings, started
):
    api = committed_api
    _, module = shop
    for attempt in range(3):
        buyer = await make_committed.user()
        plugin = await module(f"{20 + attempt}.00")
        await fill_cart(api, buyer, plugin)
        order = await started(buyer, NEEDS_3DS)
        waiting = await awaiting_buyer(api, buyer, order["id"])
        payment_id = waiting["payment"]["payment_id"]

        confirmed, cancelled = await asyncio.gather(
            confirm(api, buyer, order["order_number"]), cancel(api, buyer, order["id"])
        )

        assert confirmed.status_code == 200, confirmed.text
        handle = worker.client.get_workflow_handle(
            processes.Checkout.workflow_id(order["order_number"])
        )
        outcome = (await handle.result())["stage"]
        final = (await api.request("GET", f"{ORDERS}/{order['id']}", as_user=buyer)).json()
        licenses = await count(committed, License, License.user_id == buyer.id)
        activities = await activities_of(worker.client, order["order_number"])
        if cancelled.status_code == 200:
            assert cancelled.json()["status"] == "cancelled"
            assert confirmed.json()["status"] == "cancelled", "the confirm found it cancelled"
            assert (outcome, final["status"], licenses) == ("cancelled", "cancelled", 0)
            assert at_gateway(settings, payment_id)["status"] == "canceled"
            assert await cart_modules(api, buyer) == [plugin.id]
            assert "checkout.mark_paid" not in activities
        else:
            assert cancelled.status_code == 409, cancelled.text
            assert cancelled.json()["error"] == "order_paid"
            assert confirmed.json()["status"] in ("paid", "completed")
            assert (outcome, final["status"], licenses) == ("completed", "completed", 1)
            assert at_gateway(settings, payment_id)["status"] == "succeeded"
            assert await cart_modules(api, buyer) == []
            assert "checkout.close_unpaid" not in activities
