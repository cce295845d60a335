"""Admins managing publishers: the filtered list, details, verify, suspend and reinstate;
and what a suspension does to the marketplace, buyers and the search engine."""

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.checkout import new_order_number
from domain.modules import ModuleStatus
from integrations.search import TypesenseSearch, module_document
from integrations.wiring import search_from
from models.commerce import EarningEntry, Order
from models.module import ModuleVersion
from models.platform import AuditLogEntry, NotificationOutbox
from models.publisher import Publisher
from settings import Settings
from tests.conftest import Api
from tests.factories import issue_license, unique
from tests.helpers import replaced_adapters
from tests.typesense_fake import TypesenseServer

ADMIN = "/api/v1/admin/marketplace/publishers"
MARKET = "/api/v1/marketplace"


@pytest.fixture
def api(shared_api: Api) -> Api:
    """One app for the module (see conftest.shared_app): many small table-driven cases."""
    return shared_api


def app_of(api):
    return api.http._transport.app


async def update(db, publisher: Publisher, **fields) -> None:
    async with db() as session:
        row = await session.get(Publisher, publisher.id)
        for name, value in fields.items():
            setattr(row, name, value)
        await session.commit()


async def audit_of(db, publisher_id: int) -> list[AuditLogEntry]:
    async with db() as session:
        rows = await session.execute(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == "publisher")
            .where(AuditLogEntry.entity_id == str(publisher_id))
            .order_by(AuditLogEntry.id)
        )
        return list(rows.scalars())


async def mails_to(db, email: str) -> list[NotificationOutbox]:
    async with db() as session:
        rows = await session.execute(
            select(NotificationOutbox)
            .where(NotificationOutbox.to_email == email)
            .order_by(NotificationOutbox.id)
        )
        return list(rows.scalars())


async def suspend(api, admin, publisher, reason="Sold counterfeit modules"):
    return await api.request(
        "POST", f"{ADMIN}/{publisher.id}/suspend", as_user=admin, json={"reason": reason}
    )


async def reinstate(api, admin, publisher, **body):
    return await api.request(
        "POST", f"{ADMIN}/{publisher.id}/reinstate", as_user=admin, json=body or None
    )


# --- who may call ----------------------------------------------------------------------


def routes(publisher_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", ADMIN, None),
        ("GET", f"{ADMIN}/{publisher_id}", None),
        ("POST", f"{ADMIN}/{publisher_id}/verify", None),
        ("POST", f"{ADMIN}/{publisher_id}/suspend", {"reason": "spam"}),
        ("POST", f"{ADMIN}/{publisher_id}/reinstate", None),
    ]


async def test_only_admins_manage_publishers(api, make, db):
    owner, publisher = await make.publisher()
    consumer = await make.user()
    for method, url, body in routes(publisher.id):
        for caller in (consumer, owner):
            response = await api.request(method, url, as_user=caller, json=body)
            assert response.status_code == 403, (method, url)
            assert response.json()["error"] == "insufficient_scope"
        anonymous = await api.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, url)
    unchanged = await make.reload(Publisher, publisher.id)
    assert unchanged.status == "active" and unchanged.verified is False


async def test_an_unknown_publisher_is_not_found(api, make):
    admin = await make.admin()
    for method, url, body in routes(2**31 - 1)[1:]:
        response = await api.request(method, url, as_user=admin, json=body)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"] == "publisher_not_found"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/{id}/suspend", {}),
        ("POST", "/{id}/suspend", {"json": {}}),
        ("POST", "/{id}/suspend", {"json": {"reason": ""}}),
        ("POST", "/{id}/suspend", {"json": {"reason": "   "}}),
        ("POST", "/{id}/suspend", {"json": {"reason": "x" * 2001}}),
        ("POST", "/{id}/suspend", {"json": {"reason": 5}}),
        ("POST", "/{id}/suspend", {"json": {"reason": "spam", "status": "active"}}),
        ("POST", "/{id}/suspend", {"json": ["spam"]}),
        ("POST", "/{id}/reinstate", {"json": {"note": "x" * 2001}}),
        ("POST", "/{id}/reinstate", {"json": {"reason": "ok"}}),
        ("GET", "", {"params": {"status": "deleted"}}),
        ("GET", "", {"params": {"verified": "maybe"}}),
        ("GET", "", {"params": {"sort": "downloads"}}),
        ("GET", "", {"params": {"limit": 0}}),
        ("GET", "", {"params": {"limit": 101}}),
        ("GET", "", {"params": {"offset": -1}}),
        ("GET", "", {"params": {"q": "x" * 101}}),
        ("GET", "", {"params": {"q": "a\x00b"}}),
        ("GET", "/0", {}),
        ("GET", "/99999999999", {}),
        ("GET", "/abc", {}),
    ],
)
async def test_malformed_requests_are_422_and_change_nothing(api, make, method, path, kwargs):
    admin = await make.admin()
    _, publisher = await make.publisher()
    url = ADMIN + path.replace("{id}", str(publisher.id))
    response = await api.request(method, url, as_user=admin, **kwargs)
    assert response.status_code == 422, response.text
    assert (await make.reload(Publisher, publisher.id)).status == "active"


