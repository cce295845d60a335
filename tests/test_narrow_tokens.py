"""A token carries only the scopes it was made with, whatever its owner's role: a narrow
token of an admin is no admin, and a listing-automation token cannot touch money."""

from domain.access import Scope
from tests.factories import PASSWORD
from tests.review_helpers import reviewable, reviews_of


async def token(api, user, *scopes: Scope) -> dict[str, str]:
    created = await api.request(
        "POST",
        "/api/v1/auth/tokens",
        as_user=user,
        json={"name": "narrow", "scopes": [scope.value for scope in scopes]},
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def test_an_admins_account_only_token_cannot_delete_someone_elses_review(api, make):
    _, module = await reviewable(make)
    author, admin = await make.user(), await make.admin()
    written = await api.request(
        "POST", reviews_of(module), as_user=author, json={"rating": 5, "content": "Great."}
    )
    review_id = written.json()["id"]
    narrow = await token(api, admin, Scope.ACCOUNT)
    refused = await api.http.delete(f"/api/v1/marketplace/reviews/{review_id}", headers=narrow)
    assert refused.status_code == 403 and refused.json()["error"] == "not_review_author"
    listed = await api.request("GET", reviews_of(module))
    assert [r["id"] for r in listed.json()["items"]] == [review_id]
    full = await api.request("DELETE", f"/api/v1/marketplace/reviews/{review_id}", as_user=admin)
    assert full.status_code == 204


async def test_a_listings_token_cannot_read_earnings_or_redirect_payouts(api, make):
    owner, _ = await make.publisher()
    narrow = await token(api, owner, Scope.MODULES_WRITE)
    settings = "/api/v1/publisher/payouts/settings"
    moved = await api.http.post(
        settings,
        headers=narrow,
        json={
            "current_password": PASSWORD,
            "payout_method": "paypal",
            "paypal_email": "thief@example.com",
        },
    )
    assert moved.status_code == 403 and moved.json()["error"] == "insufficient_scope"
    for path in ("", "/settings", "/earnings.csv"):
        read = await api.http.get(f"/api/v1/publisher/payouts{path}", headers=narrow)
        assert read.status_code == 403, path
    kept = await api.request("GET", settings, as_user=owner)
    assert kept.json()["paypal_email"] is None
    listings = await api.http.get("/api/v1/publisher/modules", headers=narrow)
    assert listings.status_code == 200, "the token still does what it was made for"


async def test_a_listings_token_cannot_read_the_publishers_analytics(api, make):
    """Analytics show sales and revenue: money, so the account scope as for earnings."""
    owner, _ = await make.publisher()
    narrow = await token(api, owner, Scope.MODULES_WRITE)
    params = {"period": "custom", "from": "2024-01-01", "to": "2024-01-31"}
    for report in ("overview", "downloads", "revenue", "reviews"):
        path = f"/api/v1/publisher/analytics/{report}"
        read = await api.http.get(path, headers=narrow, params=params)
        assert read.status_code == 403, (report, read.text)
        assert read.json()["error"] == "insufficient_scope", report
        full = await api.request("GET", path, as_user=owner, params=params)
        assert full.status_code == 200, (report, full.text)
