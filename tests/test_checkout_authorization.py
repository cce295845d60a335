"""Authorization matrix, checkout and orders: confirming, cancelling, invoices, refunds:
the effect of every allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_checkout_e2e.py and test_checkout_cancel_e2e.py.
"""

import contextlib
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader
from temporalio.service import RPCError

from domain.checkout import RefundInput
from models.commerce import Order
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    CO,
    ORD,
    Check,
    audited,
    cart_rows,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_checkout_started(r, w, role, env):
    """The owner's cart becomes a pending order for ``carted``, and stays as it is until
    the order is paid; the checkout workflow is started for it."""
    body = r.json()
    order = body["order"]
    workflow_id = f"checkout-{order['order_number']}"
    try:
        assert body["workflow_id"] == workflow_id
        assert body["status_url"] == f"{ORD}/{order['id']}"
        assert order["status"] == "pending" and order["payment"]["gateway"] == "local"
        assert [(i["module_id"], i["unit_price"]) for i in order["items"]] == [
            (w.carted.id, "5.00")
        ]
        assert order["subtotal"] == "5.00" and order["license_ids"] == []
        stored = await reload(env, Order, order["id"])
        assert stored.user_id == w.callers[role].id and stored.status == "pending"
        assert stored.total == Decimal(order["total"]) == Decimal("5.00") + stored.tax_amount
        assert await cart_rows(env, w.callers[role]) == [(w.cart_item.id, w.carted.id)], (
            "the cart is kept until the order is paid"
        )
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        # No worker takes this payment and the rows are rolled back: end the run.
        with contextlib.suppress(Exception):
            await env.temporal_client.get_workflow_handle(workflow_id).terminate("test done")


async def check_confirmed(r, w, role, env):
    """Confirming the settled order answers with it, changes nothing and asks no workflow."""
    body = r.json()
    assert body["id"] == w.order.id and body["order_number"] == w.order.order_number
    assert body["status"] == "completed" and body["license_ids"] == [w.sub_license.id]
    assert (await reload(env, Order, w.order.id)).status == "completed"
    handle = env.temporal_client.get_workflow_handle(f"checkout-{w.order.order_number}")
    with pytest.raises(RPCError):
        await handle.describe()


async def check_my_orders(r, w, role, env):
    """Each caller lists their own orders only (an admin too, who has none)."""
    body = r.json()
    if role != "owner":
        assert body["items"] == [] and body["total"] == 0, "another account's order leaked"
        return
    assert [o["id"] for o in body["items"]] == [w.order.id] and body["total"] == 1
    assert body["items"][0]["order_number"] == w.order.order_number


async def check_order_details(r, w, role, env):
    body = r.json()
    assert body["id"] == w.order.id and body["order_number"] == w.order.order_number
    assert body["status"] == "completed" and body["total"] == "9.00"
    assert [i["module_id"] for i in body["items"]] == [w.subscribed.id]
    assert body["license_ids"] == [w.sub_license.id]
    assert body["invoice_url"] == f"{ORD}/{w.order.id}/invoice"


async def check_invoice(r, w, role, env):
    """The order's invoice, a PDF naming the order and what it bought."""
    number = f"INV-{w.order.order_number.removeprefix('FV-')}"
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    printed = " ".join(page.extract_text() for page in PdfReader(BytesIO(r.content)).pages)
    assert number in printed and w.order.order_number in printed
    assert w.subscribed.display_name in printed and "9.00" in printed


async def check_refund_started(r, w, role, env):
    """Audited with who asked, and the refund workflow started (its buyer's, or an
    admin's); the order stays completed until that workflow refunds it."""
    caller = w.callers[role]
    # The cell gave the order a number of its own (``PREPARE``): the workflow's id.
    number = (await reload(env, Order, w.order.id)).order_number
    assert number != w.order.order_number
    handle = env.temporal_client.get_workflow_handle(f"refund-{number}")
    try:
        body = r.json()
        assert body["id"] == w.order.id and body["status"] == "completed"
        assert (await reload(env, Order, w.order.id)).status == "completed"
        assert await audited(env, "order.refund", w.order.id) == [
            (caller.id, {"reason": "not what I needed", "by_admin": role == "admin"})
        ]
        assert (await handle.describe()).status.name == "RUNNING"
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        [asked] = await env.temporal_client.data_converter.decode(
            started.input.payloads, [RefundInput]
        )
        assert asked.order_id == w.order.id and asked.requested_by == caller.id
        assert asked.initiated_by == ("admin" if role == "admin" else "buyer")
    finally:
        with contextlib.suppress(Exception):
            await handle.terminate("test done")


async def check_cancelled_again(r, w, role, env):
    """The buyer's cancel of an order cancelled before answers it as it is: nothing
    changes and no checkout workflow is asked."""
    body = r.json()
    assert body["id"] == w.order.id and body["status"] == "cancelled"
    assert body["failure_code"] == "cancelled_by_buyer"
    assert (body["settled"], body["next_step"], body["cancellable"]) == (
        True,
        "check_out_again",
        False,
    )
    stored = await reload(env, Order, w.order.id)
    assert (stored.status, stored.failure_code) == ("cancelled", "cancelled_by_buyer")
    handle = env.temporal_client.get_workflow_handle(f"checkout-{w.order.order_number}")
    with pytest.raises(RPCError):
        await handle.describe()


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", CO): check_checkout_started,
    ("POST", CO + "/confirm"): check_confirmed,
    ("GET", ORD): check_my_orders,
    ("GET", ORD + "/{order_id}"): check_order_details,
    ("GET", ORD + "/{order_id}/invoice"): check_invoice,
    ("POST", ORD + "/{order_id}/refund"): check_refund_started,
    ("POST", ORD + "/{order_id}/cancel"): check_cancelled_again,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
