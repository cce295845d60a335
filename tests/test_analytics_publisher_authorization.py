"""Authorization matrix, a publisher's own analytics: the effect of every allowed cell of
these routes. The table (and every refused cell) is in ``test_authorization_matrix``;
the world the cells run in, built once for this module with each cell in a savepoint of
it, in ``tests.authorization_world``. Beside test_analytics_publisher_api.py.
"""

import pytest

from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    PA,
    SALE,
    Check,
    cells,
)
from tests.test_authorization_matrix import MATRIX


async def not_for_another(r, w, role, env) -> bool:
    """For the other publisher, one of the owner's modules is as absent as none; True
    when the caller is the owner."""
    if role == "owner":
        return True
    again = await env.api.request(
        "GET",
        r.request.url.path,
        as_user=w.callers[role],
        params={**dict(r.request.url.params), "module_id": w.private.id},
    )
    assert again.status_code == 404 and again.json()["error"] == "module_not_found", again.text
    return False


async def check_overview(r, w, role, env):
    """The owner's figures (4 modules, 2 published; the private one downloaded once and
    sold once, ``answered``); none to the other publisher."""
    body = r.json()
    assert body["period"]["period"] == "custom" and body["module_id"] is None
    if not await not_for_another(r, w, role, env):
        assert (body["modules"], body["published_modules"], body["top_modules"]) == (0, 0, [])
        assert (
            body["all_time"]
            == body["in_period"]
            == {
                "views": 0,
                "downloads": 0,
                "orders": 0,
                "sales": 0,
                "refunds": 0,
                "revenue": [],
                "reviews": 0,
                "average_rating": None,
            }
        )
        return
    assert (body["modules"], body["published_modules"]) == (4, 2)
    for figures in (body["all_time"], body["in_period"]):
        assert (figures["downloads"], figures["orders"], figures["sales"]) == (1, 1, 1)
        assert figures["revenue"] == SALE
        assert (figures["reviews"], figures["average_rating"]) == (1, "5.00")
    top = body["top_modules"][0]
    assert (top["module_id"], top["downloads"], top["sales"]) == (w.private.id, 1, 1)
    assert sum(point["downloads"] for point in body["series"]) == 1
    assert sum(point["sales"] for point in body["series"]) == 1


async def check_download_figures(r, w, role, env):
    body = r.json()
    if not await not_for_another(r, w, role, env):
        assert (body["total"], body["all_time"], body["by_version"]) == (0, 0, [])
        return
    assert (body["total"], body["all_time"], body["signed_in_users"]) == (1, 1, 0)
    assert body["by_version"] == [{"value": "1.0.0", "downloads": 1}]


async def check_revenue(r, w, role, env):
    body = r.json()
    if not await not_for_another(r, w, role, env):
        assert body["currencies"] == [] and body["all_time"]["revenue"] == []
        assert body["totals"] == {"orders": 0, "sales": 0, "refunds": 0, "revenue": []}
        return
    assert body["currencies"] == ["USD"]
    for totals in (body["totals"], body["all_time"]):
        assert totals == {"orders": 1, "sales": 1, "refunds": 0, "revenue": SALE}
    [point] = [p for p in body["series"] if p["sales"]]
    assert point["start"].startswith(str(w.earning.occurred_at.date()))


async def check_review_figures(r, w, role, env):
    body = r.json()
    mine = await not_for_another(r, w, role, env)
    for totals in (body["totals"], body["all_time"]):
        assert totals["reviews"] == totals["responded"] == int(mine)
        assert totals["average_rating"] == ("5.00" if mine else None)
        assert totals["distribution"]["5"] == int(mine) and totals["verified_purchases"] == 0


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", PA + "/overview"): check_overview,
    ("GET", PA + "/downloads"): check_download_figures,
    ("GET", PA + "/revenue"): check_revenue,
    ("GET", PA + "/reviews"): check_review_figures,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
