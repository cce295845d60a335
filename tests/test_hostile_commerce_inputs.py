"""Hostile input on the commerce endpoints: checkout, orders, refunds, trials,
subscriptions, coupons, the cart's coupon preview and the payment webhooks.

The principle is the one of ``test_hostile_inputs``: every refused request comes back as
a 4xx with a machine-readable ``error`` code (never a 500) and leaves every row of every
table as it was. No worker runs: a body the edge wrongly accepted would start a checkout,
refund or subscription workflow, so only bodies that must be refused are sent, each under
a deadline, and a workflow one of them started anyway is terminated before the test fails.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import stripe
from pydantic import SecretStr

from api.app import create_app
from domain import processes
from domain.access import Role
from domain.checkout import new_order_number
from domain.licensing import ALPHABET, license_key_hash, new_license_key
from domain.modules import ModuleStatus
from integrations.temporal.front_door import TemporalConnector
from models.commerce import CartItem, Coupon, License, Order, Subscription
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.user import User
from settings import Settings
from tests.conftest import JWT_SECRET, Api
from tests.factories import unique
from tests.test_hostile_inputs import (
    ABSENT_ID,
    BAD_IDS,
    BAD_PAGING,
    JSON,
    NUL_REFUSED,
    SQL,
    Case,
    V,
    _resolve,
    assert_refused,
    case,
    case_w,
    n,
    snapshot,
)

DEADLINE = 30.0
"""Seconds; a refused request answers in milliseconds, but a loaded machine may take
seconds. Only a request that slipped past validation and waits for a worker (none runs
here) takes this long."""
M = "/api/v1/marketplace"
CHECKOUT = M + "/checkout"
CONFIRM = CHECKOUT + "/confirm"
ORDERS = M + "/orders"
CART = M + "/cart"
COUPONS = "/api/v1/admin/marketplace/coupons"
COUPON = COUPONS + "/{w.coupon.id}"
COMPLETED = ORDERS + "/{w.completed.id}"
TRIAL = M + "/modules/{w.trial.slug}/trial"
STRIPE_HOOK = M + "/webhooks/stripe"
PAYPAL_HOOK = M + "/webhooks/paypal"
CARD = "4242424242424242"  # the local gateway's card that succeeds


# --- the world --------------------------------------------------------------------------


@dataclass
class World:
    callers: dict[str, User | None]  # buyer, stranger (empty cart, no orders), seller, admin
    paid: MarketplaceModule  # in the buyer's cart, 10.00 USD
    owned: MarketplaceModule  # paid, the buyer holds a license from `completed`
    rented: MarketplaceModule  # subscription, the buyer holds a subscription license
    trial: MarketplaceModule  # subscription with a 14-day trial, never tried by anyone
    free: MarketplaceModule
    draft: MarketplaceModule  # paid, not published
    completed: Order  # the buyer's, paid just now: refundable
    pending: Order  # the buyer's, awaiting payment (no workflow behind it)
    old: Order  # the buyer's, paid 30 days ago: past the refund window
    refunded: Order  # the buyer's
    owned_key: str  # the buyer's one-time license
    sub_key: str  # the buyer's subscription license
    coupon: Coupon  # 10 %, valid from yesterday for 30 days
    inactive: Coupon
    expired: Coupon
    exhausted: Coupon
    narrow: Coupon  # only for `owned`
    euro: Coupon  # 5.00 EUR off


def _order(buyer: User, module: MarketplaceModule, paid_at: datetime | None, status: str):
    price = str(module.price)
    return Order(
        order_number=new_order_number(datetime.now(UTC)),
        user_id=buyer.id,
        items=[
            {
                "module_id": module.id,
                "publisher_id": module.publisher_id,
                "module_slug": module.slug,
                "module_name": module.display_name,
                "license_type": module.license_type,
                "subscription_period": module.subscription_period,
                "unit_price": price,
                "discount": "0.00",
                "tax": "0.00",
                "net_of_discount": price,
                "total": price,
            }
        ],
        subtotal=module.price,
        total=module.price,
        currency="USD",
        payment_method="local",
        payment_status="succeeded" if paid_at else "pending",
        paid_at=paid_at,
        status=status,
        refunded_amount=module.price if status == "refunded" else Decimal(0),
        expires_at=None if paid_at else datetime.now(UTC) + timedelta(minutes=30),
        billing_email=buyer.email,
        billing_name=buyer.full_name,
    )


def _license(owner: User, module: MarketplaceModule, kind: str, **fields) -> tuple[str, License]:
    key = new_license_key()
    return key, License(
        license_key=license_key_hash(key),
        key_last=key[-5:],
        user_id=owner.id,
        module_id=module.id,
        license_type=kind,
        purchased_at=datetime.now(UTC),
        activated_at=datetime.now(UTC),
        **fields,
    )


async def build_world(sessions) -> World:
    now = datetime.now(UTC)

    def user(role: Role) -> User:
        return User(
            email=f"{unique(role.value)}@example.com",
            password_hash="unused: these callers sign in with a token",
            full_name="Hostile Buyer",
            role=role,
        )

    def module(status=ModuleStatus.PUBLISHED, **fields) -> MarketplaceModule:
        name = unique("mod")
        return MarketplaceModule(
            publisher_id=seller.id,
            technical_name=name.replace("-", "_"),
            slug=name,
            display_name=f"Module {name}",
            short_description="Sold in the marketplace.",
            status=status,
            **fields,
        )

    def coupon(**fields) -> Coupon:
        fields.setdefault("kind", "percent")
        fields.setdefault("value", Decimal("10"))
        return Coupon(code=unique("hostile").upper(), **fields)

    callers = {
        "anonymous": None,
        "buyer": user(Role.CONSUMER),
        "stranger": user(Role.CONSUMER),
        "seller": user(Role.PUBLISHER),
        "admin": user(Role.ADMIN),
    }
    monthly = {"license_type": "subscription", "subscription_period": "monthly"}
    async with sessions() as session:
        session.add_all([u for u in callers.values() if u is not None])
        await session.flush()
        slug = unique("pub")
        seller = Publisher(
            user_id=callers["seller"].id, display_name=slug, slug=slug, status="active"
        )
        session.add(seller)
        await session.flush()
        modules = {
            "paid": module(license_type="paid", price=Decimal("10.00")),
            "owned": module(license_type="paid", price=Decimal("20.00")),
            "rented": module(**monthly, price=Decimal("9.00")),
            "trial": module(**monthly, price=Decimal("4.00"), trial_days=14),
            "free": module(),
            "draft": module(ModuleStatus.DRAFT, license_type="paid", price=Decimal("5.00")),
        }
        coupons = {
            "coupon": coupon(starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30)),
            "inactive": coupon(active=False),
            "expired": coupon(ends_at=now - timedelta(days=1)),
            "exhausted": coupon(max_redemptions=1, redemptions=1),
            "narrow": coupon(),  # module_ids set below, once ids exist
            "euro": coupon(kind="fixed", value=Decimal("5.00"), currency="EUR"),
        }
        session.add_all([*modules.values(), *coupons.values()])
        await session.flush()
        coupons["narrow"].module_ids = [modules["owned"].id]
        buyer = callers["buyer"]
        orders = {
            "completed": _order(buyer, modules["owned"], now, "completed"),
            "pending": _order(buyer, modules["paid"], None, "pending"),
            "old": _order(buyer, modules["owned"], now - timedelta(days=30), "completed"),
            "refunded": _order(buyer, modules["owned"], now - timedelta(days=2), "refunded"),
        }
        session.add_all(
            [*orders.values(), CartItem(user_id=buyer.id, module_id=modules["paid"].id)]
        )
        await session.flush()
        owned_key, owned = _license(buyer, modules["owned"], "purchase", order=orders["completed"])
        sub_key, rented = _license(
            buyer, modules["rented"], "subscription", expires_at=now + timedelta(days=30)
        )
        session.add_all([owned, rented])
        await session.flush()
        session.add(
            Subscription(
                license_id=rented.id,
                user_id=buyer.id,
                module_id=modules["rented"].id,
                gateway="local",
                period="monthly",
                price=Decimal("9.00"),
                currency="USD",
                status="active",
                period_number=1,
                billing_anchor=now,
                current_period_start=now,
                current_period_end=now + timedelta(days=30),
            )
        )
        await session.commit()
    return World(
        callers=callers,
        owned_key=owned_key,
        sub_key=sub_key,
        **modules,
        **orders,
        **coupons,
    )


@pytest.fixture
def api(shared_api: Api) -> Api:
    """Every case here runs on the module's one app (see conftest's ``shared_api``)."""
    return shared_api


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


def _started_workflows(response: httpx.Response, url: str) -> list[str]:
    """The workflows a wrongly accepted request started: checkout, trial, refund."""
    if response.status_code >= 300:
        return []
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    ids = [body.get("workflow_id"), (body.get("subscription") or {}).get("workflow_id")]
    if url.endswith("/refund") and body.get("order_number"):
        ids.append(processes.Refund.workflow_id(body["order_number"]))
    return [i for i in ids if isinstance(i, str)]


async def send(api, temporal_dev, world: World, method: str, url: str, caller: str, **kwargs):
    """The request under a deadline; a workflow it started anyway is stopped, so a
    wrongly accepted payload fails its test without leaving work behind."""
    try:
        response = await asyncio.wait_for(
            api.request(method, url, as_user=world.callers[caller], **kwargs), DEADLINE
        )
    except TimeoutError:
        pytest.fail(f"{method} {url} got no answer within {DEADLINE}s")
    for workflow_id in _started_workflows(response, url):
        try:
            await temporal_dev.client.get_workflow_handle(workflow_id).terminate("hostile test")
        except Exception:
            pass
    return response


# --- the cases --------------------------------------------------------------------------


def checkout_body(**fields) -> dict:
    """A body the edge accepts (the cases break one field), with a card that pays."""
    return {"gateway": "local", "payment_method": CARD} | fields


def key(value: str | bytes) -> dict:
    return {"headers": {"Idempotency-Key": value}}


def coupon_body(**fields) -> dict:
    body = {"code": "HOSTILE-NEW", "kind": "percent", "value": "10"} | fields
    return {k: v for k, v in body.items() if v is not ...}


ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US"}
NAIVE = "2030-01-01T00:00:00"

# fmt: off
CASES = [
    # ---- POST /checkout: the body ------------------------------------------------------
    case("checkout: gateway a number", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(gateway=5)),
    case("checkout: gateway bitcoin", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(gateway="bitcoin")),
    case("checkout: gateway upper case", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(gateway="LOCAL")),
    case("checkout: gateway null", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(gateway=None)),
    case("checkout: payment_method a list", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method=[CARD])),
    case("checkout: payment_method a number", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method=4242424242424242)),
    case("checkout: payment_method an object", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method={"card": CARD})),
    case("checkout: payment_method empty", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method="")),
    case("checkout: payment_method only spaces", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method="     ")),
    case("checkout: payment_method with quotes", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method='4242"4242')),
    case("checkout: payment_method SQL", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method=SQL)),
    case("checkout: payment_method over 100", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method=n(101, "4"))),
    case("checkout: payment_method unicode digits", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(payment_method="४२४२४२४२४२४२४२४२")),
    case("checkout: NUL in payment_method", "POST", CHECKOUT, "buyer", NUL_REFUSED, None,
         json=checkout_body(payment_method="4242\x00")),
    case("checkout: save_payment_method a string", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(save_payment_method="true")),
    case("checkout: save_payment_method 1", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(save_payment_method=1)),
    case("checkout: save_payment_method null", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(save_payment_method=None)),
    case("checkout: coupon_code a number", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(coupon_code=10)),
    case("checkout: coupon_code empty", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(coupon_code="")),
    case("checkout: coupon_code over 50", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(coupon_code=n(51, "A"))),
    case("checkout: NUL in coupon_code", "POST", CHECKOUT, "buyer", NUL_REFUSED, None,
         json=checkout_body(coupon_code="SAVE\x0010")),
    case("checkout: billing_email invalid", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_email="buyer at example")),
    case("checkout: billing_email SQL", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_email=SQL + "@example.com")),
    case("checkout: billing_email a list", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_email=["a@example.com"])),
    case("checkout: billing_name over 200", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_name=n(201))),
    case("checkout: NUL in billing_name", "POST", CHECKOUT, "buyer", NUL_REFUSED, None,
         json=checkout_body(billing_name="Eve\x00")),
    case("checkout: country usa", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=ADDRESS | {"country": "usa"})),
    case("checkout: country lower case", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=ADDRESS | {"country": "us"})),
    case("checkout: address without line1", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address={"city": "Springfield", "country": "US"})),
    case("checkout: address with blank line1", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=ADDRESS | {"line1": "   "})),
    case("checkout: address with unknown field", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=ADDRESS | {"vat_exempt": True})),
    case("checkout: address line1 over 200", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=ADDRESS | {"line1": n(201)})),
    case("checkout: postal_code over 20", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=ADDRESS | {"postal_code": n(21, "9")})),
    case("checkout: address a string", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address="1 Main St, Springfield")),
    case("checkout: address a list", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(billing_address=[ADDRESS])),
    case("checkout: NUL in an address key", "POST", CHECKOUT, "buyer", NUL_REFUSED, None,
         json=checkout_body(billing_address=ADDRESS | {"line\x002": "x"})),
    case("checkout: javascript return_url", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(return_url="javascript:alert(1)")),
    case("checkout: data return_url", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(return_url="data:text/html,<script>alert(1)</script>")),
    case("checkout: return_url without scheme", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(return_url="//evil.example.com")),
    case("checkout: return_url over 500", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(return_url="https://example.com/" + n(481))),
    case("checkout: unknown field total", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(total="0.00")),
    case("checkout: unknown field items", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(items=[{"module_id": 1, "unit_price": "0.00"}])),
    case("checkout: unknown field user_id", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(user_id=1)),
    case("checkout: list body", "POST", CHECKOUT, "buyer", 422, V, json=[checkout_body()]),
    case("checkout: string body", "POST", CHECKOUT, "buyer", 422, V, json="local"),
    case("checkout: not JSON", "POST", CHECKOUT, "buyer", 422, V, content="gateway=local",
         headers=JSON),
    case("checkout: truncated JSON", "POST", CHECKOUT, "buyer", 422, V,
         content='{"gateway": "local", "payment_method": "4242', headers=JSON),
    case("checkout: empty body", "POST", CHECKOUT, "buyer", 422, V),
    case("checkout: form instead of JSON", "POST", CHECKOUT, "buyer", 422, V,
         data={"gateway": "local", "payment_method": CARD}),
    # ---- POST /checkout: the Idempotency-Key header ------------------------------------
    case("checkout: Idempotency-Key over 100", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(), **key(n(101, "k"))),
    case("checkout: empty Idempotency-Key", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(), **key("")),
    case("checkout: SQL Idempotency-Key, empty cart", "POST", CHECKOUT, "stranger", 400,
         "empty_cart", json=checkout_body(), **key(SQL)),
    case("checkout: latin-1 Idempotency-Key, empty cart", "POST", CHECKOUT, "stranger", 400,
         "empty_cart", json=checkout_body(), **key("clé".encode("latin-1"))),
    case("checkout: 100-character Idempotency-Key, empty cart", "POST", CHECKOUT, "stranger",
         400, "empty_cart", json=checkout_body(), **key(n(100, "k"))),
    # ---- POST /checkout: well-formed, refused by the rules ----------------------------
    case("checkout: empty cart", "POST", CHECKOUT, "stranger", 400, "empty_cart",
         json=checkout_body()),
    case("checkout: stripe not enabled", "POST", CHECKOUT, "buyer", 400,
         "gateway_unavailable", json=checkout_body(gateway="stripe", payment_method="pm_x")),
    case("checkout: paypal not enabled", "POST", CHECKOUT, "buyer", 400,
         "gateway_unavailable", json={"gateway": "paypal"}),
    case("checkout: no test card on the local gateway", "POST", CHECKOUT, "buyer", 400,
         "payment_method_required", json={"gateway": "local"}),
    case("checkout: a good coupon, but no test card", "POST", CHECKOUT, "buyer", 400,
         "payment_method_required", json={"coupon_code": "{w.coupon.code}"}),
    case("checkout: unknown coupon", "POST", CHECKOUT, "buyer", 404, "coupon_not_found",
         json=checkout_body(coupon_code="NO-SUCH-COUPON")),
    case("checkout: SQL coupon", "POST", CHECKOUT, "buyer", 422, V,
         json=checkout_body(coupon_code="X' OR '1'='1")),
    case("checkout: inactive coupon", "POST", CHECKOUT, "buyer", 404, "coupon_not_found",
         json=checkout_body(coupon_code="{w.inactive.code}")),
    case("checkout: expired coupon", "POST", CHECKOUT, "buyer", 400, "coupon_expired",
         json=checkout_body(coupon_code="{w.expired.code}")),
    case("checkout: used-up coupon", "POST", CHECKOUT, "buyer", 400, "coupon_exhausted",
         json=checkout_body(coupon_code="{w.exhausted.code}")),
    # the cart's line is also in the buyer's pending order: not ordered a second time
    case("checkout: lines already awaiting payment", "POST", CHECKOUT, "buyer", 409,
         "checkout_pending", json=checkout_body()),
    case("checkout: coupon for another module", "POST", CHECKOUT, "buyer", 400,
         "coupon_not_applicable", json=checkout_body(coupon_code="{w.narrow.code}")),
    case("checkout: coupon in another currency", "POST", CHECKOUT, "buyer", 400,
         "coupon_currency_mismatch", json=checkout_body(coupon_code="{w.euro.code}")),
    # ---- POST /checkout/confirm --------------------------------------------------------
    case("confirm: order_number over 50", "POST", CONFIRM, "buyer", 422, V,
         json={"order_number": n(51)}),
    case("confirm: empty order_number", "POST", CONFIRM, "buyer", 422, V,
         json={"order_number": ""}),
    case("confirm: blank order_number", "POST", CONFIRM, "buyer", 422, V,
         json={"order_number": "   "}),
    case("confirm: order_number a number", "POST", CONFIRM, "buyer", 422, V,
         json={"order_number": 20261127}),
    case("confirm: order_number a list", "POST", CONFIRM, "buyer", 422, V,
         json={"order_number": ["{w.pending.order_number}"]}),
    case("confirm: NUL in order_number", "POST", CONFIRM, "buyer", NUL_REFUSED, None,
         json={"order_number": "FV-\x00"}),
    case("confirm: no order_number", "POST", CONFIRM, "buyer", 422, V, json={}),
    case("confirm: unknown field status", "POST", CONFIRM, "buyer", 422, V,
         json={"order_number": "{w.pending.order_number}", "status": "completed"}),
    case("confirm: list body", "POST", CONFIRM, "buyer", 422, V, json=["FV-1"]),
    case("confirm: not JSON", "POST", CONFIRM, "buyer", 422, V, content="FV-1", headers=JSON),
    case("confirm: empty body", "POST", CONFIRM, "buyer", 422, V),
    case("confirm: SQL order_number", "POST", CONFIRM, "buyer", 404, "order_not_found",
         json={"order_number": "FV-' OR '1'='1"}),
    case("confirm: SQL wildcard order_number", "POST", CONFIRM, "buyer", 404,
         "order_not_found", json={"order_number": "FV-%"}),
    case("confirm: someone else's order", "POST", CONFIRM, "stranger", 404, "order_not_found",
         json={"order_number": "{w.pending.order_number}"}),
    # ---- orders ------------------------------------------------------------------------
    case("order: someone else's", "GET", COMPLETED, "stranger", 404, "order_not_found"),
    case("invoice: someone else's", "GET", COMPLETED + "/invoice", "stranger", 404,
         "order_not_found"),
    case("invoice: an unpaid order", "GET", ORDERS + "/{w.pending.id}/invoice", "buyer", 409,
         "invoice_not_available"),
    # ---- POST /orders/{id}/refund (against a refundable order: valid bodies would start
    # ---- the refund workflow) -----------------------------------------------------------
    case("refund: reason over 500", "POST", COMPLETED + "/refund", "buyer", 422, V,
         json={"reason": n(501)}),
    case("refund: reason a number", "POST", COMPLETED + "/refund", "buyer", 422, V,
         json={"reason": 5}),
    case("refund: reason an object", "POST", COMPLETED + "/refund", "buyer", 422, V,
         json={"reason": {"text": "no"}}),
    case("refund: NUL in reason", "POST", COMPLETED + "/refund", "buyer", NUL_REFUSED, None,
         json={"reason": "did not work\x00"}),
    case("refund: unknown field amount", "POST", COMPLETED + "/refund", "buyer", 422, V,
         json={"reason": "partial", "amount": "1.00"}),
    case("refund: unknown field initiated_by", "POST", COMPLETED + "/refund", "buyer", 422, V,
         json={"initiated_by": "admin"}),
    case("refund: list body", "POST", COMPLETED + "/refund", "buyer", 422, V, json=["no"]),
    case("refund: not JSON", "POST", COMPLETED + "/refund", "buyer", 422, V, content="no",
         headers=JSON),
    case("refund: empty body", "POST", COMPLETED + "/refund", "buyer", 422, V),
    case("refund: someone else's order", "POST", COMPLETED + "/refund", "stranger", 404,
         "order_not_found", json={"reason": "mine now"}),
    case("refund: an unpaid order", "POST", ORDERS + "/{w.pending.id}/refund", "buyer", 409,
         "order_not_refundable", json={}),
    case("refund: past the refund window", "POST", ORDERS + "/{w.old.id}/refund", "buyer",
         403, "refund_window_closed", json={"reason": "late"}),
    case("refund: refunded already", "POST", ORDERS + "/{w.refunded.id}/refund", "buyer", 409,
         "already_refunded", json={}),
    case("refund: refunded already, by an admin", "POST", ORDERS + "/{w.refunded.id}/refund",
         "admin", 409, "already_refunded", json={"reason": "again"}),
    # ---- POST /orders/{id}/cancel (no body: the id and the order's state are the input;
    # ---- no workflow runs behind these orders, so none is asked but the pending one's) ----
    case("cancel: id zero", "POST", ORDERS + "/0/cancel", "buyer", 422, V),
    case("cancel: negative id", "POST", ORDERS + "/-1/cancel", "buyer", 422, V),
    case("cancel: id past int4", "POST", ORDERS + "/2147483648/cancel", "buyer", 422, V),
    case("cancel: id not a number", "POST", ORDERS + "/FV-1/cancel", "buyer", 422, V),
    case("cancel: SQL id", "POST", ORDERS + "/1%20OR%201=1/cancel", "buyer", 422, V),
    case("cancel: someone else's pending order", "POST", ORDERS + "/{w.pending.id}/cancel",
         "stranger", 404, "order_not_found"),
    case("cancel: someone else's, by an admin", "POST", ORDERS + "/{w.pending.id}/cancel",
         "admin", 404, "order_not_found"),
    case("cancel: a paid order", "POST", COMPLETED + "/cancel", "buyer", 409, "order_paid"),
    case("cancel: a refunded order", "POST", ORDERS + "/{w.refunded.id}/cancel", "buyer", 409,
         "order_paid"),
    case("cancel: a pending order whose checkout is gone", "POST",
         ORDERS + "/{w.pending.id}/cancel", "buyer", 409, "checkout_not_running"),
    # ---- GET /cart?coupon= ---------------------------------------------------------------
    case("cart: empty coupon", "GET", CART + "?coupon=", "buyer", 422, V),
    case("cart: coupon over 50", "GET", CART + "?coupon=" + n(51, "A"), "buyer", 422, V),
    case("cart: SQL coupon", "GET", CART + "?coupon=X'%20OR%20'1'='1", "buyer", 422, V),
    case("cart: unicode coupon", "GET", CART + "?coupon=%C3%87OUPON-%F0%9F%9A%80", "buyer",
         422, V),
    case("cart: NUL in coupon", "GET", CART + "?coupon=SAVE%0010", "buyer", NUL_REFUSED, None),
    case("cart: inactive coupon", "GET", CART + "?coupon={w.inactive.code}", "buyer", 404,
         "coupon_not_found"),
    case("cart: expired coupon", "GET", CART + "?coupon={w.expired.code}", "buyer", 400,
         "coupon_expired"),
    # ---- POST /modules/{slug}/trial ------------------------------------------------------
    case("trial: upper-case slug", "POST", M + "/modules/Trial-Module/trial", "buyer", 422, V,
         json={}),
    case("trial: SQL slug", "POST", M + "/modules/x'%20OR%201=1--/trial", "buyer", 422, V,
         json={}),
    case("trial: slug over 200", "POST", M + "/modules/" + n(201, "a") + "/trial", "buyer",
         422, V, json={}),
    case("trial: NUL in slug", "POST", M + "/modules/mod%00/trial", "buyer", 422, V, json={}),
    case("trial: unicode slug", "POST", M + "/modules/m%C3%B3dulo/trial", "buyer", 422, V,
         json={}),
    case("trial: unknown slug", "POST", M + "/modules/no-such-module/trial", "buyer", 404,
         "module_not_found", json={}),
    case("trial: a draft", "POST", M + "/modules/{w.draft.slug}/trial", "buyer", 404,
         "module_not_found", json={}),
    case("trial: a free module", "POST", M + "/modules/{w.free.slug}/trial", "buyer", 400,
         "module_is_free", json={}),
    case("trial: a module without a trial", "POST", M + "/modules/{w.paid.slug}/trial",
         "buyer", 400, "trial_not_offered", json={}),
    case("trial: a module already licensed", "POST", M + "/modules/{w.rented.slug}/trial",
         "buyer", 409, "already_licensed", json={}),
    case("trial: one's own module", "POST", TRIAL, "seller", 400, "own_module", json={}),
    case("trial: not a test card", "POST", TRIAL, "buyer", 400, "invalid_payment_method",
         json={"payment_method": "1234"}),
    case("trial: a test card's look-alike", "POST", TRIAL, "buyer", 400,
         "invalid_payment_method", json={"payment_method": "4242 4242 4242 4243"}),
    case("trial: a saved-method id", "POST", TRIAL, "buyer", 400, "invalid_payment_method",
         json={"payment_method": "pm_local_"}),
    case("trial: stripe not enabled", "POST", TRIAL, "buyer", 400, "gateway_unavailable",
         json={"gateway": "stripe", "payment_method": CARD}),
    case("trial: gateway bitcoin", "POST", TRIAL, "buyer", 422, V, json={"gateway": "bitcoin"}),
    case("trial: gateway null", "POST", TRIAL, "buyer", 422, V, json={"gateway": None}),
    case("trial: payment_method SQL", "POST", TRIAL, "buyer", 422, V,
         json={"payment_method": SQL}),
    case("trial: payment_method over 100", "POST", TRIAL, "buyer", 422, V,
         json={"payment_method": n(101, "4")}),
    case("trial: payment_method a number", "POST", TRIAL, "buyer", 422, V,
         json={"payment_method": 4242424242424242}),
    case("trial: NUL in payment_method", "POST", TRIAL, "buyer", NUL_REFUSED, None,
         json={"payment_method": CARD + "\x00"}),
    case("trial: unknown field trial_days", "POST", TRIAL, "buyer", 422, V,
         json={"trial_days": 3650}),
    case("trial: list body", "POST", TRIAL, "buyer", 422, V, json=[]),
    case("trial: not JSON", "POST", TRIAL, "buyer", 422, V, content="local", headers=JSON),
    case("trial: empty body", "POST", TRIAL, "buyer", 422, V),
    # ---- POST /admin/marketplace/coupons -------------------------------------------------
    case("coupon: ends in year 10000 once in UTC", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(ends_at="9999-12-31T23:59:59-14:00")),
    case("coupon: starts before year 1 once in UTC", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(starts_at="0001-01-01T00:00:00+14:00")),
    case("coupon: value a word", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(value="abc")),
    case("coupon: value 1e309", "POST", COUPONS, "admin", 422, V,
         content='{"code": "HUGE", "kind": "percent", "value": 1e309}', headers=JSON),
    case("coupon: value NaN", "POST", COUPONS, "admin", 422, V,
         content='{"code": "NAN", "kind": "percent", "value": NaN}', headers=JSON),
    case("coupon: value Infinity as text", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(value="Infinity")),
    case("coupon: value true", "POST", COUPONS, "admin", 422, V, json=coupon_body(value=True)),
    case("coupon: value a list", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(value=[10])),
    case("coupon: negative value", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(value="-5")),
    case("coupon: value past the maximum", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(kind="fixed", currency="USD", value="1000000.01")),
    case("coupon: value with three decimals", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(value="10.005")),
    case("coupon: value zero", "POST", COUPONS, "admin", 400, "invalid_amount",
         json=coupon_body(value="0")),
    case("coupon: percent 100.5", "POST", COUPONS, "admin", 400, "invalid_amount",
         json=coupon_body(value="100.5")),
    case("coupon: no value", "POST", COUPONS, "admin", 422, V, json=coupon_body(value=...)),
    case("coupon: code with spaces", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(code="SAVE 10")),
    case("coupon: code too short", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(code="AB")),
    case("coupon: code over 50", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(code=n(51, "A"))),
    case("coupon: SQL code", "POST", COUPONS, "admin", 422, V, json=coupon_body(code=SQL)),
    case("coupon: unicode code", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(code="ÇOUPON")),
    case("coupon: code a number", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(code=123456)),
    case("coupon: NUL in code", "POST", COUPONS, "admin", NUL_REFUSED, None,
         json=coupon_body(code="SAVE\x0010")),
    case_w("coupon: taken code, in lower case", "POST", COUPONS, "admin", 409,
           "coupon_code_taken", lambda w: {"json": coupon_body(code=w.coupon.code.lower())}),
    case("coupon: kind bogus", "POST", COUPONS, "admin", 422, V, json=coupon_body(kind="bogus")),
    case("coupon: kind upper case", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(kind="PERCENT")),
    case("coupon: lower-case currency", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(kind="fixed", currency="usd")),
    case("coupon: unknown currency", "POST", COUPONS, "admin", 400, "unsupported_currency",
         json=coupon_body(kind="fixed", currency="XYZ")),
    case("coupon: fixed without currency", "POST", COUPONS, "admin", 400,
         "coupon_currency_required", json=coupon_body(kind="fixed")),
    case("coupon: naive starts_at", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(starts_at=NAIVE)),
    case("coupon: naive ends_at", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(ends_at=NAIVE)),
    case("coupon: starts_at a word", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(starts_at="tomorrow")),
    case("coupon: starts_at in year 10000", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(starts_at="10000-01-01T00:00:00Z")),
    case("coupon: ends before it starts", "POST", COUPONS, "admin", 400,
         "invalid_coupon_window",
         json=coupon_body(starts_at="2030-02-01T00:00:00Z", ends_at="2030-01-01T00:00:00Z")),
    case("coupon: module_ids with 0", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=[0])),
    case("coupon: module_ids negative", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=[-1])),
    case("coupon: module_ids as strings", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=["1"])),
    case("coupon: module_ids with true", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=[True])),
    case("coupon: module_ids with a fraction", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=[1.5])),
    case("coupon: module_ids past int32", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=[2**31])),
    case("coupon: module_ids empty", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=[])),
    case("coupon: 501 module_ids", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids=list(range(1, 502)))),
    case("coupon: module_ids a string", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(module_ids="1,2")),
    case("coupon: max_redemptions true", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(max_redemptions=True)),
    case("coupon: max_redemptions a string", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(max_redemptions="5")),
    case("coupon: max_redemptions a float", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(max_redemptions=5.0)),
    case("coupon: max_redemptions 0", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(max_redemptions=0)),
    case("coupon: max_redemptions past the maximum", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(max_redemptions=10_000_001)),
    case("coupon: negative min_subtotal", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(min_subtotal="-1")),
    case("coupon: min_subtotal with three decimals", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(min_subtotal="5.555")),
    case("coupon: min_subtotal with cents in yen", "POST", COUPONS, "admin", 400,
         "invalid_amount",
         json=coupon_body(kind="fixed", value="500", currency="JPY", min_subtotal="5.50")),
    case("coupon: unknown field redemptions", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(redemptions=5)),
    case("coupon: unknown field active", "POST", COUPONS, "admin", 422, V,
         json=coupon_body(active=False)),
    case("coupon: unknown field id", "POST", COUPONS, "admin", 422, V, json=coupon_body(id=1)),
    case("coupon: list body", "POST", COUPONS, "admin", 422, V, json=[coupon_body()]),
    case("coupon: not JSON", "POST", COUPONS, "admin", 422, V, content="code=SAVE",
         headers=JSON),
    case("coupon: empty body", "POST", COUPONS, "admin", 422, V),
    # ---- PUT /admin/marketplace/coupons/{id} ---------------------------------------------
    case("coupon update: code", "PUT", COUPON, "admin", 422, V, json={"code": "RENAMED"}),
    case("coupon update: active null", "PUT", COUPON, "admin", 400, "field_required",
         json={"active": None}),
    case("coupon update: ends in year 10000 once in UTC", "PUT", COUPON, "admin", 422, V,
         json={"ends_at": "9999-12-31T23:59:59-14:00"}),
    case("coupon update: kind", "PUT", COUPON, "admin", 422, V, json={"kind": "fixed"}),
    case("coupon update: value", "PUT", COUPON, "admin", 422, V, json={"value": "99"}),
    case("coupon update: currency", "PUT", COUPON, "admin", 422, V, json={"currency": "EUR"}),
    case("coupon update: redemptions", "PUT", COUPON, "admin", 422, V,
         json={"redemptions": 0}),
    case("coupon update: active a word", "PUT", COUPON, "admin", 422, V,
         json={"active": "yes"}),
    case("coupon update: active 0", "PUT", COUPON, "admin", 422, V, json={"active": 0}),
    case("coupon update: naive ends_at", "PUT", COUPON, "admin", 422, V,
         json={"ends_at": NAIVE}),
    case("coupon update: ends before it starts", "PUT", COUPON, "admin", 400,
         "invalid_coupon_window", json={"ends_at": "2000-01-01T00:00:00Z"}),
    case("coupon update: starts after it ends", "PUT", COUPON, "admin", 400,
         "invalid_coupon_window", json={"starts_at": "2100-01-01T00:00:00Z"}),
    case("coupon update: max_redemptions 0", "PUT", COUPON, "admin", 422, V,
         json={"max_redemptions": 0}),
    case("coupon update: max_redemptions true", "PUT", COUPON, "admin", 422, V,
         json={"max_redemptions": True}),
    case("coupon update: module_ids empty", "PUT", COUPON, "admin", 422, V,
         json={"module_ids": []}),
    case("coupon update: module_ids with 0", "PUT", COUPON, "admin", 422, V,
         json={"module_ids": [0]}),
    case("coupon update: min_subtotal with three decimals", "PUT", COUPON, "admin", 422, V,
         json={"min_subtotal": "1.001"}),
    case("coupon update: NUL in a key", "PUT", COUPON, "admin", NUL_REFUSED, None,
         json={"active\x00": True}),
    case("coupon update: list body", "PUT", COUPON, "admin", 422, V, json=[{"active": False}]),
    case("coupon update: not JSON", "PUT", COUPON, "admin", 422, V, content="active=0",
         headers=JSON),
    case("coupon update: empty body", "PUT", COUPON, "admin", 422, V),
    case("coupon list: active a word", "GET", COUPONS + "?active=maybe", "admin", 422, V),
    # ---- webhooks (no gateway but the local one is enabled) -----------------------------
    case("stripe webhook: garbage", "POST", STRIPE_HOOK, "anonymous", 400,
         "gateway_unavailable", content=b"\xff\xfegarbage", headers=JSON),
    case("stripe webhook: a forged event", "POST", STRIPE_HOOK, "anonymous", 400,
         "gateway_unavailable",
         json={"id": "evt_1", "type": "payment_intent.succeeded",
               "data": {"object": {"id": "pi_1", "metadata": {"order": "FV-1"}}}},
         headers={"Stripe-Signature": "t=1,v1=00"}),
    case("stripe webhook: empty body", "POST", STRIPE_HOOK, "anonymous", 400,
         "gateway_unavailable"),
    case("stripe webhook: over 256 KiB", "POST", STRIPE_HOOK, "anonymous", 400,
         "malformed_event", content=b'{"id": "' + b"x" * (300 * 1024) + b'"}', headers=JSON),
    case("stripe webhook: over the body limit", "POST", STRIPE_HOOK, "anonymous", 413,
         "payload_too_large", content=b"x" * (2 * 1024 * 1024), headers=JSON),
    case("paypal webhook: garbage", "POST", PAYPAL_HOOK, "anonymous", 400,
         "gateway_unavailable", content="<xml/>", headers={"content-type": "text/xml"}),
    case("paypal webhook: over 256 KiB", "POST", PAYPAL_HOOK, "anonymous", 400,
         "malformed_event", content=b"[" + b"0," * (150 * 1024) + b"0]", headers=JSON),
    case("local webhook: no such route", "POST", M + "/webhooks/local", "anonymous", 404,
         "not_found", json={}),
    case("stripe webhook: GET", "GET", STRIPE_HOOK, "anonymous", 405, "method_not_allowed"),
]
# fmt: on


@pytest.mark.parametrize("hostile", CASES)
async def test_hostile_commerce_input_is_refused_and_changes_nothing(
    api, db, world, temporal_dev, hostile: Case
):
    request = hostile.request(world) if callable(hostile.request) else dict(hostile.request)
    if "json" in request:
        request["json"] = _resolve(request["json"], world)
    before = await snapshot(db)

    response = await send(
        api,
        temporal_dev,
        world,
        hostile.method,
        hostile.path.format(w=world),
        hostile.caller,
        **request,
    )

    assert_refused(response, hostile.status, hostile.error)
    assert await snapshot(db) == before, "a refused request changed the database"


# --- ids in paths, paging -----------------------------------------------------------------

ID_ENDPOINTS = [
    # method, path ({id} is replaced), caller, request, error for a well-formed absent id
    ("GET", ORDERS + "/{id}", "buyer", {}, "order_not_found"),
    ("GET", ORDERS + "/{id}/invoice", "buyer", {}, "order_not_found"),
    ("POST", ORDERS + "/{id}/refund", "buyer", {"json": {"reason": "x"}}, "order_not_found"),
    ("POST", ORDERS + "/{id}/refund", "admin", {"json": {}}, "order_not_found"),
    ("GET", COUPONS + "/{id}", "admin", {}, "coupon_not_found"),
    ("PUT", COUPONS + "/{id}", "admin", {"json": {"active": False}}, "coupon_not_found"),
    ("DELETE", COUPONS + "/{id}", "admin", {}, "coupon_not_found"),
]


@pytest.mark.parametrize(
    ("method", "path", "caller", "request_", "absent_error"),
    [pytest.param(*e, id=f"{e[0]} {e[1]} as {e[2]}") for e in ID_ENDPOINTS],
)
async def test_malformed_and_absent_ids_in_paths(
    api, db, world, temporal_dev, method, path, caller, request_, absent_error
):
    before = await snapshot(db)
    for bad in BAD_IDS:
        url = path.replace("{id}", bad)
        response = await send(api, temporal_dev, world, method, url, caller, **request_)
        assert response.status_code == 422, f"{method} {url}: {response.text[:300]}"
        assert response.json()["error"] == V, f"{method} {url}: {response.text[:300]}"
    url = path.replace("{id}", ABSENT_ID)
    response = await send(api, temporal_dev, world, method, url, caller, **request_)
    assert_refused(response, 404, absent_error)
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("path", "caller", "extra"),
    [
        pytest.param(ORDERS, "buyer", [], id="GET /marketplace/orders"),
        pytest.param(
            COUPONS,
            "admin",
            ["active=maybe", "active=2", f"active={SQL}"],
            id="GET /admin/marketplace/coupons",
        ),
    ],
)
async def test_malformed_paging_and_filters(api, db, world, temporal_dev, path, caller, extra):
    before = await snapshot(db)
    for query in BAD_PAGING + extra:
        response = await send(api, temporal_dev, world, "GET", f"{path}?{query}", caller)
        assert response.status_code == 422, f"?{query}: {response.text[:300]}"
        assert response.json()["error"] == V, f"?{query}: {response.text[:300]}"
    assert await snapshot(db) == before


# --- license keys in paths ----------------------------------------------------------------


def _typo(key: str) -> str:
    """The key with its last (check) symbol changed: one typo, caught by the check."""
    last = key[-1]
    return key[:-1] + next(s for s in ALPHABET if s != last)


MALFORMED_KEYS = [
    "not-a-key",
    "FVM-00000-00000-00000-00000-00000-0000",  # one symbol short
    "FVM-' OR '1'='1",
    "%00",
    "%20%20",
    "%D0%BA%D0%BB%D1%8E%D1%87",  # "ключ": not ASCII
    "FVM-UUUUU-UUUUU-UUUUU-UUUUU-UUUUU-UUUUU",  # U is not a symbol
    n(100, "A"),  # at the length limit, but no key
]

SUBSCRIPTION_ENDPOINTS = [
    ("GET", M + "/licenses/{key}/subscription"),
    ("POST", M + "/licenses/{key}/subscription/cancel"),
    ("POST", M + "/licenses/{key}/subscription/resume"),
]


@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(*e, id=f"{e[0]} {e[1]}") for e in SUBSCRIPTION_ENDPOINTS]
)
async def test_malformed_and_absent_license_keys_in_paths(
    api, db, world, temporal_dev, method, path
):
    before = await snapshot(db)
    refused = [(bad, 400, "malformed_license_key") for bad in MALFORMED_KEYS] + [
        (_typo(world.sub_key), 400, "malformed_license_key"),
        (n(101, "A"), 422, V),
        (new_license_key(), 404, "license_not_found"),
        (world.owned_key, 404, "not_a_subscription"),  # the buyer's one-time license
    ]
    for bad, status, error in refused:
        url = path.replace("{key}", bad)
        response = await send(api, temporal_dev, world, method, url, "buyer")
        assert response.status_code == status, f"{method} {url}: {response.text[:300]}"
        assert response.json()["error"] == error, f"{method} {url}: {response.text[:300]}"
    stranger = await send(
        api, temporal_dev, world, method, path.replace("{key}", world.sub_key), "stranger"
    )
    assert_refused(stranger, 404, "license_not_found")
    assert await snapshot(db) == before


# --- webhooks on an app with Stripe enabled -----------------------------------------------

STRIPE_SECRET = "whsec_hostile_" + uuid.uuid4().hex


@pytest.fixture
async def stripe_api(db, engine, temporal_dev, tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        jwt_secret=JWT_SECRET,
        temporal_task_queue=f"test-{uuid.uuid4().hex}",
        stripe_secret_key=SecretStr("sk_test_hostile"),
        stripe_webhook_secret=SecretStr(STRIPE_SECRET),
        stripe_api_base="http://127.0.0.1:9",  # never called: nothing here is paid
    )
    app = create_app(settings, engine, TemporalConnector.of(temporal_dev.client))
    app.state.sessions = db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _signed(body: bytes | str, secret: str = STRIPE_SECRET, at: int | None = None) -> dict:
    text = body if isinstance(body, str) else body.decode("utf-8", "replace")
    header = stripe.WebhookSignature.generate_signature_header(text, secret, timestamp=at)
    raw = body.encode() if isinstance(body, str) else body
    return {"content": raw, "headers": {"Stripe-Signature": header, **JSON}}


def _event(**fields) -> str:
    event = {
        "id": "evt_" + uuid.uuid4().hex,
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_hostile"}},
    }
    return json.dumps(event | fields)


STRIPE_DELIVERIES = [
    # name, request, status, error
    ("unsigned garbage", {"content": b"garbage", "headers": JSON}, 401, "invalid_signature"),
    (
        "a bogus signature",
        {"content": _event().encode(), "headers": {"Stripe-Signature": "t=abc,v1=zz"}},
        401,
        "invalid_signature",
    ),
    (
        "signed by someone else",
        lambda: _signed(_event(), secret="whsec_forger"),
        401,
        "invalid_signature",
    ),
    (
        "signed an hour ago",
        lambda: _signed(_event(), at=int(time.time()) - 3600),
        400,
        "stale_event",
    ),
    ("signed garbage", lambda: _signed("garbage"), 400, "malformed_event"),
    ("signed list", lambda: _signed("[1, 2]"), 400, "malformed_event"),
    ("signed event without id", lambda: _signed(json.dumps({"type": "x"})), 400, "malformed_event"),
    ("signed event with a numeric id", lambda: _signed(_event(id=5)), 400, "malformed_event"),
    ("signed non-UTF-8", lambda: _signed(b'{"id": "\xff\xfe"}'), 400, "malformed_event"),
    (
        "signed, event id over 255",
        lambda: _signed(_event(id="evt_" + "x" * 300)),
        400,
        "malformed_event",
    ),
    ("over 256 KiB", lambda: _signed(_event(padding="x" * (300 * 1024))), 400, "malformed_event"),
    # signed, so only Stripe could send these; still no 500 and nothing stored
    ("signed, NUL in the event id", lambda: _signed(_event(id="evt_\x00")), NUL_REFUSED, None),
    (
        "signed, NUL in the event type",
        lambda: _signed(_event(type="charge.\x00")),
        NUL_REFUSED,
        None,
    ),
    (
        "signed, NUL in the payment id",
        lambda: _signed(_event(data={"object": {"id": "pi_\x00"}})),
        NUL_REFUSED,
        None,
    ),
    (
        "signed, NUL in the order reference",
        lambda: _signed(_event(data={"object": {"id": "pi_1", "metadata": {"order": "FV-\x00"}}})),
        NUL_REFUSED,
        None,
    ),
]


@pytest.mark.parametrize(
    ("request_", "status", "error"),
    [pytest.param(*d[1:], id=d[0]) for d in STRIPE_DELIVERIES],
)
async def test_a_stripe_webhook_that_cannot_be_trusted_changes_nothing(
    stripe_api, db, request_, status, error
):
    if callable(request_):  # signed now, not at collection: the signature would go stale
        request_ = request_()
    before = await snapshot(db)
    response = await stripe_api.post(STRIPE_HOOK, **request_)
    assert_refused(response, status, error)
    assert await snapshot(db) == before
