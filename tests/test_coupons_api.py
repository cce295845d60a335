"""Coupons: admins define them, buyers preview them in the cart, checkout redeems them
within their limits."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.modules import ModuleStatus
from models.commerce import Coupon, Order
from models.platform import AuditLogEntry

COUPONS = "/api/v1/admin/marketplace/coupons"
CART = "/api/v1/marketplace/cart"


@pytest.fixture
async def seller(make):
    _, publisher = await make.publisher()

    async def paid(price: str):
        return await make.module(
            publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal(price)
        )

    return paid


async def create(api, admin, **fields):
    return await api.request("POST", COUPONS, as_user=admin, json=fields)


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"code": "BIG", "kind": "percent", "value": "101"}, 400, "invalid_amount"),
        ({"code": "ZERO", "kind": "percent", "value": "0"}, 400, "invalid_amount"),
        ({"code": "NOCUR", "kind": "fixed", "value": "5"}, 400, "coupon_currency_required"),
        (
            {"code": "YEN", "kind": "fixed", "value": "5.50", "currency": "JPY"},
            400,
            "invalid_amount",
        ),
        (
            {"code": "XXX", "kind": "fixed", "value": "5", "currency": "XYZ"},
            400,
            "unsupported_currency",
        ),
        (
            {
                "code": "BACK",
                "kind": "percent",
                "value": "10",
                "starts_at": "2026-12-01T00:00:00Z",
                "ends_at": "2026-11-01T00:00:00Z",
            },
            400,
            "invalid_coupon_window",
        ),
        ({"code": "a b", "kind": "percent", "value": "10"}, 422, None),
        ({"code": "OK1", "kind": "bogus", "value": "10"}, 422, None),
        (
            {"code": "OK2", "kind": "percent", "value": "10", "starts_at": "2026-12-01T00:00:00"},
            422,
            None,
        ),
        ({"code": "OK3", "kind": "percent", "value": "10.001"}, 422, None),
        ({"code": "OK4", "kind": "percent", "value": "10", "max_redemptions": 0}, 422, None),
        ({"code": "OK5", "kind": "percent", "value": "10", "module_ids": []}, 422, None),
    ],
)
async def test_a_coupon_that_could_never_apply_is_refused(api, make, fields, status, error):
    admin = await make.admin()
    response = await create(api, admin, **fields)
    assert response.status_code == status, response.text
    if error:
        assert response.json()["error"] == error


async def test_admins_create_update_and_deactivate_with_an_audit_trail(api, make, db):
    admin = await make.admin()
    created = await create(api, admin, code="spring-25", kind="percent", value="25")
    assert created.status_code == 201, created.text
    coupon = created.json()
    assert coupon["code"] == "SPRING-25" and coupon["redemptions"] == 0
    duplicate = await create(api, admin, code="Spring-25", kind="percent", value="10")
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "coupon_code_taken"

    changed = await api.request(
        "PUT", f"{COUPONS}/{coupon['id']}", as_user=admin, json={"max_redemptions": 100}
    )
    assert changed.status_code == 200 and changed.json()["max_redemptions"] == 100
    frozen = await api.request(
        "PUT", f"{COUPONS}/{coupon['id']}", as_user=admin, json={"value": "90"}
    )
    assert frozen.status_code == 422, "the value is fixed once orders may name the coupon"
    gone = await api.request("DELETE", f"{COUPONS}/{coupon['id']}", as_user=admin)
    assert gone.status_code == 204
    listed = await api.request("GET", f"{COUPONS}?active=false", as_user=admin)
    assert [c["code"] for c in listed.json()["items"]] == ["SPRING-25"]
    async with db() as session:
        actions = (
            await session.scalars(
                select(AuditLogEntry.action)
                .where(AuditLogEntry.entity_type == "coupon")
                .order_by(AuditLogEntry.id)
            )
        ).all()
    assert actions == ["coupon.create", "coupon.update", "coupon.deactivate"]


async def test_the_cart_previews_a_coupon_exactly(api, make, seller):
    admin, buyer = await make.admin(), await make.user()
    first, second = await seller("19.99"), await seller("10.00")
    for module in (first, second):
        await api.request("POST", f"{CART}/add", as_user=buyer, json={"module_id": module.id})
    await create(api, admin, code="TEN", kind="fixed", value="10.00", currency="USD")
    await create(api, admin, code="ONLY", kind="percent", value="50", module_ids=[second.id])
    now = datetime.now(UTC)
    await create(
        api,
        admin,
        code="OLD",
        kind="percent",
        value="50",
        ends_at=(now - timedelta(days=1)).isoformat(),
    )
    fixed = (await api.request("GET", f"{CART}?coupon=ten", as_user=buyer)).json()["totals"]
    assert (fixed["subtotal"], fixed["discount"], fixed["total"]) == ("29.99", "10.00", "19.99")
    assert fixed["coupon_code"] == "TEN"
    scoped = (await api.request("GET", f"{CART}?coupon=ONLY", as_user=buyer)).json()["totals"]
    assert (scoped["discount"], scoped["total"]) == ("5.00", "24.99")
    expired = await api.request("GET", f"{CART}?coupon=OLD", as_user=buyer)
    assert expired.status_code == 400 and expired.json()["error"] == "coupon_expired"
    unknown = await api.request("GET", f"{CART}?coupon=NOPE", as_user=buyer)
    assert unknown.status_code == 404 and unknown.json()["error"] == "coupon_not_found"


async def test_a_last_coupon_use_goes_to_exactly_one_of_two_racing_checkouts(
    committed_api, make_committed, committed
):
    api = committed_api
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("40.00")
    )
    async with committed() as session:
        session.add(Coupon(code="LAST", kind="percent", value=Decimal(20), max_redemptions=1))
        await session.commit()
    buyers = [await make_committed.user() for _ in range(2)]
    for buyer in buyers:
        await api.request("POST", f"{CART}/add", as_user=buyer, json={"module_id": module.id})
    answers = await asyncio.gather(
        *(
            api.request(
                "POST",
                "/api/v1/marketplace/checkout",
                as_user=buyer,
                json={"payment_method": "4242424242424242", "coupon_code": "LAST"},
            )
            for buyer in buyers
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202, 400], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 400)
    assert refused.json()["error"] == "coupon_exhausted"
    async with committed() as session:
        coupon = await session.scalar(select(Coupon).where(Coupon.code == "LAST"))
        orders = (await session.scalars(select(Order))).all()
    assert coupon.redemptions == 1
    assert [(o.coupon_code, o.total) for o in orders] == [("LAST", Decimal("32.00"))]
