"""Authorization matrix, featuring modules on the front page: the effect of every allowed
cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_featuring_api.py.
"""

import pytest

from models.module import MarketplaceModule
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    A,
    Check,
    D,
    audited,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_featured(r, w, role, env):
    """The released module goes on the front page, at place 3; audited."""
    module = r.json()["module"]
    assert (module["id"], module["featured_order"]) == (w.released.id, 3)
    stored = await reload(env, MarketplaceModule, w.released.id)
    assert (stored.featured, stored.featured_order) == (True, 3)
    assert await audited(env, "module.feature", w.released.id) == [
        (
            w.callers[role].id,
            {
                "before": {"featured": False, "featured_order": None},
                "after": {"featured": True, "featured_order": 3},
            },
        )
    ]
    front = await env.api.request("GET", D + "/featured")
    assert w.released.id in [m["id"] for m in front.json()], front.text


async def check_unfeatured(r, w, role, env):
    module = r.json()["module"]
    assert (module["id"], module["featured_order"]) == (w.private.id, None)
    stored = await reload(env, MarketplaceModule, w.private.id)
    assert stored.featured is False
    assert await audited(env, "module.unfeature", w.private.id) == [
        (w.callers[role].id, {"before": {"featured": True, "featured_order": None}})
    ]
    assert (await reload(env, MarketplaceModule, w.listed.id)).featured, "only the one asked"


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", A + "/modules/{module_id}/feature"): check_featured,
    ("POST", A + "/modules/{module_id}/unfeature"): check_unfeatured,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
