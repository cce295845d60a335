"""The buyer's cart: what can go in, and exact totals."""

from decimal import Decimal

import pytest

from domain.modules import ModuleStatus
from integrations.rate_limit import RateLimiter
from models.platform import PlatformSetting
from tests.factories import issue_license

CART = "/api/v1/marketplace/cart"


@pytest.fixture
async def shop(make):
    _, publisher = await make.publisher()

    async def paid(price: str, **fields):
        return await make.module(
            publisher,
            status=fields.pop("status", ModuleStatus.PUBLISHED),
            license_type="paid",
            price=Decimal(price),
            **fields,
        )

    return publisher, paid


async def add(api, user, module_id):
    return await api.request("POST", f"{CART}/add", as_user=user, json={"module_id": module_id})


async def test_lines_are_unique_and_totals_exact_with_tax(api, make, db, shop):
    _, paid = shop
    buyer = await make.user()
    first, second = await paid("19.99"), await paid("0.05")
    async with db() as session:
        session.add(PlatformSetting(key="tax_rate_percent", value="20"))
        await session.commit()
    await add(api, buyer, first.id)
    await add(api, buyer, first.id)
    response = await add(api, buyer, second.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["module_id"] for item in body["items"]] == [first.id, second.id]
    assert body["totals"] == {
        "currency": "USD",
        "subtotal": "20.04",
        "discount": "0.00",
        "tax": "4.01",
        "total": "24.05",
        "coupon_code": None,
    }


async def test_what_cannot_go_in_the_cart(api, make, shop):
    publisher, paid = shop
    buyer = await make.user()
    free = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    draft = await paid("5.00", status=ModuleStatus.DRAFT)
    private = await paid("5.00", visibility="private")
    euro = await paid("5.00", currency="EUR")
    owned = await paid("9.00")
    await issue_license(api_sessions(api), api.http._transport.app, buyer, owned)
    usd = await paid("3.00")
    await add(api, buyer, usd.id)
    cases = [
        (free.id, 400, "module_is_free"),
        (draft.id, 404, "module_not_found"),
        (private.id, 404, "module_not_found"),
        (2_000_000_000, 404, "module_not_found"),
        (euro.id, 409, "mixed_currencies"),
        (owned.id, 409, "already_licensed"),
    ]
    for module_id, status, code in cases:
        response = await add(api, buyer, module_id)
        assert (response.status_code, response.json()["error"]) == (status, code), module_id
    cart = await api.request("GET", CART, as_user=buyer)
    assert [item["module_id"] for item in cart.json()["items"]] == [usd.id]


def api_sessions(api):
    return api.http._transport.app.state.sessions


async def test_removing_only_ones_own_lines(api, make, shop):
    _, paid = shop
    buyer, other = await make.user(), await make.user()
    module = await paid("7.00")
    item = (await add(api, buyer, module.id)).json()["items"][0]["id"]
    stolen = await api.request("DELETE", f"{CART}/{item}", as_user=other)
    assert stolen.status_code == 404 and stolen.json()["error"] == "cart_item_not_found"
    assert (await api.request("DELETE", f"{CART}/{item}", as_user=buyer)).status_code == 204
    empty = await api.request("GET", CART, as_user=buyer)
    assert empty.json() == {"items": [], "totals": None}
    assert (await api.request("GET", CART)).status_code == 401


def throttled(api, **rates):
    """Coupon lookups at ``rates``, on a clock standing still mid-window (on the real one a
    minute's boundary lets part of the earlier minute go)."""
    app = api.http._transport.app
    app.state.settings = api.settings.model_copy(update=rates)
    app.state.rate_limiter = RateLimiter(clock=lambda: 30.0)


async def test_coupon_probing_is_slowed_per_account(api, make, shop):
    _, paid = shop
    buyer, other = await make.user(), await make.user()
    module = await paid("10.00")
    await add(api, buyer, module.id)
    await add(api, other, module.id)
    throttled(api, coupon_rate_per_account="3/minute")
    codes = [
        (await api.request("GET", CART, as_user=buyer, params={"coupon": f"GUESS{n}"})).status_code
        for n in range(3)
    ]
    assert codes == [404, 404, 404]
    blocked = await api.request("GET", CART, as_user=buyer, params={"coupon": "GUESS4"})
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["error"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    checkout = await api.request(
        "POST",
        "/api/v1/marketplace/checkout",
        as_user=buyer,
        json={"payment_method": "4242424242424242", "coupon_code": "GUESS5"},
    )
    assert checkout.status_code == 429, "checkout's coupon_code is the same lookup"
    plain = await api.request("GET", CART, as_user=buyer)
    assert plain.status_code == 200, "a cart without a coupon is not a lookup"
    elsewhere = await api.request("GET", CART, as_user=other, params={"coupon": "GUESS6"})
    assert elsewhere.status_code == 404, "another account has its own budget"


async def test_coupon_probing_is_slowed_per_client(api, make):
    throttled(api, coupon_rate_per_client="2/minute")
    buyers = [await make.user() for _ in range(3)]
    codes = [
        (await api.request("GET", CART, as_user=b, params={"coupon": "GUESS"})).status_code
        for b in buyers
    ]
    assert codes[2] == 429, "fresh accounts from one address share its budget"
