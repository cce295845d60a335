"""Money reads one way everywhere: a string with the currency's minor digits ("0.00",
"10.50"; none for JPY), never a number, "0" or "10.5"."""

import json
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from api.schemas import MONEY_PATTERN
from domain.modules import ModuleStatus

COUPONS = "/api/v1/admin/marketplace/coupons"
CART = "/api/v1/marketplace/cart"
GOLDEN = Path(__file__).resolve().parent / "golden" / "openapi.json"
MONEY_NAMES = re.compile(
    r"^(price|unit_price|subtotal|discount|tax|total|refunded_amount|gross|commission|net|"
    r"gross_amount|platform_fee|net_amount|carried_in|orders_total|refunded|min_subtotal)$"
)


def is_money(value) -> bool:
    return isinstance(value, str) and re.fullmatch(MONEY_PATTERN, value) is not None


@pytest.mark.parametrize(
    ("given", "currency", "shown"),
    [
        ({"kind": "percent", "value": "10"}, None, "10.00"),
        ({"kind": "percent", "value": "12.5"}, None, "12.50"),
        ({"kind": "fixed", "value": "10.5", "currency": "USD"}, "USD", "10.50"),
        ({"kind": "fixed", "value": "500", "currency": "JPY"}, "JPY", "500"),
    ],
)
async def test_a_coupon_reads_the_same_created_listed_and_read(api, make, given, currency, shown):
    admin = await make.admin()
    code = f"C{uuid.uuid4().hex[:12].upper()}"
    created = await api.request(
        "POST", COUPONS, as_user=admin, json={"code": code, **given, "min_subtotal": "20"}
    )
    assert created.status_code == 201, created.text
    listed = await api.request("GET", COUPONS, as_user=admin, params={"limit": 100})
    [in_list] = [c for c in listed.json()["items"] if c["code"] == code]
    single = await api.request("GET", f"{COUPONS}/{created.json()['id']}", as_user=admin)
    for body in (created.json(), in_list, single.json()):
        assert body["value"] == shown
        assert body["min_subtotal"] == ("20" if currency == "JPY" else "20.00")


async def test_prices_and_totals_carry_their_currency_digits(api, make):
    _, publisher = await make.publisher()
    dollars = await make.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("10.5")
    )
    yen = await make.module(
        publisher,
        status=ModuleStatus.PUBLISHED,
        license_type="paid",
        price=Decimal("1500"),
        currency="JPY",
    )
    found = await api.request("GET", "/api/v1/marketplace/modules", params={"limit": 100})
    prices = {m["id"]: m["price"] for m in found.json()["items"]}
    assert (prices[dollars.id], prices[yen.id]) == ("10.50", "1500")
    page = await api.request("GET", f"/api/v1/marketplace/modules/{yen.slug}")
    assert (page.json()["price"], page.json()["currency"]) == ("1500", "JPY")

    buyer = await make.user()
    cart = await api.request("POST", f"{CART}/add", as_user=buyer, json={"module_id": dollars.id})
    assert cart.status_code == 200, cart.text
    assert cart.json()["items"][0]["unit_price"] == "10.50"
    totals = cart.json()["totals"]
    assert totals["discount"] == "0.00" and totals["subtotal"] == "10.50"
    assert all(is_money(totals[k]) for k in ("subtotal", "discount", "tax", "total"))


def test_every_money_field_in_the_openapi_document_is_a_decimal_string():
    """A new amount field declared as a bare Decimal (or a float) would slip out as "10.5"
    or 10.5: every response property named like money must be the Money type."""
    document = json.loads(GOLDEN.read_text())
    loose = []
    for name, schema in document["components"]["schemas"].items():
        if name.endswith("In") or name.endswith("Patch") or name.endswith("-Input"):
            continue
        for prop, spec in schema.get("properties", {}).items():
            if not MONEY_NAMES.match(prop) and not (name == "CouponOut" and prop == "value"):
                continue
            options = spec.get("anyOf", [spec])
            if all(o.get("type") in ("integer", "null") for o in options):
                continue  # counts ("total" of a page, "refunds"), not amounts
            amounts = [o for o in options if o.get("type") != "null"]
            if not all(
                o.get("type") == "string" and o.get("pattern") == MONEY_PATTERN for o in amounts
            ):
                loose.append(f"{name}.{prop}")
    assert loose == []
