"""The storefront served by the API on its own origin (api/web_app.py): hashed assets
cached for good, index.html never without revalidation and with a CSP that runs no inline
script, the history fallback for page routes only, and a plain API when nothing is built."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from integrations.temporal.front_door import TemporalConnector
from models.db import make_engine
from settings import Settings

INDEX = (
    b'<!doctype html><html><body><div id="app"></div>'
    b'<script type="module" src="/assets/index-abc123.js"></script></body></html>'
)
ASSET = b"console.log('storefront')"


async def _no_temporal():
    raise RuntimeError("serving files needs no Temporal")


@asynccontextmanager
async def _client(tmp_path: Path, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(data_dir=tmp_path / "data", web_dist_dir=dist),
        make_engine("postgresql+psycopg://unused@localhost/unused"),
        TemporalConnector(_no_temporal),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def built(tmp_path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-abc123.js").write_bytes(ASSET)
    (tmp_path / "secret.txt").write_text("outside the assets folder")
    return dist


PAGES = [
    "/marketplace",
    "/marketplace/",
    "/marketplace/search?q=auth",
    "/marketplace/m/some-module",
    "/marketplace/c/tools",
    "/account/licenses",
    "/publisher/modules/3/versions",
    "/admin/marketplace/pending",
    "/signin?next=%2Faccount%2Fpurchases",
    "/register",
    "/marketplace/no/such/page",
]


@pytest.mark.parametrize("path", PAGES)
async def test_page_routes_answer_the_app_uncached_with_a_strict_csp(tmp_path, built, path):
    async with _client(tmp_path, built) as http:
        response = await http.get(path)
    assert response.status_code == 200, response.text
    assert response.content == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"], policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


async def test_hashed_assets_are_cached_for_a_year_and_immutable(tmp_path, built):
    async with _client(tmp_path, built) as http:
        response = await http.get("/assets/index-abc123.js")
        missing = await http.get("/assets/index-gone999.js")
        escape = await http.get("/assets/..%2Fsecret.txt")
        head = await http.head("/marketplace")
    assert response.status_code == 200 and response.content == ASSET
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert escape.status_code == 404 and b"outside" not in escape.content
    assert head.status_code == 200 and head.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/marketplace/nothing-here",
        "/api/v1/nope",
        "/api/marketplace",
        "/docs/extra",
        "/openapi.json/x",
        "/health/x",
        "/ready/x",
        "/metrics",
        "/unknown-top-level",
        "/marketplaces",
        "/index.html",
    ],
)
async def test_api_and_unknown_paths_keep_the_json_404(tmp_path, built, path):
    async with _client(tmp_path, built) as http:
        response = await http.get(path)
    assert response.status_code == 404, (path, response.text)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "not_found"


async def test_api_documents_are_not_replaced_by_the_app(tmp_path, built):
    async with _client(tmp_path, built) as http:
        openapi = await http.get("/openapi.json")
        docs = await http.get("/docs")
        health = await http.get("/health")
    assert openapi.status_code == 200 and openapi.json()["info"]["title"] == "FastVue Marketplace"
    assert not any(path.startswith("/marketplace") for path in openapi.json()["paths"])
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert health.json() == {"status": "ok"}


async def test_the_root_goes_to_the_marketplace(tmp_path, built):
    async with _client(tmp_path, built) as http:
        response = await http.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/marketplace"


async def test_without_a_built_app_the_api_works_and_pages_say_what_to_do(tmp_path):
    async with _client(tmp_path, tmp_path / "no-dist") as http:
        page = await http.get("/marketplace")
        asset = await http.get("/assets/index-abc123.js")
        health = await http.get("/health")
        api_miss = await http.get("/api/v1/nope")
    assert page.status_code == 503
    assert page.json()["error"] == "web_app_not_built" and "make run" in page.json()["detail"]
    assert asset.status_code == 404
    assert health.status_code == 200
    assert api_miss.status_code == 404
