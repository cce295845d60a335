"""Authorization matrix, the administration of publishers: the effect of every allowed cell
of these routes. The table (and every refused cell) is in ``test_authorization_matrix``;
the world the cells run in, built once for this module with each cell in a savepoint of
it, in ``tests.authorization_world``. Beside test_admin_publishers_api.py.
"""

import pytest

from models.publisher import Publisher
from models.user import User
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    AP,
    CELL_ARGS,
    SALE,
    Check,
    D,
    audited,
    cells,
    mail_of,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_publisher_list(r, w, role, env):
    body = r.json()
    by_id = {item["id"]: item for item in body["items"]}
    assert by_id.keys() == {
        w.owner_publisher.id,
        w.other_publisher.id,
        w.listed.publisher_id,
        w.banned.id,
    }
    assert body["total"] == 4
    owner = by_id[w.owner_publisher.id]
    assert (owner["owner_email"], owner["module_count"]) == (w.callers["owner"].email, 4)
    assert by_id[w.banned.id]["suspension_reason"] == "spam"


async def check_publisher_detail(r, w, role, env):
    body = r.json()
    assert body["id"] == w.owner_publisher.id and body["user_id"] == w.callers["owner"].id
    assert body["owner_email"] == w.callers["owner"].email and body["status"] == "active"
    assert body["modules_by_status"] == {"draft": 1, "pending": 1, "published": 2}
    assert body["revenue"] == SALE


async def check_publisher_verified(r, w, role, env):
    assert r.json()["verified"] is True
    stored = await reload(env, Publisher, w.owner_publisher.id)
    assert stored.verified and stored.verification_date is not None
    assert await audited(env, "publisher.verify", w.owner_publisher.id) == [
        (w.callers[role].id, {"verified": True})
    ]
    assert [to for to, _ in await mail_of(env, "publisher_verified")] == [w.callers["owner"].email]


async def check_publisher_suspended(r, w, role, env):
    reason = "counterfeit listings"
    assert (r.json()["status"], r.json()["suspension_reason"]) == ("suspended", reason)
    stored = await reload(env, Publisher, w.owner_publisher.id)
    assert (stored.status, stored.suspension_reason) == ("suspended", reason)
    assert await audited(env, "publisher.suspend", w.owner_publisher.id) == [
        (w.callers[role].id, {"status": ["active", "suspended"], "reason": reason})
    ]
    assert [to for to, _ in await mail_of(env, "publisher_suspended")] == [w.callers["owner"].email]
    page = await env.api.request("GET", f"{D}/publishers/{w.owner_publisher.slug}/modules")
    assert page.status_code == 404 and page.json()["error"] == "publisher_not_found", page.text


async def check_publisher_reinstated(r, w, role, env):
    assert (r.json()["id"], r.json()["status"]) == (w.banned.id, "active")
    stored = await reload(env, Publisher, w.banned.id)
    assert (stored.status, stored.suspended_at, stored.suspension_reason) == ("active", None, None)
    [(actor, changes)] = await audited(env, "publisher.reinstate", w.banned.id)
    assert actor == w.callers[role].id
    assert (changes["status"], changes["note"]) == (["suspended", "active"], "appeal accepted")
    assert changes["suspension"]["reason"] == "spam"
    [(to, _)] = await mail_of(env, "publisher_reinstated")
    assert to == (await reload(env, User, w.banned.user_id)).email
    profile = await env.api.request("GET", f"{D}/publishers/{w.banned.slug}")
    assert profile.status_code == 200 and profile.json()["slug"] == w.banned.slug, profile.text


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", AP): check_publisher_list,
    ("GET", AP + "/{publisher_id}"): check_publisher_detail,
    ("POST", AP + "/{publisher_id}/verify"): check_publisher_verified,
    ("POST", AP + "/{publisher_id}/suspend"): check_publisher_suspended,
    ("POST", AP + "/{publisher_id}/reinstate"): check_publisher_reinstated,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
