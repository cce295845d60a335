"""Authorization matrix, the OpenAPI document, the docs pages and the health checks: the
effect of every allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_health.py and test_openapi_golden.py.
"""

import pytest

from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    Check,
    cells,
)
from tests.test_authorization_matrix import MATRIX


async def check_health(r, w, role, env):
    assert r.json() == {"status": "ok"}


async def check_ready(r, w, role, env):
    assert r.json()["status"] == "ready"


async def check_openapi(r, w, role, env):
    assert "/api/v1/auth/me" in r.json()["paths"]


async def check_html(r, w, role, env):
    assert r.headers["content-type"].startswith("text/html")


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", "/openapi.json"): check_openapi,
    ("GET", "/docs"): check_html,
    ("GET", "/docs/oauth2-redirect"): check_html,
    ("GET", "/redoc"): check_html,
    ("GET", "/health"): check_health,
    ("GET", "/ready"): check_ready,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
