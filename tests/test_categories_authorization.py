"""Authorization matrix, the category tree and its administration: the effect of every
allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_categories_api.py.
"""

import pytest

from models.module import MarketplaceCategory
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    C,
    Check,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_public_tree(r, w, role, env):
    assert w.category.id in {c["id"] for c in r.json()}


async def check_admin_tree(r, w, role, env):
    assert w.category.id in {c["id"] for c in r.json()}


async def check_category_created(r, w, role, env):
    assert r.json()["name"].startswith("Matrix ")
    assert await reload(env, MarketplaceCategory, r.json()["id"]) is not None


async def check_category_updated(r, w, role, env):
    stored = await reload(env, MarketplaceCategory, w.category.id)
    assert stored.name == r.json()["name"] and stored.name.startswith("Renamed ")


async def check_category_deleted(r, w, role, env):
    assert await reload(env, MarketplaceCategory, w.category.id) is None


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", "/api/v1/marketplace/categories"): check_public_tree,
    ("GET", C): check_admin_tree,
    ("POST", C): check_category_created,
    ("PUT", C + "/{category_id}"): check_category_updated,
    ("DELETE", C + "/{category_id}"): check_category_deleted,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
