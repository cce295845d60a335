"""Review moderation by admins: the queue of reports, hiding and restoring a review with a
note, resolving and dismissing reports. Hidden reviews leave the public listing and the
module's rating at once; every action is in the audit log with its note."""

import pytest
from sqlalchemy import select

from models.platform import AuditLogEntry
from models.review import ModuleReview, ReviewReport
from tests.review_helpers import (
    ADMIN,
    MARKET,
    assert_rating_exact,
    reviewable,
    reviews_of,
    snapshot,
    write,
)


async def _report(api, user, review_id: int, reason="spam", details=None) -> dict:
    response = await api.request(
        "POST",
        f"{MARKET}/reviews/{review_id}/report",
        as_user=user,
        json={"reason": reason, "details": details},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _audit(db, entity_type: str) -> list[tuple]:
    async with db() as session:
        rows = await session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == entity_type)
            .order_by(AuditLogEntry.id)
        )
        return [(e.action, e.entity_id, e.actor_id, e.changes) for e in rows]


@pytest.fixture
async def reported(api, make):
    """A module with two reviews; the first is reported twice, the second once."""
    owner, module = await reviewable(make)
    authors = [await make.user(), await make.user()]
    readers = [await make.user(), await make.user()]
    first = await write(api, authors[0], module, 1, content="Scam, buy elsewhere: evil.example")
    second = await write(api, authors[1], module, 4)
    reports = [
        await _report(api, readers[0], first["id"]),
        await _report(api, owner, first["id"], "fake"),
        await _report(api, readers[1], second["id"], "other", "mentions a competitor"),
    ]
    return module, first, second, reports


async def test_only_admins_moderate(api, make, db, reported):
    _, first, _, reports = reported
    consumer = await make.user()
    publisher, _ = await make.publisher()
    calls = [
        ("GET", f"{ADMIN}/review-reports", None),
        ("POST", f"{ADMIN}/reviews/{first['id']}/hide", {"note": "spam"}),
        ("POST", f"{ADMIN}/reviews/{first['id']}/restore", {"note": "ok"}),
        ("POST", f"{ADMIN}/review-reports/{reports[0]['id']}/resolve", {"hide": True, "note": "x"}),
        ("POST", f"{ADMIN}/review-reports/{reports[0]['id']}/dismiss", {"note": "fine"}),
    ]
    before = await snapshot(db)
    for method, url, body in calls:
        for who, status, error in [
            (None, 401, "not_authenticated"),
            (consumer, 403, "insufficient_scope"),
            (publisher, 403, "insufficient_scope"),
        ]:
            response = await api.request(method, url, as_user=who, json=body)
            assert (response.status_code, response.json()["error"]) == (status, error), url
    assert await snapshot(db) == before


async def test_the_queue_lists_reports_oldest_first_with_their_review(api, make, reported):
    _, first, second, reports = reported
    admin = await make.admin()
    response = await api.request("GET", f"{ADMIN}/review-reports", as_user=admin)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 3
    assert [item["id"] for item in page["items"]] == [r["id"] for r in reports]
    top = page["items"][0]
    assert (top["status"], top["reason"], top["pending_reports"]) == ("pending", "spam", 2)
    assert top["review"]["id"] == first["id"]
    assert top["review"]["content"].startswith("Scam")
    assert top["review"]["status"] == "published"
    assert page["items"][2]["details"] == "mentions a competitor"
    assert page["items"][2]["review"]["id"] == second["id"]

    paged = await api.request("GET", f"{ADMIN}/review-reports?limit=1&offset=1", as_user=admin)
    assert [item["id"] for item in paged.json()["items"]] == [reports[1]["id"]]
    for status in ("resolved", "dismissed"):
        empty = await api.request("GET", f"{ADMIN}/review-reports?status={status}", as_user=admin)
        assert empty.json()["total"] == 0
    for query in ("status=open", "status=", "limit=1000", "offset=-5", "status=pending%00"):
        bad = await api.request("GET", f"{ADMIN}/review-reports?{query}", as_user=admin)
        assert bad.status_code == 422, query


