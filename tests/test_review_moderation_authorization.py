"""Authorization matrix, the moderation of reviews and their reports: the effect of every
allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_review_moderation_api.py.
"""

from decimal import Decimal

import pytest

from models.review import ModuleReview, ReviewReport
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    ARV,
    CELL_ARGS,
    RR,
    Check,
    audited,
    cells,
    rating_of,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_report_queue(r, w, role, env):
    body = r.json()
    assert [item["id"] for item in body["items"]] == [w.report.id] and body["total"] == 1
    item = body["items"][0]
    assert (item["reporter_id"], item["reason"], item["pending_reports"]) == (
        w.shop_owner.id,
        "fake",
        1,
    )
    assert item["review"]["id"] == w.review.id
    assert item["review"]["user_id"] == w.callers["owner"].id


async def check_review_hidden(r, w, role, env):
    """Off the site and out of the rating, its pending report resolved; audited."""
    admin = w.callers[role]
    body = r.json()
    assert (body["id"], body["status"], body["moderation_note"]) == (
        w.review.id,
        "hidden",
        "abusive",
    )
    stored = await reload(env, ModuleReview, w.review.id)
    assert stored.status == "hidden" and stored.moderated_by == admin.id
    report = await reload(env, ReviewReport, w.report.id)
    assert (report.status, report.resolved_by, report.resolution_note) == (
        "resolved",
        admin.id,
        "abusive",
    )
    assert await rating_of(env, w.listed) == (None, 0)
    assert await audited(env, "review.hide", w.review.id) == [
        (admin.id, {"note": "abusive", "resolved_reports": [w.report.id]})
    ]


async def check_review_restored(r, w, role, env):
    """Back on the site and in the rating: (4 + 2) / 2; audited."""
    admin = w.callers[role]
    body = r.json()
    assert (body["id"], body["status"]) == (w.hidden_review.id, "published")
    stored = await reload(env, ModuleReview, w.hidden_review.id)
    assert stored.status == "published" and stored.moderated_by == admin.id
    assert stored.moderation_note == "appeal accepted"
    assert await rating_of(env, w.listed) == (Decimal("3.00"), 2)
    assert await audited(env, "review.restore", w.hidden_review.id) == [
        (admin.id, {"note": "appeal accepted"})
    ]


async def check_report_resolved(r, w, role, env):
    """The report resolved, and (``hide``) the review hidden with the same note; both
    audited."""
    admin, note = w.callers[role], "a rival's indeed"
    body = r.json()
    assert (body["id"], body["status"], body["resolved_by"]) == (w.report.id, "resolved", admin.id)
    assert body["review"]["status"] == "hidden" and body["pending_reports"] == 0
    report = await reload(env, ReviewReport, w.report.id)
    assert (report.status, report.resolution_note) == ("resolved", note)
    stored = await reload(env, ModuleReview, w.review.id)
    assert (stored.status, stored.moderation_note) == ("hidden", note)
    assert await rating_of(env, w.listed) == (None, 0)
    assert await audited(env, "review_report.resolve", w.report.id) == [
        (admin.id, {"note": note, "hide": True, "review_id": w.review.id})
    ]
    assert await audited(env, "review.hide", w.review.id) == [
        (admin.id, {"note": note, "resolved_reports": [], "via_report": w.report.id})
    ]


async def check_report_dismissed(r, w, role, env):
    admin, note = w.callers[role], "nothing wrong with it"
    body = r.json()
    assert (body["id"], body["status"], body["resolution_note"]) == (w.report.id, "dismissed", note)
    report = await reload(env, ReviewReport, w.report.id)
    assert (report.status, report.resolved_by) == ("dismissed", admin.id)
    assert (await reload(env, ModuleReview, w.review.id)).status == "published"
    assert await rating_of(env, w.listed) == (Decimal("4.00"), 1)
    assert await audited(env, "review_report.dismiss", w.report.id) == [
        (admin.id, {"note": note, "review_id": w.review.id})
    ]


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", RR): check_report_queue,
    ("POST", ARV + "/hide"): check_review_hidden,
    ("POST", ARV + "/restore"): check_review_restored,
    ("POST", RR + "/{report_id}/resolve"): check_report_resolved,
    ("POST", RR + "/{report_id}/dismiss"): check_report_dismissed,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
