"""Licenses as an installed FastVue instance uses them: activate, verify, deactivate, every
answer a signed contract-2 document (refusals included) bound to the key, instance, domain
and nonce; the churn limit; offline files bound to one instance and kept inside the refund
window; and licenses as their owner sees them."""

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from domain.licensing import (
    LicenseAnswer,
    OfflineLicense,
    check_license_answer,
    check_offline_license,
    license_key_hash,
    new_license_key,
)
from domain.modules import ModuleStatus
from integrations.license_signing import verify_document
from models.commerce import License, LicenseActivation, Order
from tests.factories import issue_license as issue

BASE = "/api/v1/marketplace/licenses"
SHOP = "shop.acme.test"


@pytest.fixture
async def owned(api, make, db):
    buyer = await make.user()
    _, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    return buyer, module


def app_of(api):
    return api.http._transport.app


def fresh_nonce() -> str:
    return secrets.token_urlsafe(16)


async def public_pem(api) -> str:
    keys = (await api.request("GET", f"{BASE}/public-key")).json()
    return next(k["public_key_pem"] for k in keys if k["status"] == "current")


async def call(api, operation, key, instance="inst-1", domain=SHOP, nonce=None, **extra):
    body = {"instance_id": instance, "domain": domain, "nonce": nonce or fresh_nonce(), **extra}
    return await api.request("POST", f"{BASE}/{key}/{operation}", json=body)


async def verify(api, key, instance="inst-1", domain=SHOP, nonce=None):
    return await call(api, "verify", key, instance, domain, nonce)


async def activate(api, key, instance="inst-1", domain=SHOP, nonce=None):
    return await call(api, "activate", key, instance, domain, nonce)


async def deactivate(api, key, instance="inst-1", domain=SHOP, nonce=None):
    return await call(api, "deactivate", key, instance, domain, nonce)


async def signed_answer(api, response) -> LicenseAnswer:
    """The response's answer, checked as an instance checks it: the signature with the
    published key, and the parsed ``answer`` beside it equal to the signed payload."""
    body = response.json()
    answer = verify_document(body, await public_pem(api), LicenseAnswer)
    assert answer is not None, f"not a signed answer: {response.text}"
    assert LicenseAnswer.model_validate(body["answer"]) == answer
    assert answer.key_id == body["key_id"] == app_of(api).state.adapters.license_keys.key_id
    return answer


async def test_the_owner_sees_the_full_key_others_do_not_see_the_license(api, owned, db, make):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    mine = await api.request("GET", BASE, as_user=buyer)
    assert [item["license_key"] for item in mine.json()] == [key]
    details = await api.request("GET", f"{BASE}/{key.lower()}", as_user=buyer)
    assert details.status_code == 200 and details.json()["license_key"] == key
    stranger = await make.user()
    hidden = await api.request("GET", f"{BASE}/{key}", as_user=stranger)
    assert hidden.status_code == 404 and hidden.json()["error"] == "license_not_found"
    async with db() as session:
        stored = (await session.execute(select(License))).scalar_one()
    assert key not in (stored.license_key, stored.key_ciphertext)


async def test_the_list_counts_active_instances_as_the_single_view_does(api, owned, db):
    buyer, module = owned
    app = app_of(api)
    busy = await issue(db, app, buyer, module, max_instances=3)
    idle = await issue(db, app, buyer, module)
    for instance in ("inst-1", "inst-2"):
        assert (await activate(api, busy, instance=instance)).status_code == 200
    listed = {
        item["license_key"]: item["active_instances"]
        for item in (await api.request("GET", BASE, as_user=buyer)).json()
    }
    assert listed == {busy: 2, idle: 0}, "a number in the list too, never null"
    for key in (busy, idle):
        single = (await api.request("GET", f"{BASE}/{key}", as_user=buyer)).json()
        assert single["active_instances"] == listed[key]


