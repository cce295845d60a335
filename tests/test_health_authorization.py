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


async def check_page(r, w, role, env):
    """The storefront's shell, the same for everyone, never cached without revalidation."""
    assert r.headers["content-type"].startswith("text/html")
    assert "test build" in r.text and r.headers["cache-control"] == "no-cache"
    assert "script-src 'self';" in r.headers["content-security-policy"]


async def check_asset(r, w, role, env):
    assert "test build" in r.text
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


async def check_home(r, w, role, env):
    assert r.headers["location"] == "/marketplace"


PAGES = [
    ("GET", path)
    for section in ("/marketplace", "/account", "/publisher", "/admin")
    for path in (section, section + "/{rest:path}")
] + [
    ("GET", f"/{page}")
    for page in ("signin", "register", "signout", "verify-email", "reset-password")
]

CHECKS: dict[tuple[str, str], Check] = {
    ("GET", "/"): check_home,
    ("GET", "/assets/{name}"): check_asset,
    **dict.fromkeys(PAGES, check_page),
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
