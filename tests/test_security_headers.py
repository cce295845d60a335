"""Every answer carries the security headers of spec §5.3, and CORS admits only the origins
an operator configured."""

import httpx
import pytest

from api.app import create_app
from integrations.temporal.front_door import TemporalConnector
from models.db import make_engine
from settings import Settings


async def never_connected():
    raise RuntimeError("these answers need no Temporal")


def client(tmp_path, base_url: str = "http://testserver", **settings) -> httpx.AsyncClient:
    app = create_app(
        Settings(data_dir=tmp_path, **settings),
        make_engine("postgresql+psycopg://unused@localhost/unused"),
        TemporalConnector(never_connected),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/v1/auth/me", 401),
        ("GET", "/no/such/route", 404),
        ("POST", "/api/v1/auth/register", 422),
    ],
)
async def test_api_answers_forbid_sniffing_framing_referrers_and_any_active_content(
    tmp_path, method, path, status
):
    async with client(tmp_path) as http:
        response = await http.request(method, path, json={})
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert "Strict-Transport-Security" not in response.headers, "plain HTTP: no HSTS"


async def test_an_oversized_body_refused_early_still_carries_them(tmp_path):
    async with client(tmp_path, max_request_body_bytes=10) as http:
        response = await http.post("/api/v1/auth/register", content=b"x" * 100)
    assert response.status_code == 413
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_may_load_only_their_own_bundles(tmp_path, path):
    async with client(tmp_path) as http:
        response = await http.get(path)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and "frame-ancestors 'none'" in policy
    assert "https://cdn.jsdelivr.net" in policy, "where FastAPI's docs load Swagger UI from"


async def test_hsts_when_the_request_came_over_tls(tmp_path):
    async with client(tmp_path, base_url="https://testserver") as http:
        response = await http.get("/health")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


async def test_cors_is_off_unless_origins_are_configured(tmp_path):
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
    }
    async with client(tmp_path) as http:
        response = await http.options("/api/v1/auth/token", headers=preflight)
        simple = await http.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_admits_a_configured_origin_and_no_other(tmp_path):
    origins = ["https://shop.example"]
    async with client(tmp_path, cors_origins=origins) as http:
        good = await http.get("/health", headers={"Origin": "https://shop.example"})
        evil = await http.get("/health", headers={"Origin": "https://evil.example"})
    assert good.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in evil.headers