async def test_every_verify_code_comes_signed_with_the_published_key(api, owned, db):
    buyer, module = owned
    app = app_of(api)
    now = datetime.now(UTC)
    seats = await issue(db, app, buyer, module, max_instances=1)
    limited = await issue(db, app, buyer, module, instance_domains=["*.acme.test"])
    expired = await issue(db, app, buyer, module, expires_at=now - timedelta(days=1))
    revoked = await issue(db, app, buyer, module, status="revoked")
    cancelled = await issue(db, app, buyer, module, status="cancelled")

    async def code_of(response) -> str:
        assert response.status_code == 200, response.text
        answer = await signed_answer(api, response)
        assert answer.operation == "verify"
        assert answer.status == ("granted" if answer.code == "VALID" else "refused")
        return answer.code

    assert await code_of(await verify(api, new_license_key())) == "NOT_FOUND"
    assert await code_of(await verify(api, seats)) == "NOT_ACTIVATED"
    assert (await activate(api, seats)).status_code == 200
    assert await code_of(await verify(api, seats)) == "VALID"
    assert await code_of(await verify(api, seats, instance="inst-2")) == "TOO_MANY_INSTANCES"
    assert await code_of(await verify(api, seats, domain="other.test")) == "DOMAIN_MISMATCH"
    assert await code_of(await verify(api, limited, domain="evil.test")) == "DOMAIN_MISMATCH"
    assert await code_of(await verify(api, expired)) == "EXPIRED"
    assert await code_of(await verify(api, revoked)) == "REVOKED"
    assert await code_of(await verify(api, cancelled)) == "CANCELLED"
    assert seats not in (await verify(api, seats)).text, "the full key is never echoed"


async def test_a_signed_answer_binds_key_instance_domain_module_nonce_and_times(api, owned, db):
    buyer, module = owned
    ends = datetime.now(UTC) + timedelta(days=90)
    key = await issue(db, app_of(api), buyer, module, expires_at=ends)
    assert (await activate(api, key, domain="Shop.ACME.test:8443")).status_code == 200
    nonce = fresh_nonce()
    before = datetime.now(UTC)
    answer = await signed_answer(api, await verify(api, key, domain="SHOP.acme.test.", nonce=nonce))
    assert answer.contract == 2 and answer.kind == "license_answer"
    assert answer.code == "VALID" and answer.status == "granted"
    assert answer.license_key_sha256 == license_key_hash(key)
    assert answer.license_key.endswith(key[-5:])
    assert (answer.module, answer.module_slug) == (module.technical_name, module.slug)
    assert (answer.instance_id, answer.domain, answer.nonce) == ("inst-1", SHOP, nonce)
    assert before <= answer.issued_at <= datetime.now(UTC)
    assert answer.valid_until == answer.issued_at + api.settings.license_answer_cache
    assert answer.expires_at == ends
    concluded = check_license_answer(
        answer, datetime.now(UTC), key=key, instance_id="inst-1", domain=SHOP, nonce=nonce
    )
    assert concluded == "VALID"


async def test_tampering_with_a_signed_answer_is_detected(api, owned, db):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    body = (await verify(api, key)).json()
    forged = {**body, "payload": body["payload"].replace("NOT_ACTIVATED", "VALID")}
    assert verify_document(forged, await public_pem(api), LicenseAnswer) is None


