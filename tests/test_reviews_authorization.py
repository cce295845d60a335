"""Authorization matrix, reviews, votes and reports, and the publisher's answers: the
effect of every allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_reviews_api.py.
"""

import json
from decimal import Decimal

import pytest

from models.review import ModuleReview, ReviewReport, ReviewVote
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    PR,
    REV,
    RV,
    Check,
    P,
    audited,
    cells,
    mail_of,
    rating_of,
    reload,
    rows_of,
)
from tests.test_authorization_matrix import MATRIX


async def votes_on(env, review: ModuleReview) -> dict[int, str]:
    return dict(
        await rows_of(
            env, ReviewVote.user_id, ReviewVote.vote, where=[ReviewVote.review_id == review.id]
        )
    )


async def reports_of(env, review: ModuleReview) -> dict[int, str]:
    """Each reporter's report of the review, by status."""
    return dict(
        await rows_of(
            env,
            ReviewReport.reporter_id,
            ReviewReport.status,
            where=[ReviewReport.review_id == review.id],
        )
    )


async def check_reviews_listed(r, w, role, env):
    """The published review only (the hidden one is nobody's to read), by name, never by
    address, and the module's rating."""
    body = r.json()
    assert [item["id"] for item in body["items"]] == [w.review.id] and body["total"] == 1
    item = body["items"][0]
    assert (item["rating"], item["status"], item["helpful_count"]) == (4, "published", 1)
    assert item["reviewer_name"] == "Matrix User" and item["verified_purchase"] is True
    assert (body["rating_average"], body["rating_count"]) == ("4.00", 1)
    assert "@" not in r.text, "a reviewer's email leaked"


async def check_review_written(r, w, role, env):
    """The caller's review of ``subscribed``: rated, counted, and its publisher told."""
    body = r.json()
    stored = await reload(env, ModuleReview, body["id"])
    assert stored.user_id == w.callers[role].id and stored.module_id == w.subscribed.id
    assert (stored.rating, stored.status) == (5, "published") and stored.title.startswith("Great")
    assert body["verified_purchase"] is stored.verified_purchase is (role == "owner")
    assert await rating_of(env, w.subscribed) == (Decimal("5.00"), 1)
    assert await mail_of(env, "review.new") == [(w.shop_owner.email, f"review-{stored.id}-new")]


async def check_review_rewritten(r, w, role, env):
    body = r.json()
    assert body["id"] == w.review.id and body["rating"] == 2 and body["title"] is None
    stored = await reload(env, ModuleReview, w.review.id)
    assert stored.content == body["content"] and stored.content.startswith("Broke")
    assert stored.updated_by == w.callers[role].id and stored.status == "published"
    assert await rating_of(env, w.listed) == (Decimal("2.00"), 1), "the hidden one not counted"


async def check_review_deleted(r, w, role, env):
    """Gone with its vote and report, out of the rating; audited when an admin did it."""
    assert r.content == b""
    assert await reload(env, ModuleReview, w.review.id) is None
    assert await votes_on(env, w.review) == {} and await reports_of(env, w.review) == {}
    assert await rating_of(env, w.listed) == (None, 0)
    assert await reload(env, ModuleReview, w.hidden_review.id) is not None
    expected = {"module_id": w.listed.id, "user_id": w.callers["owner"].id, "rating": 4}
    logged = [(w.callers[role].id, expected)] if role == "admin" else []
    assert await audited(env, "review.delete", w.review.id) == logged


async def check_voted(r, w, role, env):
    """The caller's vote is cast (the consumer's changed), next to any other; recounted."""
    caller = w.callers[role]
    helpful = 0 if role == "consumer" else 1
    assert r.json() == {
        "review_id": w.review.id,
        "vote": "not_helpful",
        "helpful_count": helpful,
        "not_helpful_count": 1,
    }
    expected = {w.callers["consumer"].id: "helpful", caller.id: "not_helpful"}
    assert await votes_on(env, w.review) == expected
    stored = await reload(env, ModuleReview, w.review.id)
    assert (stored.helpful_count, stored.not_helpful_count) == (helpful, 1)


async def check_vote_removed(r, w, role, env):
    """One's own vote goes; nobody takes back the consumer's but the consumer."""
    helpful = 0 if role == "consumer" else 1
    assert r.json() == {
        "review_id": w.review.id,
        "vote": None,
        "helpful_count": helpful,
        "not_helpful_count": 0,
    }
    remaining = {} if role == "consumer" else {w.callers["consumer"].id: "helpful"}
    assert await votes_on(env, w.review) == remaining
    assert (await reload(env, ModuleReview, w.review.id)).helpful_count == helpful


async def check_reported(r, w, role, env):
    body = r.json()
    assert (body["review_id"], body["reason"], body["status"]) == (w.review.id, "spam", "pending")
    assert await reports_of(env, w.review) == {
        w.shop_owner.id: "pending",
        w.callers[role].id: "pending",
    }
    assert (await reload(env, ModuleReview, w.review.id)).status == "published", "stays up"


async def check_publisher_reviews(r, w, role, env):
    """Reviews of one's own modules only: the owner sees ``answered``, its author (the
    other publisher) nothing."""
    body = r.json()
    if role != "owner":
        assert body["items"] == [] and body["total"] == 0, "another publisher's review leaked"
        return
    assert [item["id"] for item in body["items"]] == [w.answered.id] and body["total"] == 1
    assert body["items"][0]["publisher_response"]["response"] == "Thanks for the kind words."


async def check_response_written(r, w, role, env):
    """The owner's answer is replaced; the time of the first answer stays; audited."""
    sent = json.loads(r.request.content)["response"]
    assert r.json()["publisher_response"]["response"] == sent
    stored = await reload(env, ModuleReview, w.answered.id)
    assert stored.publisher_response == sent and stored.updated_by == w.callers[role].id
    assert stored.publisher_responded_at == w.answered.publisher_responded_at
    assert await audited(env, "review.response.update", w.answered.id) == [
        (w.callers[role].id, {"response": sent})
    ]


async def check_response_removed(r, w, role, env):
    assert r.content == b""
    stored = await reload(env, ModuleReview, w.answered.id)
    assert stored.publisher_response is None and stored.publisher_responded_at is None
    assert stored.rating == 5 and stored.status == "published", "the review itself stays"
    assert await audited(env, "review.response.delete", w.answered.id) == [(w.callers[role].id, {})]


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", REV): check_reviews_listed,
    ("POST", REV): check_review_written,
    ("PUT", RV): check_review_rewritten,
    ("DELETE", RV): check_review_deleted,
    ("POST", RV + "/vote"): check_voted,
    ("DELETE", RV + "/vote"): check_vote_removed,
    ("POST", RV + "/report"): check_reported,
    ("GET", P + "/reviews"): check_publisher_reviews,
    ("PUT", PR): check_response_written,
    ("DELETE", PR): check_response_removed,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
