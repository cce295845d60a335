"""Authorization matrix, the cart: the effect of every allowed cell of these routes. The
table (and every refused cell) is in ``test_authorization_matrix``; the world the cells
run in, built once for this module with each cell in a savepoint of it, in
``tests.authorization_world``. Beside test_cart_api.py.
"""

from decimal import Decimal

import pytest

from models.commerce import CartItem
from models.module import MarketplaceModule
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CART,
    CELL_ARGS,
    Check,
    cart_rows,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


def cart_line(item_id: int, module: MarketplaceModule) -> dict:
    """A cart line as the API shows it."""
    return {
        "id": item_id,
        "module_id": module.id,
        "module_slug": module.slug,
        "module_name": module.display_name,
        "license_type": "paid",
        "unit_price": str(module.price),
        "currency": "USD",
    }


def check_totals(body: dict, subtotal: str) -> None:
    totals = body["totals"]
    assert totals["currency"] == "USD" and totals["subtotal"] == subtotal
    assert totals["discount"] == "0.00"
    assert Decimal(totals["total"]) == Decimal(subtotal) + Decimal(totals["tax"])


async def check_cart(r, w, role, env):
    """The owner sees their one line, priced; everyone else an empty cart."""
    body = r.json()
    if role != "owner":
        assert body == {"items": [], "totals": None}, "another account's cart leaked"
        return
    assert body["items"] == [cart_line(w.cart_item.id, w.carted)]
    check_totals(body, "5.00")


async def check_cart_added(r, w, role, env):
    """The module is added to the caller's own cart (after the owner's existing line)."""
    body = r.json()
    stored = await cart_rows(env, w.callers[role])
    assert stored[-1][1] == w.for_sale.id
    expected = [cart_line(stored[-1][0], w.for_sale)]
    if role == "owner":
        expected.insert(0, cart_line(w.cart_item.id, w.carted))
    assert body["items"] == expected
    assert [(line["id"], line["module_id"]) for line in expected] == stored
    check_totals(body, "17.50" if role == "owner" else "12.50")
    if role != "owner":
        assert await cart_rows(env, w.callers["owner"]) == [(w.cart_item.id, w.carted.id)]


async def check_cart_item_removed(r, w, role, env):
    assert r.content == b""
    assert await reload(env, CartItem, w.cart_item.id) is None
    assert await cart_rows(env, w.callers[role]) == []


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", CART): check_cart,
    ("POST", CART + "/add"): check_cart_added,
    ("DELETE", CART + "/{item_id}"): check_cart_item_removed,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