async def test_an_instance_activated_for_one_domain_is_refused_for_another(api, owned, db):
    """Audit: an instance activated for one domain verified VALID from any other, so its
    (signed, cacheable) answer could be served to installations elsewhere, and
    DOMAIN_MISMATCH could never be produced."""
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=1)
    assert (await activate(api, key, domain="shop.a.test")).status_code == 200

    asked_elsewhere = await verify(api, key, domain="shop.b.test")
    assert asked_elsewhere.status_code == 200
    refusal = await signed_answer(api, asked_elsewhere)
    assert (refusal.code, refusal.status) == ("DOMAIN_MISMATCH", "refused")
    assert refusal.domain == "shop.b.test" and refusal.valid_until == refusal.issued_at

    # The VALID answer domain A gets, replayed to an instance on domain B, is no licence.
    nonce = fresh_nonce()
    valid = await signed_answer(api, await verify(api, key, domain="shop.a.test", nonce=nonce))
    assert valid.code == "VALID" and valid.domain == "shop.a.test"
    at_b = check_license_answer(
        valid, datetime.now(UTC), key=key, instance_id="inst-1", domain="shop.b.test", nonce=None
    )
    assert at_b == "DOMAIN_MISMATCH"
    # Nor is rewriting the domain inside it: the signature covers it.
    body = (await verify(api, key, domain="shop.a.test")).json()
    moved = {**body, "payload": body["payload"].replace("shop.a.test", "shop.b.test")}
    assert verify_document(moved, await public_pem(api), LicenseAnswer) is None

    # Moving an active instance to another domain is refused, signed: deactivate first.
    moving = await activate(api, key, domain="shop.b.test")
    assert moving.status_code == 409 and moving.json()["error"] == "domain_mismatch"
    assert (await signed_answer(api, moving)).code == "DOMAIN_MISMATCH"


async def test_an_activation_without_a_domain_is_bound_by_its_first_verify(api, owned, db):
    """Activations made before domains were bound have none: the first domain a verify
    reports binds them (in the verify's own round trip)."""
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    async with db() as session:
        row = (await session.execute(select(License))).scalar_one()
        session.add(
            LicenseActivation(
                license_id=row.id, instance_id="legacy", activated_at=datetime.now(UTC)
            )
        )
        await session.commit()
    assert (await signed_answer(api, await verify(api, key, "legacy", "first.test"))).code == (
        "VALID"
    )
    second = await signed_answer(api, await verify(api, key, "legacy", "second.test"))
    assert second.code == "DOMAIN_MISMATCH"


@pytest.mark.parametrize("operation", ["verify", "activate", "deactivate"])
async def test_a_nonce_is_required_and_must_not_be_short(api, owned, db, operation):
    """Audit: the nonce was optional, so an old answer could be replayed as fresh."""
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    body = {"instance_id": "inst-1", "domain": SHOP}
    missing = await api.request("POST", f"{BASE}/{key}/{operation}", json=body)
    assert missing.status_code == 422
    assert [(p["loc"], p["type"]) for p in missing.json()["detail"]] == [
        (["body", "nonce"], "missing")
    ]
    for nonce, problem in [
        ("n-1", "nonce_too_short"),
        ("x" * 15, "nonce_too_short"),
        ("x" * 129, "nonce_too_long"),
        ("sixteen chars ok", "invalid_nonce"),
        (None, "string_type"),
    ]:
        refused = await api.request(
            "POST", f"{BASE}/{key}/{operation}", json=body | {"nonce": nonce}
        )
        assert refused.status_code == 422, nonce
        assert [p["type"] for p in refused.json()["detail"]] == [problem]
    async with db() as session:
        assert (await session.execute(select(LicenseActivation))).first() is None


async def test_the_nonce_is_echoed_and_signed(api, owned, db):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    sent = fresh_nonce()
    activated = await signed_answer(api, await activate(api, key, nonce=sent))
    assert activated.nonce == sent
    nonce = fresh_nonce()
    response = await verify(api, key, nonce=nonce)
    answer = await signed_answer(api, response)
    assert answer.nonce == nonce and f'"nonce":"{nonce}"' in response.json()["payload"]
    # An old answer, replayed when the instance asked with a new nonce, is recognised.
    later = fresh_nonce()
    replayed = check_license_answer(
        answer, datetime.now(UTC), key=key, instance_id="inst-1", domain=SHOP, nonce=later
    )
    assert replayed == "REPLAYED"
    body = response.json()
    rewritten = {**body, "payload": body["payload"].replace(nonce, later)}
    assert verify_document(rewritten, await public_pem(api), LicenseAnswer) is None


