"""Authorization matrix, coupons: the effect of every allowed cell of these routes. The
table (and every refused cell) is in ``test_authorization_matrix``; the world the cells
run in, built once for this module with each cell in a savepoint of it, in
``tests.authorization_world``. Beside test_coupons_api.py.
"""

import json
from decimal import Decimal

import pytest

from models.commerce import Coupon
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    CP,
    Check,
    audited,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_coupon_created(r, w, role, env):
    body = r.json()
    sent = json.loads(r.request.content)
    assert body["code"] == sent["code"].upper() and body["kind"] == "percent"
    assert Decimal(body["value"]) == 15 and body["active"] is True
    stored = await reload(env, Coupon, body["id"])
    assert stored.code == body["code"] and stored.created_by == w.callers[role].id
    [(actor, changes)] = await audited(env, "coupon.create", stored.id)
    assert actor == w.callers[role].id
    assert (changes["code"], changes["kind"], Decimal(changes["value"])) == (
        sent["code"],
        "percent",
        15,
    )


async def check_coupon_list(r, w, role, env):
    body = r.json()
    assert w.coupon.id in [c["id"] for c in body["items"]] and body["total"] >= 1


async def check_coupon_read(r, w, role, env):
    body = r.json()
    assert body["id"] == w.coupon.id and body["code"] == w.coupon.code
    assert body["kind"] == "percent" and Decimal(body["value"]) == 10 and body["active"]


async def check_coupon_updated(r, w, role, env):
    """The limit and minimum change; the code, kind and value stay; audited."""
    body = r.json()
    assert body["max_redemptions"] == 50 and Decimal(body["min_subtotal"]) == 10
    stored = await reload(env, Coupon, w.coupon.id)
    assert (stored.code, stored.kind, stored.value) == (w.coupon.code, "percent", 10)
    assert stored.max_redemptions == 50 and stored.min_subtotal == Decimal("10.00")
    assert stored.updated_by == w.callers[role].id
    assert await audited(env, "coupon.update", w.coupon.id) == [
        (w.callers[role].id, {"max_redemptions": 50, "min_subtotal": "10.00"})
    ]


async def check_coupon_deactivated(r, w, role, env):
    assert r.content == b""
    stored = await reload(env, Coupon, w.coupon.id)
    assert stored.active is False and stored.updated_by == w.callers[role].id
    assert await audited(env, "coupon.deactivate", w.coupon.id) == [
        (w.callers[role].id, {"active": False})
    ]


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", CP): check_coupon_created,
    ("GET", CP): check_coupon_list,
    ("GET", CP + "/{coupon_id}"): check_coupon_read,
    ("PUT", CP + "/{coupon_id}"): check_coupon_updated,
    ("DELETE", CP + "/{coupon_id}"): check_coupon_deactivated,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