async def test_hiding_takes_a_review_off_the_site_and_out_of_the_rating(api, make, db, reported):
    module, first, second, reports = reported
    admin = await make.admin()
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("2.50", 2)
    url = f"{ADMIN}/reviews/{first['id']}/hide"

    before = await snapshot(db)
    for body in (
        None,
        {},
        {"note": ""},
        {"note": "   "},
        {"note": "n" * 2001},
        {"note": "a\x00b"},
        {"note": 5},
        {"note": "spam", "status": "published"},
    ):
        response = await api.request("POST", url, as_user=admin, json=body)
        assert response.status_code == 422, body
    missing = await api.request(
        "POST", f"{ADMIN}/reviews/999999/hide", as_user=admin, json={"note": "x"}
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "review_not_found")
    assert await snapshot(db) == before

    hidden = await api.request("POST", url, as_user=admin, json={"note": "advertises a scam"})
    assert hidden.status_code == 200, hidden.text
    body = hidden.json()
    assert (body["status"], body["moderation_note"], body["moderated_by"]) == (
        "hidden",
        "advertises a scam",
        admin.id,
    )
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("4.00", 1)
    listing = (await api.request("GET", reviews_of(module))).json()
    assert [item["id"] for item in listing["items"]] == [second["id"]]
    assert (listing["rating_average"], listing["rating_count"]) == ("4.00", 1)

    async with db() as session:
        statuses = dict((await session.execute(select(ReviewReport.id, ReviewReport.status))).all())
    assert statuses == {
        reports[0]["id"]: "resolved",
        reports[1]["id"]: "resolved",
        reports[2]["id"]: "pending",
    }
    queue = (await api.request("GET", f"{ADMIN}/review-reports", as_user=admin)).json()
    assert [item["id"] for item in queue["items"]] == [reports[2]["id"]]
    resolved = await api.request("GET", f"{ADMIN}/review-reports?status=resolved", as_user=admin)
    assert {item["resolution_note"] for item in resolved.json()["items"]} == {"advertises a scam"}

    again = await api.request("POST", url, as_user=admin, json={"note": "again"})
    assert (again.status_code, again.json()["error"]) == (409, "review_already_hidden")
    assert await _audit(db, "review") == [
        (
            "review.hide",
            str(first["id"]),
            admin.id,
            {"note": "advertises a scam", "resolved_reports": [r["id"] for r in reports[:2]]},
        )
    ]


async def test_restoring_puts_it_back_with_or_without_a_note(api, make, db, reported):
    module, first, second, _ = reported
    admin = await make.admin()
    for review, note in ((first, "spam"), (second, "spam too")):
        hidden = await api.request(
            "POST", f"{ADMIN}/reviews/{review['id']}/hide", as_user=admin, json={"note": note}
        )
        assert hidden.status_code == 200
    assert await assert_rating_exact(db, module.id) == (None, 0)

    back = await api.request(
        "POST", f"{ADMIN}/reviews/{first['id']}/restore", as_user=admin, json={"note": "appeal"}
    )
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["moderation_note"]) == ("published", "appeal")
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("1.00", 1)
    bare = await api.request("POST", f"{ADMIN}/reviews/{second['id']}/restore", as_user=admin)
    assert bare.status_code == 200, bare.text
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("2.50", 2)

    before = await snapshot(db)
    twice = await api.request("POST", f"{ADMIN}/reviews/{second['id']}/restore", as_user=admin)
    assert (twice.status_code, twice.json()["error"]) == (409, "review_already_published")
    for body in ({"note": "n" * 2001}, {"note": "x", "hide": True}, {"note": ["x"]}):
        bad = await api.request(
            "POST", f"{ADMIN}/reviews/{second['id']}/restore", as_user=admin, json=body
        )
        assert bad.status_code == 422, body
    assert await snapshot(db) == before
    restores = [row for row in await _audit(db, "review") if row[0] == "review.restore"]
    assert [(a, e, c) for a, e, _, c in restores] == [
        ("review.restore", str(first["id"]), {"note": "appeal"}),
        ("review.restore", str(second["id"]), {"note": None}),
    ]


