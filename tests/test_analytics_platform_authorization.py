"""Authorization matrix, the platform's analytics: the effect of every allowed cell of
these routes. The table (and every refused cell) is in ``test_authorization_matrix``;
the world the cells run in, built once for this module with each cell in a savepoint of
it, in ``tests.authorization_world``. Beside test_analytics_platform_api.py.
"""

import pytest

from models.module import MarketplaceModule
from models.publisher import Publisher
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    A,
    Check,
    cells,
    rows_of,
)
from tests.test_authorization_matrix import MATRIX


async def check_platform_figures(r, w, role, env):
    """The whole platform: both downloads, both orders paid (the owner's subscription two
    days ago, the shop owner's purchase last month), the commission of the one sale, every
    publisher and module."""
    body = r.json()
    totals = body["totals"]
    assert body["currencies"] == ["USD"]
    assert (totals["downloads"], totals["orders"], totals["refunds"]) == (2, 2, 0)
    assert totals["money"] == [
        {"currency": "USD", "orders_total": "29.00", "refunded": "0.00", "commission": "6.00"}
    ]
    publishers = await rows_of(env, Publisher.id, where=[])
    modules = await rows_of(env, MarketplaceModule.id, where=[])
    assert (totals["new_publishers"], totals["new_modules"]) == (len(publishers), len(modules))
    assert len(publishers) == 4 and len(modules) == 9


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", A + "/analytics"): check_platform_figures,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
