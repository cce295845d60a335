"""What a publisher notices through the HTTP API: becoming a publisher, the profile,
verification, and managing module listings."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.access import Role
from domain.modules import ModuleStatus
from models.module import MarketplaceModule
from models.platform import AuditLogEntry
from models.publisher import Publisher

REGISTER = "/api/v1/publisher/register"
PROFILE = "/api/v1/publisher/profile"
VERIFY = "/api/v1/publisher/verify"
MODULES = "/api/v1/publisher/modules"
ME = "/api/v1/auth/me"


async def audit_rows(db, action: str, entity_id: int) -> list[AuditLogEntry]:
    async with db() as session:
        result = await session.execute(
            select(AuditLogEntry)
            .where(AuditLogEntry.action == action, AuditLogEntry.entity_id == str(entity_id))
            .order_by(AuditLogEntry.id)
        )
        return list(result.scalars())


async def register(api, user, **body):
    body.setdefault("display_name", "Acme Tools")
    return await api.request("POST", REGISTER, as_user=user, json=body)


async def registered(api, make, **body):
    """A consumer who became a publisher through the API, and the profile it got."""
    user = await make.user()
    response = await register(api, user, **body)
    assert response.status_code == 201, response.text
    return user, response.json()


def module_body(**fields):
    fields.setdefault("technical_name", "acme_crm")
    fields.setdefault("display_name", "Acme CRM")
    fields.setdefault("short_description", "Customers, deals and invoices.")
    return fields


async def create_module(api, user, **fields):
    return await api.request("POST", MODULES, as_user=user, json=module_body(**fields))


async def get_module(api, user, module_id):
    response = await api.request("GET", f"{MODULES}/{module_id}", as_user=user)
    assert response.status_code == 200, response.text
    return response.json()


# --- becoming a publisher --------------------------------------------------------------------


async def test_a_consumer_becomes_a_publisher_with_publishing_scopes(api, make, db):
    consumer = await make.user()
    before = await api.request("GET", ME, as_user=consumer)
    assert before.json()["scopes"] == ["account"]

    response = await register(api, consumer, display_name="Acme Tools", bio="We build tools.")
    assert response.status_code == 201, response.text
    profile = response.json()
    assert profile["slug"] == "acme-tools"
    assert profile["display_name"] == "Acme Tools"
    assert profile["bio"] == "We build tools."
    assert profile["verified"] is False
    assert profile["verification_requested_at"] is None
    assert profile["status"] == "active"

    me = (await api.request("GET", ME, as_user=consumer)).json()
    assert me["role"] == "publisher"
    assert me["scopes"] == ["account", "modules:write", "publish"]

    mine = await api.request("GET", PROFILE, as_user=consumer)
    assert mine.status_code == 200
    assert mine.json()["id"] == profile["id"]

    [row] = await audit_rows(db, "publisher.register", profile["id"])
    assert row.actor_id == consumer.id
    assert row.entity_type == "publisher"
    assert row.changes == {"slug": "acme-tools"}


async def test_a_consumer_cannot_use_publisher_endpoints_before_registering(api, make):
    consumer = await make.user()
    for method, url in (("GET", PROFILE), ("GET", MODULES), ("POST", VERIFY)):
        response = await api.request(method, url, as_user=consumer)
        assert response.status_code == 403, (method, url)
        assert response.json()["error"] == "insufficient_scope"


async def test_registering_needs_a_signed_in_user(api):
    response = await api.request("POST", REGISTER, json={"display_name": "Acme"})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


async def test_registering_twice_is_a_conflict_and_keeps_the_first_profile(api, make, db):
    user, first = await registered(api, make, display_name="First Name")
    again = await register(api, user, display_name="Second Name")
    assert again.status_code == 409
    assert again.json()["error"] == "already_publisher"

    profile = (await api.request("GET", PROFILE, as_user=user)).json()
    assert profile["display_name"] == "First Name"
    assert profile["slug"] == "first-name"
    assert len(await audit_rows(db, "publisher.register", first["id"])) == 1


@pytest.mark.parametrize(
    ("display_name", "slug"),
    [
        pytest.param("Acme Tools", "acme-tools", id="words"),
        pytest.param("  Café Crème & Co.  ", "cafe-creme-co", id="accents-and-punctuation"),
        pytest.param("ACME GmbH (Berlin)", "acme-gmbh-berlin", id="upper-case-and-brackets"),
    ],
)
async def test_slug_is_derived_from_the_display_name(api, make, display_name, slug):
    _, profile = await registered(api, make, display_name=display_name)
    assert profile["slug"] == slug
    assert profile["display_name"] == display_name.strip()


async def test_an_explicit_slug_is_kept(api, make):
    _, profile = await registered(api, make, display_name="Acme Tools", slug="acme-official")
    assert profile["slug"] == "acme-official"


async def test_a_display_name_without_letters_needs_an_explicit_slug(api, make):
    user = await make.user()
    refused = await register(api, user, display_name="日本語")
    assert refused.status_code == 400
    assert refused.json()["error"] == "slug_required"
    assert (await api.request("GET", ME, as_user=user)).json()["role"] == "consumer"

    accepted = await register(api, user, display_name="日本語", slug="nihongo")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["slug"] == "nihongo"


async def test_a_taken_publisher_slug_is_a_conflict_and_leaves_the_account_a_consumer(api, make):
    await registered(api, make, display_name="Acme Tools")
    late = await make.user()
    response = await register(api, late, display_name="ACME tools!")
    assert response.status_code == 409
    assert response.json()["error"] == "slug_taken"

    me = (await api.request("GET", ME, as_user=late)).json()
    assert me["role"] == "consumer"
    assert me["scopes"] == ["account"]

    explicit = await register(api, late, display_name="Acme Tools", slug="acme-tools")
    assert explicit.status_code == 409
    assert explicit.json()["error"] == "slug_taken"


async def test_an_admin_who_registers_as_publisher_stays_admin(api, make):
    admin = await make.admin()
    response = await register(api, admin, display_name="Platform Team")
    assert response.status_code == 201, response.text
    me = (await api.request("GET", ME, as_user=admin)).json()
    assert me["role"] == "admin"
    assert "admin" in me["scopes"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-display-name"),
        pytest.param({"display_name": "   "}, id="blank-display-name"),
        pytest.param({"display_name": "Acme", "verified": True}, id="cannot-self-verify"),
        pytest.param({"display_name": "Acme", "commission_rate": "0"}, id="cannot-set-commission"),
        pytest.param({"display_name": "Acme", "slug": "Not A Slug"}, id="malformed-slug"),
        pytest.param({"display_name": "Acme", "website": "ftp://x.example"}, id="non-http-url"),
    ],
)
async def test_malformed_registration_is_refused(api, make, body):
    user = await make.user()
    response = await api.request("POST", REGISTER, as_user=user, json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert (await api.request("GET", ME, as_user=user)).json()["role"] == "consumer"


# --- the profile -----------------------------------------------------------------------------


async def test_updating_the_profile_changes_only_the_fields_sent(api, make, db):
    user, profile = await registered(
        api,
        make,
        display_name="Acme Tools",
        bio="Old bio",
        company_name="Acme Ltd",
        support_email="help@acme.example",
    )

    response = await api.request("PUT", PROFILE, as_user=user, json={"bio": "New bio"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["bio"] == "New bio"
    unchanged = {k: v for k, v in profile.items() if k != "bio"}
    assert {k: updated[k] for k in unchanged} == unchanged

    response = await api.request(
        "PUT", PROFILE, as_user=user, json={"website": "https://acme.example/tools"}
    )
    assert response.status_code == 200, response.text
    fetched = (await api.request("GET", PROFILE, as_user=user)).json()
    assert fetched["website"] == "https://acme.example/tools"
    assert fetched["bio"] == "New bio"
    assert fetched["company_name"] == "Acme Ltd"
    assert fetched["support_email"] == "help@acme.example"
    assert fetched["slug"] == "acme-tools"

    rows = await audit_rows(db, "publisher.update", profile["id"])
    assert [r.changes for r in rows] == [
        {"bio": "New bio"},
        {"website": "https://acme.example/tools"},
    ]
    assert all(r.actor_id == user.id and r.entity_type == "publisher" for r in rows)


async def test_optional_profile_fields_can_be_cleared(api, make):
    user, _ = await registered(
        api, make, bio="Bio", social_links={"github": "https://github.com/acme"}
    )
    response = await api.request(
        "PUT", PROFILE, as_user=user, json={"bio": None, "social_links": None}
    )
    assert response.status_code == 200, response.text
    assert response.json()["bio"] is None
    assert response.json()["social_links"] == {}
    assert response.json()["display_name"] == "Acme Tools"


async def test_the_display_name_cannot_be_removed(api, make, db):
    user, profile = await registered(api, make, display_name="Acme Tools", bio="Bio")
    response = await api.request(
        "PUT", PROFILE, as_user=user, json={"display_name": None, "bio": "Changed"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "display_name_required"

    blank = await api.request("PUT", PROFILE, as_user=user, json={"display_name": "  "})
    assert blank.status_code == 422

    fetched = (await api.request("GET", PROFILE, as_user=user)).json()
    assert fetched["display_name"] == "Acme Tools"
    assert fetched["bio"] == "Bio", "a refused update changes nothing"
    assert await audit_rows(db, "publisher.update", profile["id"]) == []


async def test_the_profile_cannot_grant_itself_verification_or_a_new_slug(api, make):
    user, _ = await registered(api, make)
    for body in ({"verified": True}, {"slug": "other"}, {"status": "active"}):
        response = await api.request("PUT", PROFILE, as_user=user, json=body)
        assert response.status_code == 422, body
    assert (await api.request("GET", PROFILE, as_user=user)).json()["verified"] is False


async def test_a_suspended_publisher_cannot_change_its_profile(api, make, db):
    user, publisher = await make.publisher(status="suspended")
    response = await api.request("PUT", PROFILE, as_user=user, json={"bio": "sneaky"})
    assert response.status_code == 403
    assert response.json()["error"] == "publisher_suspended"
    assert (await make.reload(Publisher, publisher.id)).bio is None


async def test_a_publisher_role_without_a_profile_is_told_to_register(api, make):
    user = await make.user(Role.PUBLISHER)
    response = await api.request("GET", PROFILE, as_user=user)
    assert response.status_code == 403
    assert response.json()["error"] == "publisher_profile_required"


# --- verification ----------------------------------------------------------------------------


async def test_requesting_verification_is_accepted_once_and_repeats_harmlessly(api, make, db):
    user, profile = await registered(api, make)
    first = await api.request("POST", VERIFY, as_user=user)
    assert first.status_code == 202, first.text
    requested_at = first.json()["verification_requested_at"]
    assert requested_at is not None
    assert first.json()["verified"] is False
    assert first.json()["verification_date"] is None

    second = await api.request("POST", VERIFY, as_user=user)
    assert second.status_code == 202
    assert second.json()["verification_requested_at"] == requested_at

    fetched = (await api.request("GET", PROFILE, as_user=user)).json()
    assert fetched["verification_requested_at"] == requested_at
    assert len(await audit_rows(db, "publisher.verification_requested", profile["id"])) == 1


async def test_a_verified_publisher_cannot_ask_again(api, make, db):
    user, publisher = await make.publisher()
    async with db() as session:
        row = await session.get(Publisher, publisher.id)
        row.verified = True
        await session.commit()
    response = await api.request("POST", VERIFY, as_user=user)
    assert response.status_code == 409
    assert response.json()["error"] == "already_verified"
    assert (await make.reload(Publisher, publisher.id)).verification_requested_at is None


# --- creating listings -----------------------------------------------------------------------


async def test_creating_a_module_makes_a_free_draft_with_a_derived_slug(api, make, db):
    user, publisher = await make.publisher()
    response = await create_module(api, user, display_name="Acme CRM Pro")
    assert response.status_code == 201, response.text
    module = response.json()
    assert module["status"] == "draft"
    assert module["slug"] == "acme-crm-pro"
    assert module["technical_name"] == "acme_crm"
    assert module["publisher_id"] == publisher.id
    assert module["license_type"] == "free"
    assert module["price"] is None
    assert module["currency"] == "USD"
    assert module["visibility"] == "public"
    assert module["submitted_at"] is None
    assert module["archived_at"] is None

    assert await get_module(api, user, module["id"]) == module
    [row] = await audit_rows(db, "module.create", module["id"])
    assert row.actor_id == user.id
    assert row.changes == {"slug": "acme-crm-pro", "technical_name": "acme_crm"}


async def test_an_explicit_module_slug_is_kept(api, make):
    user, _ = await make.publisher()
    response = await create_module(api, user, slug="crm-by-acme")
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == "crm-by-acme"


async def test_the_slug_falls_back_to_the_technical_name(api, make):
    user, _ = await make.publisher()
    response = await create_module(api, user, display_name="日本語", technical_name="nihongo_tools")
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == "nihongo-tools"


@pytest.mark.parametrize(
    ("pricing", "price"),
    [
        pytest.param({"license_type": "paid", "price": "19.99"}, "19.99", id="paid"),
        pytest.param(
            {"license_type": "paid", "price": "49", "currency": "EUR"}, "49.00", id="paid-eur"
        ),
        pytest.param(
            {"license_type": "subscription", "price": "4.99", "subscription_period": "monthly"},
            "4.99",
            id="subscription",
        ),
        pytest.param(
            {
                "license_type": "trial",
                "price": "9.00",
                "subscription_period": "yearly",
                "trial_days": 30,
            },
            "9.00",
            id="trial",
        ),
    ],
)
async def test_priced_modules_are_created_with_their_pricing(api, make, pricing, price):
    user, _ = await make.publisher()
    response = await create_module(api, user, **pricing)
    assert response.status_code == 201, response.text
    module = response.json()
    assert Decimal(module["price"]) == Decimal(price)
    for field, value in pricing.items():
        if field != "price":
            assert module[field] == value


@pytest.mark.parametrize(
    ("pricing", "code"),
    [
        pytest.param({"license_type": "paid"}, "price_required", id="paid-without-price"),
        pytest.param({"license_type": "paid", "price": "0"}, "price_required", id="paid-at-zero"),
        pytest.param(
            {"license_type": "free", "price": "5.00"}, "free_module_has_price", id="free-priced"
        ),
        pytest.param(
            {"license_type": "free", "trial_days": 7}, "free_module_has_billing", id="free-trial"
        ),
        pytest.param(
            {"license_type": "paid", "price": "5", "subscription_period": "monthly"},
            "paid_module_has_billing",
            id="paid-with-period",
        ),
        pytest.param(
            {"license_type": "subscription", "price": "5"},
            "subscription_period_required",
            id="subscription-without-period",
        ),
        pytest.param(
            {"license_type": "trial", "price": "5", "subscription_period": "monthly"},
            "trial_days_required",
            id="trial-without-days",
        ),
        pytest.param(
            {
                "license_type": "trial",
                "price": "5",
                "subscription_period": "monthly",
                "trial_days": 120,
            },
            "trial_days_range",
            id="trial-too-long",
        ),
        pytest.param(
            {"license_type": "paid", "price": "100000.01"}, "price_too_high", id="too-expensive"
        ),
        pytest.param(
            {"license_type": "paid", "price": "5", "currency": "XYZ"},
            "unsupported_currency",
            id="unknown-currency",
        ),
    ],
)
async def test_inconsistent_pricing_is_refused_on_create(api, make, pricing, code):
    user, _ = await make.publisher()
    response = await create_module(api, user, **pricing)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code
    listed = (await api.request("GET", MODULES, as_user=user)).json()
    assert listed["total"] == 0, "nothing is created when pricing is refused"


async def test_a_module_needs_an_active_category(api, make):
    user, _ = await make.publisher()
    inactive = await make.category(is_active=False)
    for category_id in (inactive.id, 999_999):
        response = await create_module(api, user, category_id=category_id)
        assert response.status_code == 400, category_id
        assert response.json()["error"] == "unknown_category"

    active = await make.category()
    response = await create_module(api, user, category_id=active.id)
    assert response.status_code == 201, response.text
    assert response.json()["category_id"] == active.id


async def test_slugs_and_technical_names_are_unique_across_publishers(api, make):
    first, _ = await make.publisher()
    second, _ = await make.publisher()
    assert (await create_module(api, first)).status_code == 201

    same_slug = await create_module(api, second, technical_name="other_crm")
    assert same_slug.status_code == 409
    assert same_slug.json()["error"] == "slug_taken"

    same_name = await create_module(api, second, slug="another-crm")
    assert same_name.status_code == 409
    assert same_name.json()["error"] == "technical_name_taken"
    assert (await api.request("GET", MODULES, as_user=second)).json()["total"] == 0


async def test_a_consumer_cannot_create_modules(api, make):
    consumer = await make.user()
    response = await create_module(api, consumer)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


# --- listing and reading ---------------------------------------------------------------------


async def test_listing_pages_through_only_my_own_modules_newest_first(api, make):
    user, _ = await make.publisher()
    other_user, other = await make.publisher()
    await make.module(other)
    created = []
    for n in range(5):
        response = await create_module(
            api, user, technical_name=f"mod_{n}", display_name=f"Module {n}"
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])

    first = await api.request("GET", MODULES, as_user=user, params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 0)
    assert [m["id"] for m in page["items"]] == created[::-1][:2]

    last = (
        await api.request("GET", MODULES, as_user=user, params={"limit": 2, "offset": 4})
    ).json()
    assert (last["total"], last["limit"], last["offset"]) == (5, 2, 4)
    assert [m["id"] for m in last["items"]] == [created[0]]

    beyond = (await api.request("GET", MODULES, as_user=user, params={"offset": 10})).json()
    assert beyond["items"] == [] and beyond["total"] == 5

    everything = (await api.request("GET", MODULES, as_user=user)).json()
    assert everything["limit"] == 20
    assert sorted(m["id"] for m in everything["items"]) == sorted(created)

    others = (await api.request("GET", MODULES, as_user=other_user)).json()
    assert others["total"] == 1
    assert not set(created) & {m["id"] for m in others["items"]}


async def test_listing_filters_by_status(api, make):
    user, publisher = await make.publisher()
    draft = await make.module(publisher)
    pending = await make.module(publisher, status=ModuleStatus.PENDING)
    published = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    _, other = await make.publisher()
    await make.module(other, status=ModuleStatus.PENDING)

    for status, expected in (
        ("draft", [draft.id]),
        ("pending", [pending.id]),
        ("published", [published.id]),
        ("archived", []),
    ):
        page = (await api.request("GET", MODULES, as_user=user, params={"status": status})).json()
        assert [m["id"] for m in page["items"]] == expected, status
        assert page["total"] == len(expected), status


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"status": "bogus"}, id="unknown-status"),
        pytest.param({"limit": 0}, id="limit-zero"),
        pytest.param({"limit": 101}, id="limit-too-big"),
        pytest.param({"offset": -1}, id="negative-offset"),
    ],
)
async def test_malformed_list_queries_are_422(api, make, params):
    user, _ = await make.publisher()
    response = await api.request("GET", MODULES, as_user=user, params=params)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


async def test_another_publishers_module_looks_absent(api, make):
    user, _ = await make.publisher()
    _, other = await make.publisher()
    theirs = await make.module(other)
    for method, url, body in (
        ("GET", f"{MODULES}/{theirs.id}", None),
        ("PUT", f"{MODULES}/{theirs.id}", {"display_name": "Hijacked"}),
        ("DELETE", f"{MODULES}/{theirs.id}", None),
        ("POST", f"{MODULES}/{theirs.id}/submit", None),
        ("GET", f"{MODULES}/999999", None),
    ):
        response = await api.request(method, url, as_user=user, json=body)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"] == "module_not_found"
    after = await make.reload(MarketplaceModule, theirs.id)
    assert after.display_name == theirs.display_name
    assert after.status == "draft"


# --- updating --------------------------------------------------------------------------------


async def test_updating_changes_only_the_fields_sent(api, make, db):
    user, _ = await make.publisher()
    module = (await create_module(api, user, description="Long text", tags=["crm", "sales"])).json()

    response = await api.request(
        "PUT", f"{MODULES}/{module['id']}", as_user=user, json={"short_description": "Better."}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["short_description"] == "Better."
    for field in ("display_name", "description", "tags", "slug", "license_type", "price"):
        assert updated[field] == module[field], field

    [row] = await audit_rows(db, "module.update", module["id"])
    assert row.changes == {"short_description": "Better."}
    assert row.actor_id == user.id


async def test_a_draft_can_change_its_slug(api, make):
    user, _ = await make.publisher()
    module = (await create_module(api, user)).json()
    response = await api.request(
        "PUT", f"{MODULES}/{module['id']}", as_user=user, json={"slug": "crm-renamed"}
    )
    assert response.status_code == 200, response.text
    assert (await get_module(api, user, module["id"]))["slug"] == "crm-renamed"


async def test_a_slug_cannot_take_another_modules_slug(api, make):
    user, _ = await make.publisher()
    await create_module(api, user, technical_name="first", slug="first")
    second = (await create_module(api, user, technical_name="second", slug="second")).json()
    response = await api.request(
        "PUT", f"{MODULES}/{second['id']}", as_user=user, json={"slug": "first"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == "slug_taken"
    assert (await get_module(api, user, second["id"]))["slug"] == "second"


@pytest.mark.parametrize(
    "status", [ModuleStatus.PUBLISHED, ModuleStatus.REJECTED], ids=lambda s: s.value
)
async def test_the_slug_is_frozen_after_the_draft(api, make, status):
    user, publisher = await make.publisher()
    module = await make.module(publisher, status=status)
    url = f"{MODULES}/{module.id}"

    refused = await api.request(
        "PUT", url, as_user=user, json={"slug": "new-slug", "display_name": "Renamed"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "slug_frozen"
    unchanged = await get_module(api, user, module.id)
    assert unchanged["slug"] == module.slug
    assert unchanged["display_name"] == module.display_name

    same = await api.request(
        "PUT", url, as_user=user, json={"slug": module.slug, "display_name": "Renamed"}
    )
    if status is ModuleStatus.PUBLISHED:  # the new name waits for review (test_listing_revisions)
        assert same.status_code == 202, "resending the current slug is not a change"
        assert same.json()["revision"]["changes"]["display_name"] == "Renamed"
        assert same.json()["module"]["display_name"] == module.display_name
        return
    assert same.status_code == 200, "resending the current slug is not a change"
    assert same.json()["display_name"] == "Renamed"
    assert same.json()["status"] == status.value


@pytest.mark.parametrize("version_status", ["processing", "rejected", "published"])
async def test_a_draft_keeps_its_slug_once_a_version_was_uploaded(api, make, version_status):
    """A version's signature names the module's slug (the signed statement): renaming the
    draft afterwards would leave signatures naming a module that no longer exists."""
    user, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.DRAFT)
    renamed = await api.request(
        "PUT", f"{MODULES}/{module.id}", as_user=user, json={"slug": "before-any-version"}
    )
    assert renamed.status_code == 200, "a draft without versions may still rename"
    await make.version(module, status=version_status)

    refused = await api.request(
        "PUT", f"{MODULES}/{module.id}", as_user=user, json={"slug": "after-a-version"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "slug_frozen"
    assert (await get_module(api, user, module.id))["slug"] == "before-any-version"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(ModuleStatus.PENDING, "module_under_review", id="pending"),
        pytest.param(ModuleStatus.ARCHIVED, "module_archived", id="archived"),
    ],
)
async def test_a_module_under_review_or_archived_cannot_be_edited(api, make, db, status, code):
    user, publisher = await make.publisher()
    module = await make.module(publisher, status=status)
    response = await api.request(
        "PUT", f"{MODULES}/{module.id}", as_user=user, json={"display_name": "Changed"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == code
    assert (await get_module(api, user, module.id))["display_name"] == module.display_name
    assert await audit_rows(db, "module.update", module.id) == []


@pytest.mark.parametrize(
    "field",
    ["slug", "display_name", "short_description", "license_type", "currency", "visibility"],
)
async def test_required_fields_cannot_be_set_to_null(api, make, field):
    user, _ = await make.publisher()
    module = (await create_module(api, user)).json()
    response = await api.request(
        "PUT", f"{MODULES}/{module['id']}", as_user=user, json={field: None}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "field_required"
    assert (await get_module(api, user, module["id"]))[field] == module[field]


async def test_pricing_is_checked_against_the_merged_listing(api, make):
    user, _ = await make.publisher()
    module = (await create_module(api, user)).json()
    url = f"{MODULES}/{module['id']}"

    async def put(body):
        return await api.request("PUT", url, as_user=user, json=body)

    no_price = await put({"license_type": "paid"})
    assert no_price.status_code == 400
    assert no_price.json()["error"] == "price_required"
    assert (await get_module(api, user, module["id"]))["license_type"] == "free"

    priced = await put({"license_type": "paid", "price": "12.50"})
    assert priced.status_code == 200, priced.text
    assert Decimal(priced.json()["price"]) == Decimal("12.50")

    price_only = await put({"price": "15"})
    assert price_only.status_code == 200, price_only.text
    assert price_only.json()["license_type"] == "paid"
    assert Decimal(price_only.json()["price"]) == Decimal("15")

    zero = await put({"price": "0"})
    assert zero.status_code == 400
    assert zero.json()["error"] == "price_required"

    back_to_free_keeping_price = await put({"license_type": "free"})
    assert back_to_free_keeping_price.status_code == 400
    assert back_to_free_keeping_price.json()["error"] == "free_module_has_price"
    current = await get_module(api, user, module["id"])
    assert current["license_type"] == "paid"
    assert Decimal(current["price"]) == Decimal("15")

    free = await put({"license_type": "free", "price": None})
    assert free.status_code == 200, free.text
    assert free.json()["license_type"] == "free"
    assert free.json()["price"] is None


async def test_a_subscription_cannot_become_paid_while_keeping_its_period(api, make):
    user, _ = await make.publisher()
    module = (
        await create_module(
            api,
            user,
            license_type="subscription",
            price="4.99",
            subscription_period="monthly",
        )
    ).json()
    url = f"{MODULES}/{module['id']}"

    refused = await api.request("PUT", url, as_user=user, json={"license_type": "paid"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "paid_module_has_billing"

    no_period = await api.request("PUT", url, as_user=user, json={"subscription_period": None})
    assert no_period.status_code == 400
    assert no_period.json()["error"] == "subscription_period_required"

    switched = await api.request(
        "PUT", url, as_user=user, json={"license_type": "paid", "subscription_period": None}
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["license_type"] == "paid"
    assert switched.json()["subscription_period"] is None
    assert Decimal(switched.json()["price"]) == Decimal("4.99")


async def test_a_module_cannot_be_moved_to_an_inactive_category(api, make):
    user, _ = await make.publisher()
    active = await make.category()
    inactive = await make.category(is_active=False)
    module = (await create_module(api, user, category_id=active.id)).json()
    response = await api.request(
        "PUT", f"{MODULES}/{module['id']}", as_user=user, json={"category_id": inactive.id}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_category"
    assert (await get_module(api, user, module["id"]))["category_id"] == active.id


# --- archiving -------------------------------------------------------------------------------


async def test_archiving_is_idempotent_and_final(api, make, db):
    user, _ = await make.publisher()
    module = (await create_module(api, user)).json()
    url = f"{MODULES}/{module['id']}"

    archived = await api.request("DELETE", url, as_user=user)
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived"
    archived_at = archived.json()["archived_at"]
    assert archived_at is not None

    again = await api.request("DELETE", url, as_user=user)
    assert again.status_code == 200
    assert again.json()["status"] == "archived"
    assert again.json()["archived_at"] == archived_at
    assert len(await audit_rows(db, "module.archive", module["id"])) == 1

    submit = await api.request("POST", f"{url}/submit", as_user=user)
    assert submit.status_code == 409
    assert submit.json()["error"] == "module_archived"

    edit = await api.request("PUT", url, as_user=user, json={"display_name": "Back"})
    assert edit.status_code == 409
    assert edit.json()["error"] == "module_archived"

    listed = await api.request("GET", MODULES, as_user=user, params={"status": "archived"})
    assert [m["id"] for m in listed.json()["items"]] == [module["id"]]
    assert (await get_module(api, user, module["id"]))["status"] == "archived"


async def test_a_pending_module_can_be_withdrawn_by_archiving(api, make):
    user, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PENDING)
    response = await api.request("DELETE", f"{MODULES}/{module.id}", as_user=user)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "archived"
    assert (await make.reload(MarketplaceModule, module.id)).status == "archived"


async def test_a_suspended_publisher_can_still_see_its_listings_but_not_change_them(api, make):
    user, publisher = await make.publisher(status="suspended")
    module = await make.module(publisher)
    profile = await api.request("GET", "/api/v1/publisher/profile", as_user=user)
    assert profile.status_code == 200 and profile.json()["status"] == "suspended"
    listed = await api.request("GET", "/api/v1/publisher/modules", as_user=user)
    assert [m["id"] for m in listed.json()["items"]] == [module.id]
    for method, url in [
        ("POST", "/api/v1/publisher/modules"),
        ("PUT", f"/api/v1/publisher/modules/{module.id}"),
        ("DELETE", f"/api/v1/publisher/modules/{module.id}"),
        ("POST", f"/api/v1/publisher/modules/{module.id}/submit"),
    ]:
        response = await api.request(method, url, as_user=user, json={})
        assert response.status_code == 403, (method, url)
        assert response.json()["error"] == "publisher_suspended"