async def test_resolving_a_report_may_hide_the_review_and_dismissing_leaves_it(
    api, make, db, reported
):
    module, first, second, reports = reported
    admin = await make.admin()
    resolve = f"{ADMIN}/review-reports/{reports[0]['id']}/resolve"

    before = await snapshot(db)
    needs_note = await api.request("POST", resolve, as_user=admin, json={"hide": True})
    assert (needs_note.status_code, needs_note.json()["error"]) == (400, "note_required")
    for body in ({"hide": "true", "note": "x"}, {"hide": 1, "note": "x"}, {"ban": True}):
        bad = await api.request("POST", resolve, as_user=admin, json=body)
        assert bad.status_code == 422, body
    missing = await api.request("POST", f"{ADMIN}/review-reports/999999/resolve", as_user=admin)
    assert (missing.status_code, missing.json()["error"]) == (404, "report_not_found")
    assert await snapshot(db) == before

    done = await api.request("POST", resolve, as_user=admin, json={"hide": True, "note": "scam"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["resolution_note"], body["resolved_by"]) == (
        "resolved",
        "scam",
        admin.id,
    )
    assert (body["review"]["status"], body["pending_reports"]) == ("hidden", 0)
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("4.00", 1)
    async with db() as session:
        other = await session.get(ReviewReport, reports[1]["id"])
    assert other.status == "resolved"

    dismiss = f"{ADMIN}/review-reports/{reports[2]['id']}/dismiss"
    dismissed = await api.request("POST", dismiss, as_user=admin, json={"note": "fair comment"})
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["review"]["status"]) == (
        "dismissed",
        "published",
    )
    async with db() as session:
        assert (await session.get(ModuleReview, second["id"])).status == "published"

    before = await snapshot(db)
    for url in (resolve, dismiss, f"{ADMIN}/review-reports/{reports[1]['id']}/dismiss"):
        again = await api.request("POST", url, as_user=admin, json={"note": "again"})
        assert (again.status_code, again.json()["error"]) == (409, "report_not_pending"), url
    assert await snapshot(db) == before

    assert await _audit(db, "review_report") == [
        (
            "review_report.resolve",
            str(reports[0]["id"]),
            admin.id,
            {"note": "scam", "hide": True, "review_id": first["id"]},
        ),
        (
            "review_report.dismiss",
            str(reports[2]["id"]),
            admin.id,
            {"note": "fair comment", "review_id": second["id"]},
        ),
    ]
    hides = await _audit(db, "review")
    assert [(a, e, c["note"], c["via_report"]) for a, e, _, c in hides] == [
        ("review.hide", str(first["id"]), "scam", reports[0]["id"])
    ]


async def test_resolving_without_hiding_leaves_the_review_up(api, make, db, reported):
    module, _, _, reports = reported
    admin = await make.admin()
    done = await api.request(
        "POST", f"{ADMIN}/review-reports/{reports[0]['id']}/resolve", as_user=admin
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["resolution_note"]) == ("resolved", None)
    assert done.json()["review"]["status"] == "published"
    assert done.json()["pending_reports"] == 1
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("2.50", 2)


async def test_the_rating_is_exact_after_every_kind_of_change(api, make, db):
    """New, edit, delete, hide, restore: after each, the module's rating equals a fresh
    count of its published reviews."""
    _, module = await reviewable(make)
    people = [await make.user() for _ in range(4)]
    admin = await make.admin()
    seen = []

    async def check():
        average, count = await assert_rating_exact(db, module.id)
        seen.append((None if average is None else str(average), count))

    await check()
    ids = []
    for person, rating in zip(people, (5, 4, 4, 2), strict=True):
        ids.append((await write(api, person, module, rating, content="because"))["id"])
        await check()
    edit = await api.request(
        "PUT", f"{MARKET}/reviews/{ids[0]}", as_user=people[0], json={"rating": 3, "content": "."}
    )
    assert edit.status_code == 200
    await check()
    hide = await api.request(
        "POST", f"{ADMIN}/reviews/{ids[3]}/hide", as_user=admin, json={"note": "abusive"}
    )
    assert hide.status_code == 200
    await check()
    hidden_edit = await api.request(
        "PUT", f"{MARKET}/reviews/{ids[3]}", as_user=people[3], json={"rating": 1, "content": "!"}
    )
    assert hidden_edit.status_code == 200
    await check()
    delete = await api.request("DELETE", f"{MARKET}/reviews/{ids[1]}", as_user=people[1])
    assert delete.status_code == 204
    await check()
    restore = await api.request("POST", f"{ADMIN}/reviews/{ids[3]}/restore", as_user=admin)
    assert restore.status_code == 200
    await check()
    for n in (0, 2, 3):
        gone = await api.request("DELETE", f"{MARKET}/reviews/{ids[n]}", as_user=admin)
        assert gone.status_code == 204
        await check()
    assert seen == [
        (None, 0),
        ("5.00", 1),
        ("4.50", 2),
        ("4.33", 3),
        ("3.75", 4),
        ("3.25", 4),
        ("3.67", 3),
        ("3.67", 3),
        ("3.50", 2),
        ("2.67", 3),
        ("2.50", 2),
        ("1.00", 1),
        (None, 0),
    ]
