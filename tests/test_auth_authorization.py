"""Authorization matrix, registration, sign-in, the account and its API tokens: the effect
of every allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_auth_api.py.
"""

import pytest

from models.user import ApiToken
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    AU,
    CELL_ARGS,
    Check,
    cells,
    reload,
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


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", AU + "/register"): check_register,
    ("POST", AU + "/token"): check_sign_in,
    ("GET", AU + "/me"): check_me,
    ("POST", AU + "/tokens"): check_token_created,
    ("GET", AU + "/tokens"): check_token_list,
    ("DELETE", AU + "/tokens/{token_id}"): check_token_revoked,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
