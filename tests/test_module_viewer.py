"""What the viewer of a module's page may do with it, decided by the API:
``GET /api/v1/marketplace/modules/{slug}/viewer``. Free download, add to cart, buy now,
start a trial, "you own this" with the license, in the cart, a checkout waiting."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.access import Role
from domain.modules import LicenseType, ModuleStatus
from domain.viewer import NotForSale, ViewerFacts, viewer_actions
from models.commerce import CartItem, License, Order
from models.module import MarketplaceModule
from tests.conftest import Api
from tests.test_discovery_api import module, save, version

BASE = "/api/v1/marketplace"
NOW = datetime.now(UTC)


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api


async def viewer(api, slug: str, as_user=None, **kwargs) -> dict:
    response = await api.request("GET", f"{BASE}/modules/{slug}/viewer", as_user=as_user, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def actions(body: dict) -> set[str]:
    """The actions offered, by name."""
    return {
        name
        for name, on in body["actions"].items()
        if on is True and name not in ("sign_in_required",)
    }


def license_of(user, of: MarketplaceModule, **fields) -> License:
    key = uuid.uuid4().hex
    return License(
        license_key=key,
        key_last=key[-5:],
        user_id=user.id,
        module_id=of.id,
        license_type=fields.pop("license_type", "purchase"),
        status=fields.pop("status", "active"),
        purchased_at=NOW - timedelta(days=1),
        **fields,
    )


def signed_release(of: MarketplaceModule):
    return version(
        of, "1.0.0", is_latest=True, zip_file_hash="0" * 64, signature="sig", signature_key_id="k"
    )


@pytest.fixture
async def shop(make, db):
    owner, publisher = await make.publisher()
    paid = module(publisher, license_type="paid", price=Decimal("20.00"))
    monthly = module(
        publisher,
        license_type="subscription",
        price=Decimal("9.00"),
        subscription_period="monthly",
        trial_days=14,
    )
    free = module(publisher, license_type="free")
    bare_free = module(publisher, license_type="free")
    euro = module(publisher, license_type="paid", price=Decimal("5.00"), currency="EUR")
    await save(db, paid, monthly, free, bare_free, euro)
    await save(db, signed_release(paid), signed_release(free), signed_release(monthly))
    return owner, {
        "paid": paid,
        "monthly": monthly,
        "free": free,
        "bare_free": bare_free,
        "euro": euro,
    }


async def test_anonymous_viewers_are_offered_what_an_account_could_do(api, shop):
    _, m = shop
    paid = await viewer(api, m["paid"].slug)
    assert paid["signed_in"] is False and paid["module_id"] == m["paid"].id
    assert actions(paid) == {"add_to_cart", "buy_now"}
    assert paid["actions"]["sign_in_required"] is True and paid["actions"]["reason"] is None
    assert paid["owned"] is None and paid["cart_item_id"] is None

    monthly = await viewer(api, m["monthly"].slug)
    assert actions(monthly) == {"add_to_cart", "buy_now", "start_trial"}
    assert monthly["trial"] == {"offered": True, "days": 14, "used": False}

    free = await viewer(api, m["free"].slug)
    assert actions(free) == {"free_download"}
    assert free["actions"]["reason"] == "module_is_free"
    assert free["actions"]["sign_in_required"] is False
    assert actions(await viewer(api, m["bare_free"].slug)) == set(), "nothing to download yet"


async def test_a_line_in_the_cart_is_named_and_not_offered_again(api, make, shop):
    _, m = shop
    buyer = await make.user(Role.CONSUMER)
    added = await api.request(
        "POST", f"{BASE}/cart/add", as_user=buyer, json={"module_id": m["paid"].id}
    )
    assert added.status_code == 200, added.text
    body = await viewer(api, m["paid"].slug, as_user=buyer)
    assert body["signed_in"] is True
    assert body["cart_item_id"] == added.json()["items"][0]["id"]
    assert actions(body) == {"buy_now"}

    euro = await viewer(api, m["euro"].slug, as_user=buyer)
    assert actions(euro) == set() and euro["actions"]["reason"] == "mixed_currencies"


async def test_an_owner_of_a_license_sees_it_and_may_download(api, make, db, shop):
    _, m = shop
    buyer = await make.user(Role.CONSUMER)
    (held,) = await save(db, license_of(buyer, m["paid"]))
    body = await viewer(api, m["paid"].slug, as_user=buyer)
    assert body["owned"] == {
        "license_id": held.id,
        "license_type": "purchase",
        "status": "active",
        "expires_at": None,
    }
    assert actions(body) == {"download"} and body["actions"]["reason"] == "already_licensed"

    stranger = await make.user(Role.CONSUMER)
    assert actions(await viewer(api, m["paid"].slug, as_user=stranger)) == {
        "add_to_cart",
        "buy_now",
    }


async def test_an_ended_license_offers_buying_again_but_not_a_second_trial(api, make, db, shop):
    _, m = shop
    buyer = await make.user(Role.CONSUMER)
    await save(
        db,
        license_of(
            buyer,
            m["monthly"],
            license_type="trial",
            status="expired",
            trial_started_at=NOW - timedelta(days=20),
            expires_at=NOW - timedelta(days=6),
        ),
    )
    body = await viewer(api, m["monthly"].slug, as_user=buyer)
    assert body["owned"] is None
    assert body["trial"] == {"offered": True, "days": 14, "used": True}
    assert actions(body) == {"add_to_cart", "buy_now"}


async def test_a_checkout_waiting_for_payment_is_named_and_blocks_buying(api, make, db, shop):
    _, m = shop
    buyer = await make.user(Role.CONSUMER)
    order, _ = await save(
        db,
        Order(
            order_number=f"FV-VIEW-{buyer.id}",
            user_id=buyer.id,
            items=[{"module_id": m["paid"].id}],
            subtotal=Decimal("20.00"),
            total=Decimal("20.00"),
            status="pending",
            expires_at=NOW + timedelta(minutes=20),
        ),
        CartItem(user_id=buyer.id, module_id=m["paid"].id),
    )
    body = await viewer(api, m["paid"].slug, as_user=buyer)
    assert body["pending_order"]["id"] == order.id
    assert body["pending_order"]["order_number"] == order.order_number
    assert actions(body) == set() and body["actions"]["reason"] == "checkout_pending"


async def test_its_publisher_cannot_buy_but_may_download(api, shop):
    owner, m = shop
    body = await viewer(api, m["paid"].slug, as_user=owner)
    assert actions(body) == {"download"} and body["actions"]["reason"] == "own_module"


async def test_unpublished_modules_have_no_viewer_answer_and_tokens_need_the_account_scope(
    api, make, db, shop
):
    owner, m = shop
    _, publisher = await make.publisher()
    (draft,) = await save(db, module(publisher, ModuleStatus.DRAFT, license_type="paid"))
    missing = await api.request("GET", f"{BASE}/modules/{draft.slug}/viewer", as_user=owner)
    assert missing.status_code == 404 and missing.json()["error"] == "module_not_found"

    created = await api.request(
        "POST", "/api/v1/auth/tokens", as_user=owner, json={"name": "ci", "scopes": ["publish"]}
    )
    assert created.status_code == 201, created.text
    narrow = {"Authorization": f"Bearer {created.json()['token']}"}
    refused = await api.request("GET", f"{BASE}/modules/{m['paid'].slug}/viewer", headers=narrow)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    bad = {"Authorization": "Bearer nonsense"}
    invalid = await api.request("GET", f"{BASE}/modules/{m['paid'].slug}/viewer", headers=bad)
    assert invalid.status_code == 401


def facts(**changes) -> ViewerFacts:
    base = {
        "license_type": "paid",
        "for_sale": True,
        "has_release": True,
        "signed_in": True,
        "is_owner": False,
        "holds_live_license": False,
        "license_covers_latest": False,
        "in_cart": False,
        "cart_currency_differs": False,
        "checkout_pending": False,
        "trial_offered": False,
        "trial_used": False,
    }
    merged = base | changes
    merged["license_type"] = LicenseType(merged["license_type"])
    return ViewerFacts(**merged)


@pytest.mark.parametrize(
    ("changes", "offered", "reason"),
    [
        ({}, {"add_to_cart", "buy_now"}, None),
        ({"for_sale": False}, set(), NotForSale.NOT_FOR_SALE),
        ({"is_owner": True}, {"download"}, NotForSale.OWN_MODULE),
        (
            {"holds_live_license": True, "license_covers_latest": True},
            {"download"},
            NotForSale.ALREADY_LICENSED,
        ),
        ({"license_covers_latest": True}, {"add_to_cart", "buy_now", "download"}, None),
        ({"in_cart": True, "cart_currency_differs": True}, {"buy_now"}, None),
        (
            {"trial_offered": True, "license_type": "subscription"},
            {"add_to_cart", "buy_now", "start_trial"},
            None,
        ),
        ({"license_type": "free", "has_release": False}, set(), NotForSale.FREE),
        ({"license_type": "free", "for_sale": False}, set(), NotForSale.FREE),
    ],
)
def test_the_rule_table(changes, offered, reason):
    decided = viewer_actions(facts(**changes))
    names = {"free_download", "add_to_cart", "buy_now", "start_trial", "download"}
    assert {name for name in names if getattr(decided, name)} == offered
    assert decided.reason == reason


async def test_the_page_is_told_who_may_write_a_review(api, make, shop):
    owner, m = shop
    anonymous = await viewer(api, m["paid"].slug)
    assert anonymous["review"] == {
        "may_write": False,
        "reason": "sign_in_required",
        "own_review_id": None,
    }
    assert (await viewer(api, m["paid"].slug, as_user=owner))["review"]["reason"] == "own_module"

    reader = await make.user(Role.CONSUMER)
    before = await viewer(api, m["paid"].slug, as_user=reader)
    assert before["review"] == {"may_write": True, "reason": None, "own_review_id": None}
    written = await api.request(
        "POST", f"{BASE}/modules/{m['paid'].slug}/reviews", as_user=reader, json={"rating": 5}
    )
    assert written.status_code == 201, written.text
    after = await viewer(api, m["paid"].slug, as_user=reader)
    assert after["review"] == {
        "may_write": False,
        "reason": "already_reviewed",
        "own_review_id": written.json()["id"],
    }
    # What the page is told matches what the API does: a second review is refused.
    again = await api.request(
        "POST", f"{BASE}/modules/{m['paid'].slug}/reviews", as_user=reader, json={"rating": 4}
    )
    assert again.status_code == 409 and again.json()["error"] == "already_reviewed"
