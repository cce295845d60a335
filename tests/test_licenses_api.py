"""Licenses as an installed FastVue instance uses them: activate, verify (signed answers),
deactivate, offline files; and as their owner sees them."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.licensing import (
    OfflineLicense,
    VerificationAnswer,
    new_license_key,
)
from domain.modules import ModuleStatus
from integrations.license_signing import verify_document
from models.commerce import License, LicenseActivation
from tests.factories import issue_license as issue

BASE = "/api/v1/marketplace/licenses"


@pytest.fixture
async def owned(api, make, db):
    buyer = await make.user()
    _, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    return buyer, module


def app_of(api):
    return api.http._transport.app


async def public_pem(api) -> str:
    keys = (await api.request("GET", f"{BASE}/public-key")).json()
    return next(k["public_key_pem"] for k in keys if k["status"] == "current")


async def verify(api, key, instance="inst-1", domain=None, **extra):
    body = {"instance_id": instance, **({"domain": domain} if domain else {}), **extra}
    return await api.request("POST", f"{BASE}/{key}/verify", json=body)


async def activate(api, key, instance="inst-1", domain=None):
    body = {"instance_id": instance, **({"domain": domain} if domain else {})}
    return await api.request("POST", f"{BASE}/{key}/activate", json=body)


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
    pem = await public_pem(api)
    now = datetime.now(UTC)
    seats = await issue(db, app, buyer, module, max_instances=1)
    limited = await issue(db, app, buyer, module, instance_domains=["*.acme.test"])
    expired = await issue(db, app, buyer, module, expires_at=now - timedelta(days=1))
    revoked = await issue(db, app, buyer, module, status="revoked")
    cancelled = await issue(db, app, buyer, module, status="cancelled")

    async def code_of(response) -> str:
        assert response.status_code == 200, response.text
        body = response.json()
        answer = verify_document(body, pem, VerificationAnswer)
        assert answer is not None, "the answer must verify with the published key"
        assert answer.code == body["answer"]["code"]
        return answer.code

    assert await code_of(await verify(api, new_license_key())) == "NOT_FOUND"
    assert await code_of(await verify(api, seats)) == "NOT_ACTIVATED"
    assert (await activate(api, seats)).status_code == 200
    assert await code_of(await verify(api, seats, nonce="n-1")) == "VALID"
    assert await code_of(await verify(api, seats, instance="inst-2")) == "TOO_MANY_INSTANCES"
    assert await code_of(await verify(api, limited, domain="evil.test")) == "DOMAIN_MISMATCH"
    assert await code_of(await verify(api, expired)) == "EXPIRED"
    assert await code_of(await verify(api, revoked)) == "REVOKED"
    assert await code_of(await verify(api, cancelled)) == "CANCELLED"

    echoed = (await verify(api, seats, nonce="fresh-42")).json()["answer"]
    assert echoed["nonce"] == "fresh-42" and echoed["license_key"].endswith(seats[-5:])
    assert seats not in (await verify(api, seats)).text, "the full key is never echoed"


async def test_tampering_with_a_signed_answer_is_detected(api, owned, db):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module)
    body = (await verify(api, key)).json()
    forged = {**body, "payload": body["payload"].replace("NOT_ACTIVATED", "VALID")}
    assert verify_document(forged, await public_pem(api), VerificationAnswer) is None


async def test_activation_is_idempotent_records_checks_and_deactivation_frees_the_seat(
    api, owned, db
):
    buyer, module = owned
    key = await issue(db, app_of(api), buyer, module, max_instances=1)
    first = await activate(api, key, domain="shop.acme.test")
    assert first.status_code == 200 and first.json()["outcome"] == "activate"
    again = await activate(api, key)
    assert again.json()["outcome"] == "already_active"
    refused = await activate(api, key, instance="inst-2")
    assert refused.status_code == 409 and refused.json()["error"] == "too_many_instances"
    await verify(api, key)
    async with db() as session:
        [seat] = (await session.execute(select(LicenseActivation))).scalars().all()
    assert seat.domain == "shop.acme.test" and seat.last_check is not None

    freed = await api.request("POST", f"{BASE}/{key}/deactivate", json={"instance_id": "inst-1"})
    assert freed.status_code == 200 and freed.json()["active_instances"] == 0
    assert (await activate(api, key, instance="inst-2")).status_code == 200
    gone = await api.request("POST", f"{BASE}/{key}/deactivate", json={"instance_id": "inst-1"})
    assert gone.status_code == 404 and gone.json()["error"] == "activation_not_found"


async def test_fifty_concurrent_activations_against_three_seats_give_exactly_three(
    committed_api, make_committed, committed
):
    api = committed_api
    buyer = await make_committed.user()
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher, status=ModuleStatus.PUBLISHED)
    key = await issue(committed, app_of(api), buyer, module, max_instances=3)
    responses = await asyncio.gather(*(activate(api, key, instance=f"inst-{n}") for n in range(50)))
    assert sorted(r.status_code for r in responses) == [200] * 3 + [409] * 47
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


async def test_an_offline_license_file_verifies_with_the_public_key_alone(api, owned, db):
    buyer, module = owned
    ends = datetime.now(UTC) + timedelta(days=10)
    key = await issue(db, app_of(api), buyer, module, expires_at=ends, max_instances=2)
    response = await api.request("GET", f"{BASE}/{key}/offline", as_user=buyer)
    assert response.status_code == 200, response.text
    document = verify_document(response.json(), await public_pem(api), OfflineLicense)
    assert document is not None
    assert document.module == module.technical_name and document.max_instances == 2
    assert document.not_after <= ends, "never valid past the license itself"
    revoked = await issue(db, app_of(api), buyer, module, status="revoked")
    refused = await api.request("GET", f"{BASE}/{revoked}/offline", as_user=buyer)
    assert refused.status_code == 409