# --- the list and the details ------------------------------------------------------------


async def listed(api, admin, **params) -> list[int]:
    response = await api.request("GET", ADMIN, as_user=admin, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def roster(make, db):
    """Four publishers: plain, verified, asking for verification, suspended."""
    made = {}
    for name in ("plain", "verified", "asking", "suspended"):
        made[name] = await make.publisher()
    now = datetime.now(UTC)
    await update(db, made["plain"][1], display_name="Zebra Works", company_name="100%_Real Ltd")
    await update(db, made["verified"][1], display_name="alpha tools", verified=True)
    await update(db, made["asking"][1], display_name="Mid Corp", verification_requested_at=now)
    await update(db, made["suspended"][1], display_name="Beta", status="suspended")
    return {name: publisher for name, (_, publisher) in made.items()} | {
        f"{name}_owner": user for name, (user, _) in made.items()
    }


async def test_the_list_filters_searches_sorts_and_pages(api, make, db, roster):
    admin = await make.admin()
    ids = {name: roster[name].id for name in ("plain", "verified", "asking", "suspended")}
    mine = set(ids.values())

    def only_mine(found):
        return [i for i in found if i in mine]

    assert only_mine(await listed(api, admin, limit=100)) == [
        ids["suspended"],
        ids["asking"],
        ids["verified"],
        ids["plain"],
    ], "newest first"
    assert only_mine(await listed(api, admin, status="suspended", limit=100)) == [ids["suspended"]]
    assert ids["suspended"] not in await listed(api, admin, status="active", limit=100)
    assert only_mine(await listed(api, admin, verified="true", limit=100)) == [ids["verified"]]
    assert ids["verified"] not in await listed(api, admin, verified="false", limit=100)
    assert only_mine(await listed(api, admin, verification_requested="true", limit=100)) == [
        ids["asking"]
    ]

    assert await listed(api, admin, q="zebra") == [ids["plain"]], "by name, any case"
    assert await listed(api, admin, q=roster["asking"].slug) == [ids["asking"]], "by slug"
    email = roster["verified_owner"].email
    assert await listed(api, admin, q=email.upper()) == [ids["verified"]], "by owner email"
    assert await listed(api, admin, q="100%_real") == [ids["plain"]], "by company, literally"
    assert await listed(api, admin, q="%") == [ids["plain"]], "% is a character, not a wildcard"
    assert await listed(api, admin, q="_") == [ids["plain"]], "_ is a character, not a wildcard"
    assert await listed(api, admin, q="no such publisher anywhere") == []

    by_name = only_mine(await listed(api, admin, sort="name", limit=100))
    assert by_name == [ids["verified"], ids["suspended"], ids["asking"], ids["plain"]]

    page = await api.request(
        "GET", ADMIN, as_user=admin, params={"status": "active", "limit": 1, "offset": 1}
    )
    body = page.json()
    assert body["limit"] == 1 and body["offset"] == 1 and len(body["items"]) == 1
    assert body["total"] >= 3


async def test_list_items_show_the_owner_email_and_module_count(api, make, roster):
    admin = await make.admin()
    publisher = roster["plain"]
    await make.module(publisher)
    await make.module(publisher, status=ModuleStatus.PUBLISHED)
    response = await api.request("GET", ADMIN, as_user=admin, params={"q": publisher.slug})
    [item] = response.json()["items"]
    assert item["owner_email"] == roster["plain_owner"].email
    assert item["module_count"] == 2
    assert item["status"] == "active" and item["suspended_at"] is None


async def _order_with_earnings(db, buyer, publisher, module, lines) -> None:
    """A paid order and the ledger entries ``lines`` (kind, gross, commission, net, currency)."""
    now = datetime.now(UTC)
    async with db() as session:
        order = Order(
            order_number=new_order_number(now),
            user_id=buyer.id,
            items=[],
            subtotal=Decimal("0"),
            total=Decimal("0"),
            currency="USD",
            payment_method="local",
            payment_status="succeeded",
            paid_at=now,
            status="completed",
            billing_email=buyer.email,
        )
        session.add(order)
        await session.flush()
        for kind, gross, commission, net, currency in lines:
            session.add(
                EarningEntry(
                    publisher_id=publisher.id,
                    order_id=order.id,
                    module_id=module.id,
                    kind=kind,
                    gross=Decimal(gross),
                    commission=Decimal(commission),
                    net=Decimal(net),
                    commission_rate=Decimal("30.00"),
                    currency=currency,
                    occurred_at=now,
                )
            )
        await session.commit()


async def test_details_show_modules_by_status_and_revenue_per_currency(api, make, db):
    admin = await make.admin()
    owner, publisher = await make.publisher()
    buyer = await make.user()
    sold = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    await make.module(publisher)
    await make.module(publisher, status=ModuleStatus.PENDING)
    await _order_with_earnings(
        db,
        buyer,
        publisher,
        sold,
        [("sale", "10.00", "3.00", "7.00", "USD"), ("refund", "-10.00", "-3.00", "-7.00", "USD")],
    )
    await _order_with_earnings(
        db, buyer, publisher, sold, [("sale", "20.00", "6.00", "14.00", "USD")]
    )
    await _order_with_earnings(
        db, buyer, publisher, sold, [("sale", "5.00", "1.50", "3.50", "EUR")]
    )

    response = await api.request("GET", f"{ADMIN}/{publisher.id}", as_user=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["owner_email"] == owner.email and body["user_id"] == owner.id
    assert body["module_count"] == 3
    assert body["modules_by_status"] == {"published": 1, "draft": 1, "pending": 1}
    assert body["revenue"] == [
        {"currency": "EUR", "gross": "5.00", "commission": "1.50", "net": "3.50"},
        {"currency": "USD", "gross": "20.00", "commission": "6.00", "net": "14.00"},
    ]

    _, quiet = await make.publisher()
    ranked = await listed(api, admin, sort="revenue", limit=100)
    assert ranked.index(publisher.id) < ranked.index(quiet.id)


# --- verify ------------------------------------------------------------------------------


async def test_verifying_is_audited_once_and_repeats_harmlessly(api, make, db):
    admin = await make.admin()
    owner, publisher = await make.publisher()
    await update(db, publisher, verification_requested_at=datetime.now(UTC))

    first = await api.request("POST", f"{ADMIN}/{publisher.id}/verify", as_user=admin)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["verified"] is True and body["verification_date"] is not None
    again = await api.request("POST", f"{ADMIN}/{publisher.id}/verify", as_user=admin)
    assert again.status_code == 200
    assert again.json()["verification_date"] == body["verification_date"]

    assert [(e.action, e.actor_id) for e in await audit_of(db, publisher.id)] == [
        ("publisher.verify", admin.id)
    ]
    assert [m.kind for m in await mails_to(db, owner.email)] == ["publisher_verified"]
    assert publisher.id not in await listed(api, admin, verification_requested="true")
    profile = await api.request("GET", f"{MARKET}/publishers/{publisher.slug}")
    assert profile.json()["verified"] is True


# --- suspend and reinstate ---------------------------------------------------------------


async def test_suspending_and_reinstating_are_recorded_and_refused_when_moot(api, make, db):
    admin = await make.admin()
    owner, publisher = await make.publisher()

    not_yet = await reinstate(api, admin, publisher)
    assert not_yet.status_code == 409 and not_yet.json()["error"] == "not_suspended"

    suspended = await suspend(api, admin, publisher, "  Sold counterfeit modules  ")
    assert suspended.status_code == 200, suspended.text
    body = suspended.json()
    assert body["status"] == "suspended"
    assert body["suspension_reason"] == "Sold counterfeit modules"
    assert body["suspended_at"] is not None
    twice = await suspend(api, admin, publisher, "again")
    assert twice.status_code == 409 and twice.json()["error"] == "already_suspended"
    stored = await make.reload(Publisher, publisher.id)
    assert stored.suspension_reason == "Sold counterfeit modules", "the second try changed it"
    assert [
        p["id"]
        for p in (
            await api.request(
                "GET", ADMIN, as_user=admin, params={"status": "suspended", "q": publisher.slug}
            )
        ).json()["items"]
    ] == [publisher.id]

    back = await reinstate(api, admin, publisher, note="appeal accepted")
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "active" and back.json()["suspended_at"] is None
    assert (await reinstate(api, admin, publisher)).json()["error"] == "not_suspended"

    entries = await audit_of(db, publisher.id)
    assert [(e.action, e.actor_id) for e in entries] == [
        ("publisher.suspend", admin.id),
        ("publisher.reinstate", admin.id),
    ]
    assert entries[0].changes["reason"] == "Sold counterfeit modules"
    assert entries[1].changes["note"] == "appeal accepted"
    assert entries[1].changes["suspension"]["reason"] == "Sold counterfeit modules"
    mails = await mails_to(db, owner.email)
    assert [m.kind for m in mails] == ["publisher_suspended", "publisher_reinstated"]
    assert "Sold counterfeit modules" in mails[0].body
    assert "appeal accepted" in mails[1].body


@pytest.fixture
async def shop(api, make, db):
    """A publisher with a free module and a featured paid one (two versions, downloadable),
    one buyer holding a license of the paid module, and a download in the last week."""
    word = unique("quokka").replace("-", "")
    owner, publisher = await make.publisher()
    free = await make.module(
        publisher, status=ModuleStatus.PUBLISHED, display_name=f"Free {word} helper"
    )
    paid = await make.module(
        publisher,
        status=ModuleStatus.PUBLISHED,
        display_name=f"Paid {word} suite",
        license_type="paid",
        price=Decimal("49.00"),
        featured=True,
        featured_order=0,
    )
    storage = app_of(api).state.adapters.storage
    async with db() as session:
        for module in (free, paid):
            key = f"modules/{module.technical_name}/1.0.0/p.zip"
            path = api.settings.data_dir / f"{module.technical_name}.zip"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"zip")
            storage.put_file(key, path)
            session.add(
                ModuleVersion(
                    module_id=module.id,
                    version="1.0.0",
                    zip_file_url=key,
                    zip_file_hash="0" * 64,
                    zip_file_size=3,
                    signature="c2ln",
                    signature_key_id="0123456789abcdef",
                    status="published",
                    is_latest=True,
                    published_at=datetime.now(UTC) - timedelta(days=2),
                )
            )
        await session.commit()
    buyer = await make.user()
    key = await issue_license(db, app_of(api), buyer, paid)
    return {
        "word": word,
        "owner": owner,
        "publisher": publisher,
        "free": free,
        "paid": paid,
        "buyer": buyer,
        "key": key,
    }


async def public_view(api, shop) -> dict[str, object]:
    """What anyone sees of the shop's modules on the public marketplace."""
    mine = {shop["free"].slug, shop["paid"].slug}

    async def slugs(url, **params):
        response = await api.request("GET", f"{MARKET}{url}", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        return sorted(item["slug"] for item in items if item["slug"] in mine)

    publisher = shop["publisher"]
    pages = [
        (await api.request("GET", f"{MARKET}/modules/{slug}")).status_code for slug in sorted(mine)
    ]
    return {
        "listing": await slugs("/modules", limit=100),
        "search": await slugs("/search", q=shop["word"]),
        "featured": await slugs("/featured", limit=100),
        "trending": await slugs("/trending", limit=100),
        "by_publisher": await slugs("/modules", publisher=publisher.slug),
        "profile": (await api.request("GET", f"{MARKET}/publishers/{publisher.slug}")).status_code,
        "pages": pages,
    }


async def download(api, module, user=None) -> tuple[int, str | None]:
    response = await api.request(
        "GET", f"{MARKET}/modules/{module.slug}/download/1.0.0", as_user=user
    )
    return response.status_code, response.json().get("error") if response.is_error else None


INSTANCE = {"instance_id": "inst-1", "domain": "shop.example.com"}


async def verify(api, key: str) -> str:
    response = await api.request(
        "POST", f"{MARKET}/licenses/{key}/verify", json=INSTANCE | {"nonce": secrets.token_hex(16)}
    )
    assert response.status_code == 200, response.text
    return response.json()["answer"]["code"]


async def test_a_suspension_takes_the_shop_off_the_market_but_buyers_keep_what_they_bought(
    api, make, db, shop
):
    admin = await make.admin()
    owner, publisher, buyer = shop["owner"], shop["publisher"], shop["buyer"]
    free, paid = shop["free"], shop["paid"]
    both = sorted([free.slug, paid.slug])
    assert await download(api, paid, buyer) == (307, None), "a download for trending"
    late_buyer = await make.user()
    added = await api.request(
        "POST", f"{MARKET}/cart/add", as_user=late_buyer, json={"module_id": paid.id}
    )
    assert added.status_code == 200, added.text
    activated = await api.request(
        "POST",
        f"{MARKET}/licenses/{shop['key']}/activate",
        json=INSTANCE | {"nonce": secrets.token_hex(16)},
    )
    assert activated.status_code == 200, activated.text
    visible = {
        "listing": both,
        "search": both,
        "featured": [paid.slug],
        "trending": [paid.slug],
        "by_publisher": both,
        "profile": 200,
        "pages": [200, 200],
    }
    assert await public_view(api, shop) == visible

    assert (await suspend(api, admin, publisher)).status_code == 200

    assert await public_view(api, shop) == {
        "listing": [],
        "search": [],
        "featured": [],
        "trending": [],
        "by_publisher": [],
        "profile": 404,
        "pages": [404, 404],
    }
    stranger = await make.user()
    refused = await api.request(
        "POST", f"{MARKET}/cart/add", as_user=stranger, json={"module_id": paid.id}
    )
    assert (refused.status_code, refused.json()["error"]) == (404, "module_not_found")
    checkout = await api.request(
        "POST",
        f"{MARKET}/checkout",
        as_user=late_buyer,
        json={"gateway": "local", "payment_method": "4242424242424242"},
    )
    assert (checkout.status_code, checkout.json()["error"]) == (404, "module_not_found")
    async with db() as session:
        orders = await session.execute(select(Order).where(Order.user_id == late_buyer.id))
        assert orders.scalars().all() == [], "no order is opened for a suspended shop"
    upload = await api.request(
        "POST",
        f"/api/v1/publisher/modules/{paid.id}/versions",
        as_user=owner,
        files={"file": ("package.zip", b"PK", "application/zip")},
    )
    assert (upload.status_code, upload.json()["error"]) == (403, "publisher_suspended")

    assert await download(api, paid, buyer) == (307, None), "buyers keep their downloads"
    assert await verify(api, shop["key"]) == "VALID", "and their licenses"
    reactivated = await api.request(
        "POST",
        f"{MARKET}/licenses/{shop['key']}/activate",
        json=INSTANCE | {"nonce": secrets.token_hex(16)},
    )
    assert reactivated.status_code == 200, "an installed instance activates again"
    assert await download(api, paid, owner) == (307, None)
    assert await download(api, paid, admin) == (307, None)
    assert await download(api, paid) == (404, "module_not_found")
    assert await download(api, paid, stranger) == (404, "module_not_found")
    assert await download(api, free) == (404, "module_not_found"), "hidden like in discovery"
    assert await download(api, free, stranger) == (404, "module_not_found")

    assert (await reinstate(api, admin, publisher)).status_code == 200
    assert await public_view(api, shop) == visible
    again = await api.request(
        "POST", f"{MARKET}/cart/add", as_user=stranger, json={"module_id": paid.id}
    )
    assert again.status_code == 200, again.text
    assert await download(api, free) == (307, None)


# --- the search engine -------------------------------------------------------------------

TYPESENSE_KEY = "typesense-test-key"


@pytest.fixture
async def typesense_api(api):
    """The API with Typesense (an HTTP fake of it) as its search engine."""
    with TypesenseServer(TYPESENSE_KEY) as fake:
        backend = search_from(
            Settings(
                search_backend="typesense",
                typesense_url=fake.url,
                typesense_api_key=TYPESENSE_KEY,
                typesense_collection="modules_admin_test",
            ),
            sessions=None,
        )
        assert isinstance(backend, TypesenseSearch)
        app = app_of(api)
        try:
            with replaced_adapters(app, search=backend):
                yield api, fake.documents
        finally:
            await backend.aclose()


async def test_suspending_drops_the_modules_from_typesense_and_reinstating_restores_them(
    typesense_api, make
):
    api, documents = typesense_api
    admin = await make.admin()
    _, publisher = await make.publisher()
    listed_module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    draft = await make.module(publisher)
    _, other = await make.publisher()
    bystander = await make.module(other, status=ModuleStatus.PUBLISHED)
    backend = app_of(api).state.adapters.search
    for module, owner in ((listed_module, publisher), (bystander, other)):
        await backend.index(module_document(module, owner.slug, None))

    assert (await suspend(api, admin, publisher)).status_code == 200
    assert set(documents["modules_admin_test"]) == {str(bystander.id)}

    assert (await reinstate(api, admin, publisher)).status_code == 200
    indexed = documents["modules_admin_test"]
    assert set(indexed) == {str(listed_module.id), str(bystander.id)}, "drafts stay out"
    assert indexed[str(listed_module.id)]["publisher_slug"] == publisher.slug
    assert str(draft.id) not in indexed