async def test_activation_is_idempotent_and_an_over_limit_activation_is_a_signed_refusal(
    api, owned, db
):
    """Audit: an over-limit activation was a plain 409 with nothing signed."""
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=1)
    first = await activate(api, key)
    assert first.status_code == 200 and first.json()["outcome"] == "activate"
    assert (await signed_answer(api, first)).code == "VALID"
    again = await activate(api, key)
    assert again.status_code == 200 and again.json()["outcome"] == "already_active"

    refused = await activate(api, key, instance="inst-2", domain="other.test")
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "too_many_instances" and body["outcome"] == "denied"
    answer = await signed_answer(api, refused)
    assert (answer.operation, answer.status, answer.code) == (
        "activate",
        "refused",
        "TOO_MANY_INSTANCES",
    )
    assert (answer.instance_id, answer.domain) == ("inst-2", "other.test")
    assert answer.valid_until == answer.issued_at, "a refusal is never valid later"

    unknown = await activate(api, new_license_key())
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert (await signed_answer(api, unknown)).code == "NOT_FOUND"

    await verify(api, key)
    async with db() as session:
        [seat] = (await session.execute(select(LicenseActivation))).scalars().all()
    assert seat.domain == SHOP and seat.last_check is not None


async def test_deactivation_answers_a_signed_document(api, owned, db):
    """Audit: deactivate answered a plain license record, nothing signed."""
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=1)
    assert (await activate(api, key)).status_code == 200

    freed = await deactivate(api, key)
    assert freed.status_code == 200
    answer = await signed_answer(api, freed)
    assert (answer.operation, answer.status, answer.code) == (
        "deactivate",
        "released",
        "DEACTIVATED",
    )
    assert answer.instance_id == "inst-1" and answer.module == module.technical_name
    assert "active_instances" not in freed.json(), "no license record any more"
    assert (await activate(api, key, instance="inst-2", domain="two.test")).status_code == 200

    gone = await deactivate(api, key)
    assert gone.status_code == 404 and gone.json()["error"] == "not_activated"
    assert (await signed_answer(api, gone)).code == "NOT_ACTIVATED"
    unknown = await deactivate(api, new_license_key())
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert (await signed_answer(api, unknown)).code == "NOT_FOUND"


