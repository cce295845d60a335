"""Authorization matrix, licenses: one's own, and what an installed instance calls with the
key: the effect of every allowed cell of these routes. The table (and every refused
cell) is in ``test_authorization_matrix``; the world the cells run in, built once for
this module with each cell in a savepoint of it, in ``tests.authorization_world``.
Beside test_licenses_api.py.
"""

import json

import pytest
from sqlalchemy import select

from domain.licensing import (
    LicenseAnswer,
    OfflineLicense,
    license_key_hash,
    mask_license_key,
)
from integrations.license_signing import key_id as license_key_id
from integrations.license_signing import load_public_key, verify_document
from models.commerce import LicenseActivation
from models.platform import AuditLogEntry
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    SEAT_DOMAIN,
    Check,
    L,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def published_license_pem(env) -> str:
    """The current license key as an installed instance gets it: the published list."""
    keys = (await env.api.request("GET", L + "/public-key")).json()
    [pem] = [k["public_key_pem"] for k in keys if k["status"] == "current"]
    return pem


async def check_my_licenses(r, w, role, env):
    """Each caller sees their own licenses only; the owner sees the keys in full."""
    if role != "owner":
        assert r.json() == [], "another account's license leaked"
        return
    by_id = {item["id"]: item for item in r.json()}
    assert by_id.keys() == {w.license.id, w.sub_license.id}
    item = by_id[w.license.id]
    assert item["license_key"] == w.license_key
    assert item["module_slug"] == w.listed.slug and item["max_instances"] == 2
    item = by_id[w.sub_license.id]
    assert item["license_key"] == w.sub_key and item["license_type"] == "subscription"
    assert item["module_slug"] == w.subscribed.slug


async def check_license_public_keys(r, w, role, env):
    """The key that signs license answers is listed as current, as its public half."""
    assert "PRIVATE" not in r.text
    [current] = [k for k in r.json() if k["status"] == "current"]
    assert current["key_id"] == env.license_keys.key_id and current["algorithm"] == "ed25519"
    assert license_key_id(load_public_key(current["public_key_pem"])) == current["key_id"]


async def check_license_details(r, w, role, env):
    body = r.json()
    assert body["id"] == w.license.id and body["license_key"] == w.license_key
    assert body["module_slug"] == w.listed.slug
    assert body["max_instances"] == 2 and body["active_instances"] == 1


async def check_offline_license(r, w, role, env):
    """A license file for the seat's instance and domain that verifies with the published
    key alone, for this license."""
    document = verify_document(r.json(), await published_license_pem(env), OfflineLicense)
    assert document is not None, "the file must verify with the published key"
    assert document.license_id == w.license.id and document.module == w.listed.technical_name
    assert (document.instance_id, document.domain) == ("inst-1", SEAT_DOMAIN)
    assert document.key_id == env.license_keys.key_id
    assert document.license_key == mask_license_key(w.license_key)
    assert document.license_key_sha256 == license_key_hash(w.license_key)
    assert w.license_key not in r.text, "the full key is never in a signed document"


async def signed_answer(r, w, env, instance: str, code: str) -> LicenseAnswer:
    """The response's signed answer, checked with the published key."""
    answer = verify_document(r.json(), await published_license_pem(env), LicenseAnswer)
    assert answer is not None, "the answer must verify with the published key"
    assert answer.code == code and answer.instance_id == instance
    assert answer.module == w.listed.technical_name and answer.module_slug == w.listed.slug
    assert answer.license_key == mask_license_key(w.license_key)
    assert answer.license_key_sha256 == license_key_hash(w.license_key)
    assert answer.nonce == json.loads(r.request.content)["nonce"]
    assert w.license_key not in r.text, "the full key is never echoed"
    return answer


async def check_verified(r, w, role, env):
    """Whoever holds the key learns it is VALID for "inst-1"; the check is recorded."""
    answer = await signed_answer(r, w, env, "inst-1", "VALID")
    assert answer.domain == SEAT_DOMAIN
    seat = await reload(env, LicenseActivation, w.seat.id)
    assert seat.last_check > w.seat.last_check
    assert seat.answers_valid_until == answer.issued_at + env.api.settings.license_answer_cache


async def check_activated(r, w, role, env):
    """A new instance takes the second seat, and the activation is audited."""
    assert r.json()["outcome"] == "activate"
    await signed_answer(r, w, env, "inst-x", "VALID")
    async with env.make.sessions() as session:
        seats = await session.scalars(
            select(LicenseActivation).where(
                LicenseActivation.license_id == w.license.id, LicenseActivation.status == "active"
            )
        )
        assert {s.instance_id: s.domain for s in seats} == {
            "inst-1": SEAT_DOMAIN,
            "inst-x": "shop.example.com",
        }
        audited = await session.scalars(
            select(AuditLogEntry.changes).where(
                AuditLogEntry.action == "license.activate",
                AuditLogEntry.entity_id == str(w.license.id),
            )
        )
        assert [c["instance_id"] for c in audited] == ["inst-x"]


async def check_license_key_endorsements(r, w, role, env):
    """The same public list for everyone: the world rotated no key, so nothing is vouched
    for, and no private half is ever shown."""
    assert "PRIVATE" not in r.text
    assert r.json() == []


async def check_deactivated(r, w, role, env):
    """The seat of "inst-1" is freed, and the answer says so, signed."""
    answer = await signed_answer(r, w, env, "inst-1", "DEACTIVATED")
    assert answer.status == "released" and answer.operation == "deactivate"
    seat = await reload(env, LicenseActivation, w.seat.id)
    assert seat.status == "deactivated" and seat.deactivated_at is not None


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", L): check_my_licenses,
    ("GET", L + "/public-key"): check_license_public_keys,
    ("GET", L + "/key-endorsements"): check_license_key_endorsements,
    ("GET", L + "/{key}"): check_license_details,
    ("GET", L + "/{key}/offline"): check_offline_license,
    ("POST", L + "/{key}/verify"): check_verified,
    ("POST", L + "/{key}/activate"): check_activated,
    ("POST", L + "/{key}/deactivate"): check_deactivated,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
