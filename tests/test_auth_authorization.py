"""Authorization matrix, registration, sign-in, the account and its API tokens, its
lifecycle (email verification, password change and reset) and admins disabling and
enabling accounts: the effect of every allowed cell of these routes. The table (and every
refused cell) is in ``test_authorization_matrix``; the world the cells run in, built once
for this module with each cell in a savepoint of it, in ``tests.authorization_world``.
Beside test_auth_api.py.
"""

import json

import pytest
from sqlalchemy import select

from models.user import ApiToken, EmailToken, User
from services import credentials
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    ACC,
    AU,
    CELL_ARGS,
    Check,
    audited,
    cells,
    mail_of,
    reload,
    rows_of,
)
from tests.test_authorization_matrix import MATRIX


async def check_register(r, w, role, env):
    body = r.json()
    assert body["role"] == "consumer" and body["email"].startswith("matrix-")


async def check_sign_in(r, w, role, env):
    token = r.json()["access_token"]
    assert token and r.json()["token_type"] == "bearer"
    me = await env.api.request(
        "GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.json()["id"] == w.callers["owner"].id, "the token is the owner's, whoever asked"


async def check_me(r, w, role, env):
    assert r.json()["id"] == w.callers[role].id


async def check_token_created(r, w, role, env):
    assert r.json()["token"].startswith("fvm_")
    assert r.json()["scopes"] == ["account"]


async def check_token_list(r, w, role, env):
    ids = [t["id"] for t in r.json()]
    assert (w.token_id in ids) is (role == "owner"), "each caller sees only their own tokens"


async def check_token_revoked(r, w, role, env):
    token = await reload(env, ApiToken, w.token_id)
    assert token.revoked_at is not None


async def session_works(env, user) -> bool:
    """Whether a session issued to ``user`` at the version the world built it with is
    still accepted."""
    me = await env.api.request("GET", AU + "/me", as_user=user)
    assert me.status_code in (200, 401), me.text
    return me.status_code == 200


async def check_email_verified(r, w, role, env):
    consumer = w.callers["consumer"]
    assert r.json() == {"email": consumer.email, "email_verified": True}
    stored = await reload(env, User, consumer.id)
    assert stored.email_verified_at is not None
    assert await audited(env, "user.verify_email", consumer.id) == [
        (consumer.id, {"email": consumer.email})
    ]


async def check_verification_resent(r, w, role, env):
    me = w.callers[role]
    assert me.email in r.json()["detail"]
    assert [to for to, _ in await mail_of(env, "account.verify_email")] == [me.email]
    spent = await rows_of(env, EmailToken.used_at, where=[EmailToken.user_id == me.id])
    assert all(used is not None for (used,) in spent[:-1]), "the earlier code is superseded"


async def check_password_changed(r, w, role, env):
    me = w.callers[role]
    sent = json.loads(r.request.content)
    stored = await reload(env, User, me.id)
    assert credentials.verify_password(sent["new_password"], stored.password_hash)
    assert stored.token_version == me.token_version + 1
    assert not await session_works(env, me), "the session used to change it is over"
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await env.api.request("GET", AU + "/me", headers=fresh)).json()["id"] == me.id
    assert [to for to, _ in await mail_of(env, "account.password_changed")] == [me.email]


async def check_reset_requested(r, w, role, env):
    """The address of the cell has no account: the same answer, and no mail."""
    assert r.json() == {
        "detail": "if an account has this address, a mail with a reset code is on its way"
    }
    assert await mail_of(env, "account.reset_password") == []


async def check_password_reset(r, w, role, env):
    owner = w.callers["owner"]
    sent = json.loads(r.request.content)
    stored = await reload(env, User, owner.id)
    assert credentials.verify_password(sent["new_password"], stored.password_hash)
    assert stored.token_version == owner.token_version + 1
    assert not await session_works(env, owner)
    assert (await reload(env, ApiToken, w.token_id)).revoked_at is not None


async def check_account_disabled(r, w, role, env):
    consumer = w.callers["consumer"]
    body = r.json()
    assert (body["id"], body["is_active"], body["disabled_reason"]) == (
        consumer.id,
        False,
        "sells stolen licenses",
    )
    assert not await session_works(env, consumer)
    [(actor, changes)] = await audited(env, "user.disable", consumer.id)
    assert actor == w.callers["admin"].id and changes["reason"] == "sells stolen licenses"


async def check_account_enabled(r, w, role, env):
    body = r.json()
    assert (body["id"], body["is_active"], body["disabled_at"]) == (w.disabled.id, True, None)
    [(actor, changes)] = await audited(env, "user.enable", w.disabled.id)
    assert actor == w.callers["admin"].id and changes["disabled"]["reason"] == "chargeback fraud"
    async with env.make.sessions() as session:
        version = await session.scalar(select(User.token_version).where(User.id == w.disabled.id))
    assert version == w.disabled.token_version, "sessions ended by disabling stay ended"


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", AU + "/register"): check_register,
    ("POST", AU + "/token"): check_sign_in,
    ("GET", AU + "/me"): check_me,
    ("POST", AU + "/tokens"): check_token_created,
    ("GET", AU + "/tokens"): check_token_list,
    ("DELETE", AU + "/tokens/{token_id}"): check_token_revoked,
    ("POST", AU + "/verify-email"): check_email_verified,
    ("POST", AU + "/verify-email/resend"): check_verification_resent,
    ("POST", AU + "/password"): check_password_changed,
    ("POST", AU + "/password-reset"): check_reset_requested,
    ("POST", AU + "/password-reset/confirm"): check_password_reset,
    ("POST", ACC + "/{user_id}/disable"): check_account_disabled,
    ("POST", ACC + "/{user_id}/enable"): check_account_enabled,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