async def test_seat_churn_is_limited_with_a_signed_refusal(api, owned, db):
    """Audit: whoever holds a key deactivated the instance holding the seat and activated
    their own, over and over: one seat issued as many 24-hour answers as there were turns.
    One seat and two extra instances a day: the third newcomer is refused."""
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=1)
    extra = api.settings.license_churn_extra_instances
    assert extra == 2
    codes = []
    holder = None
    for turn in range(6):
        if holder is not None:
            assert (await deactivate(api, key, *holder)).status_code == 200
        instance = (f"thief-{turn}", f"thief-{turn}.test")
        response = await activate(api, key, *instance)
        answer = await signed_answer(api, response)
        codes.append(answer.code)
        if response.status_code == 200:
            holder = instance
            assert (await signed_answer(api, await verify(api, key, *instance))).code == "VALID"
        else:
            assert response.status_code == 409
            assert response.json()["error"] == "activation_churn_limit"
            holder = None
    assert codes == ["VALID"] * (1 + extra) + ["ACTIVATION_CHURN_LIMIT"] * (5 - extra)

    # An instance given up today can come back (it adds no instance), on its own domain.
    back = await activate(api, key, "thief-0", "thief-0.test")
    assert back.status_code == 200, back.text
    assert (await deactivate(api, key, "thief-0", "thief-0.test")).status_code == 200

    # A day later, once the answers the others got have run out, there is room again.
    async with db() as session:
        await session.execute(
            update(LicenseActivation).values(
                deactivated_at=datetime.now(UTC) - timedelta(hours=25),
                answers_valid_until=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
        await session.commit()
    assert (await activate(api, key, "next", "next.test")).status_code == 200


async def test_a_deactivated_instance_counts_while_its_answer_is_valid(api, owned, db):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=1)
    for turn in range(3):
        instance = (f"old-{turn}", f"old-{turn}.test")
        assert (await activate(api, key, *instance)).status_code == 200
        assert (await deactivate(api, key, *instance)).status_code == 200
    async with db() as session:  # given up two days ago, but one still holds a live answer
        await session.execute(
            update(LicenseActivation).values(
                deactivated_at=datetime.now(UTC) - timedelta(days=2),
                answers_valid_until=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
        await session.execute(
            update(LicenseActivation)
            .where(LicenseActivation.instance_id == "old-0")
            .values(answers_valid_until=datetime.now(UTC) + timedelta(days=5))
        )
        await session.commit()
    assert (await activate(api, key, "a", "a.test")).status_code == 200
    assert (await deactivate(api, key, "a", "a.test")).status_code == 200
    assert (await activate(api, key, "b", "b.test")).status_code == 200
    assert (await deactivate(api, key, "b", "b.test")).status_code == 200
    refused = await activate(api, key, "c", "c.test")
    assert refused.status_code == 409 and refused.json()["error"] == "activation_churn_limit"


async def test_fifty_concurrent_activations_against_three_seats_give_exactly_three(
    committed_api, make_committed, committed
):
    api = committed_api
    buyer = await make_committed.user()
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher, status=ModuleStatus.PUBLISHED)
    key = await issue(committed, app_of(api), buyer, module, max_instances=3)
    responses = await asyncio.gather(
        *(activate(api, key, instance=f"inst-{n}", domain=f"i{n}.test") for n in range(50))
    )
    assert sorted(r.status_code for r in responses) == [200] * 3 + [409] * 47
    refused = {r.json()["error"] for r in responses if r.status_code == 409}
    assert refused == {"too_many_instances"}
    async with committed() as session:
        seats = (
            (
                await session.execute(
                    select(LicenseActivation).where(LicenseActivation.status == "active")
                )
            )
            .scalars()
            .all()
        )
    assert len(seats) == 3


async def test_malformed_keys_and_bad_bodies_are_refused(api):
    bad = await verify(api, "FVM-NOT-A-KEY")
    assert bad.status_code == 400 and bad.json()["error"] == "malformed_license_key"
    assert "NOT-A-KEY" not in bad.json()["detail"]
    missing = await api.request("POST", f"{BASE}/{new_license_key()}/verify", json={})
    assert missing.status_code == 422
    weird = await verify(api, new_license_key(), instance="x" * 65)
    assert weird.status_code == 422
    for domain in ("https://shop.acme.test/", "*.acme.test", "exa mple.test", ""):
        refused = await verify(api, new_license_key(), domain=domain)
        assert refused.status_code == 422, domain
        assert [p["type"] for p in refused.json()["detail"]] in (
            ["invalid_domain"],
            ["string_too_short"],
        )
    no_domain = await api.request(
        "POST",
        f"{BASE}/{new_license_key()}/activate",
        json={"instance_id": "inst-1", "nonce": fresh_nonce()},
    )
    assert no_domain.status_code == 422


async def test_verification_is_rate_limited_per_key(api, owned, db):
    buyer, module = owned
    app = app_of(api)
    app.state.settings = api.settings.model_copy(update={"verify_rate_per_key": "3/minute"})
    key = await issue(db, app, buyer, module)
    answers = [await verify(api, key) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("Retry-After") is not None for a in answers] == [False] * 3 + [True]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    other = await issue(db, app, buyer, module)
    assert (await verify(api, other)).status_code == 200, "another key has its own budget"


async def offline(api, buyer, key, instance="inst-1", domain=SHOP, **params):
    return await api.request(
        "GET",
        f"{BASE}/{key}/offline",
        as_user=buyer,
        params={"instance_id": instance, "domain": domain, **params},
    )


async def test_an_offline_file_is_bound_to_one_activated_instance(api, owned, db):
    """Audit: the 30-day offline file was bound to no instance: one file served any
    number of installations, seats uncounted."""
    buyer, module = owned
    ends = datetime.now(UTC) + timedelta(days=10)
    key = await issue(db, app_of(api), buyer, module, expires_at=ends, max_instances=2)
    not_yet = await offline(api, buyer, key)
    assert not_yet.status_code == 409 and not_yet.json()["error"] == "instance_not_activated"
    assert (await activate(api, key, domain="Shop.Acme.TEST")).status_code == 200
    elsewhere = await offline(api, buyer, key, domain="other.test")
    assert elsewhere.status_code == 409 and elsewhere.json()["error"] == "domain_mismatch"

    response = await offline(api, buyer, key, domain="SHOP.acme.test:443")
    assert response.status_code == 200, response.text
    document = verify_document(response.json(), await public_pem(api), OfflineLicense)
    assert document is not None
    assert (document.instance_id, document.domain) == ("inst-1", SHOP)
    assert document.license_key_sha256 == license_key_hash(key)
    assert (document.module, document.module_slug) == (module.technical_name, module.slug)
    assert (
        document.contract == 2
        and document.key_id == json.loads(response.json()["payload"])["key_id"]
    )
    assert document.not_after <= ends, "never valid past the license itself"
    now = datetime.now(UTC)
    here = check_offline_license(document, now, key=key, instance_id="inst-1", domain=SHOP)
    assert here == "VALID"
    copied = check_offline_license(document, now, key=key, instance_id="inst-2", domain=SHOP)
    assert copied == "REPLAYED"
    moved = check_offline_license(document, now, key=key, instance_id="inst-1", domain="b.test")
    assert moved == "DOMAIN_MISMATCH"
    # The seat is counted by the churn limit until the file runs out.
    async with db() as session:
        [seat] = (await session.execute(select(LicenseActivation))).scalars().all()
    assert seat.answers_valid_until == document.not_after

    revoked = await issue(db, app_of(api), buyer, module, status="revoked")
    refused = await offline(api, buyer, revoked)
    assert refused.status_code == 409 and refused.json()["error"] == "license_not_active"


async def test_an_offline_file_never_outlasts_the_refund_window(api, owned, db):
    """Audit: after a refund the 30-day offline file still verified. While the buyer can
    still refund, a file ends with the refund window; after it, it has its full life."""
    buyer, module = owned
    window = api.settings.refund_window
    paid_at = datetime.now(UTC) - timedelta(days=2)
    async with db() as session:
        order = Order(
            order_number=f"FV-T{secrets.token_hex(4)}",
            user_id=buyer.id,
            subtotal=Decimal("30.00"),
            total=Decimal("30.00"),
            status="completed",
            payment_status="succeeded",
            paid_at=paid_at,
        )
        session.add(order)
        await session.commit()
        order_id = order.id
    key = await issue(db, app_of(api), buyer, module, order_id=order_id)
    assert (await activate(api, key)).status_code == 200

    response = await offline(api, buyer, key)
    assert response.status_code == 200, response.text
    document = verify_document(response.json(), await public_pem(api), OfflineLicense)
    assert document is not None
    assert document.not_after == paid_at + window
    assert document.not_after < document.issued_at + api.settings.offline_license_lifetime

    async with db() as session:  # the window has closed: only an admin can refund now
        await session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(paid_at=datetime.now(UTC) - window - timedelta(days=1))
        )
        await session.commit()
    later = verify_document(
        (await offline(api, buyer, key)).json(), await public_pem(api), OfflineLicense
    )
    assert later is not None
    assert later.not_after == later.issued_at + api.settings.offline_license_lifetime
