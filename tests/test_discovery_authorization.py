"""Authorization matrix, the public catalogue: listings, search, module and publisher
pages: the effect of every allowed cell of these routes. The table (and every refused
cell) is in ``test_authorization_matrix``; the world the cells run in, built once for
this module with each cell in a savepoint of it, in ``tests.authorization_world``.
Beside test_discovery_api.py.
"""

import pytest

from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    Check,
    D,
    cells,
)
from tests.test_authorization_matrix import MATRIX


async def check_catalogue(r, w, role, env):
    body = r.json()
    ids = [m["id"] for m in (body["items"] if isinstance(body, dict) else body)]
    assert w.listed.id in ids, "the listed module is shown to everyone"
    assert w.private.id not in ids, "a private module is never listed, even to its owner"


async def check_private_page(r, w, role, env):
    assert r.json()["id"] == w.private.id and r.json()["visibility"] == "private"


async def check_private_versions(r, w, role, env):
    assert [v["version"] for v in r.json()] == ["1.0.0"]


async def check_private_viewer(r, w, role, env):
    body = r.json()
    assert body["module_id"] == w.private.id and body["signed_in"] is True
    assert body["actions"]["reason"] == "own_module", "its publisher cannot buy it"
    assert not body["actions"]["add_to_cart"] and not body["actions"]["buy_now"]
    assert body["owned"] is None and body["cart_item_id"] is None


async def check_publisher_profile(r, w, role, env):
    assert r.json()["slug"] == w.owner_publisher.slug
    assert r.json()["module_count"] == 1, "the released module counts, the private one not"


async def check_publisher_modules(r, w, role, env):
    assert [m["id"] for m in r.json()["items"]] == [w.released.id] and r.json()["total"] == 1


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", D + "/modules"): check_catalogue,
    ("GET", D + "/modules/{slug}"): check_private_page,
    ("GET", D + "/modules/{slug}/versions"): check_private_versions,
    ("GET", D + "/modules/{slug}/viewer"): check_private_viewer,
    ("GET", D + "/search"): check_catalogue,
    ("GET", D + "/featured"): check_catalogue,
    ("GET", D + "/trending"): check_catalogue,
    ("GET", D + "/publishers/{slug}"): check_publisher_profile,
    ("GET", D + "/publishers/{slug}/modules"): check_publisher_modules,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
