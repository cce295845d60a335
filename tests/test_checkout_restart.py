"""A worker killed after the gateway charged the buyer and before anything was recorded:
another worker finishes the checkout with one charge and one license per line, and the
bought lines leave the cart once (a line added meanwhile stays)."""

import asyncio
import json
import os
import signal
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from domain.modules import ModuleStatus
from models.commerce import EarningEntry, License, Order
from tests.helpers import wait_until
from tests.test_checkout_e2e import GOOD, cart_modules, fill_cart
from tests.test_ingestion_restart import start_worker_process
from worker import build_worker

pytestmark = pytest.mark.workflow


@pytest.fixture
def settings(settings):
    """Steps time out in seconds, not the minute production allows: the killed worker's
    step is tried again on the survivor that much sooner."""
    return settings.model_copy(update={"activity_timeout": timedelta(seconds=5)})


async def test_a_worker_killed_after_the_charge_is_replaced_without_charging_twice(
    committed_api, make_committed, committed, settings, database_url, temporal_dev
):
    api = committed_api
    _, publisher = await make_committed.publisher()
    modules = [
        await make_committed.module(
            publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal(price)
        )
        for price in ("20.00", "7.50")
    ]
    later = await make_committed.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("1.00")
    )
    buyer = await make_committed.user()
    await fill_cart(api, buyer, *modules)
    target = temporal_dev.client.service_client.config.target_host

    async with committed() as blocker:
        # The activity that created the payment records it next (saving the buyer's payment
        # profile); holding that table makes the worker stop right after the charge.
        await blocker.execute(text("LOCK TABLE marketplace_payment_profiles IN EXCLUSIVE MODE"))
        doomed = start_worker_process(settings, database_url, target, settings.osv_url)
        try:
            started = await api.request(
                "POST", "/api/v1/marketplace/checkout", as_user=buyer, json={"payment_method": GOOD}
            )
            assert started.status_code == 202, started.text
            order_id = started.json()["order"]["id"]

            async def charged() -> bool:
                return any(
                    json.loads(path.read_text()).get("status") == "succeeded"
                    for path in settings.payments_dir.glob("lpay_*.json")
                )

            await wait_until(charged, "the charge")
            # Charged but not recorded: the cart is still the buyer's; a line added now
            # is not part of the order and stays after it is paid.
            assert await cart_modules(api, buyer) == [m.id for m in modules]
            await fill_cart(api, buyer, later)
        finally:
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=10)
        await blocker.rollback()

    async with build_worker(temporal_dev.client, settings, committed):
        handle = temporal_dev.client.get_workflow_handle(started.json()["workflow_id"])
        progress = await asyncio.wait_for(handle.result(), timeout=120)
    assert progress["stage"] == "completed"

    payments = [json.loads(p.read_text()) for p in settings.payments_dir.glob("lpay_*.json")]
    assert [(p["amount"], p["status"]) for p in payments] == [(2750, "succeeded")]
    async with committed() as session:
        order = await session.get(Order, order_id)
        licensed = await session.execute(
            select(License.module_id, func.count()).group_by(License.module_id)
        )
        ledger = await session.scalar(select(func.count()).select_from(EarningEntry))
    assert order.status == "completed" and order.payment_intent_id == payments[0]["id"]
    assert sorted(licensed.all()) == sorted((m.id, 1) for m in modules)
    assert ledger == 2
    assert await cart_modules(api, buyer) == [later.id], "the bought lines left, once"
