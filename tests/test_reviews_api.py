"""Reviews as buyers and publishers use them: writing, reading, editing and deleting a
review, votes, reports and the publisher's response. After every change the module's
rating equals a fresh count of its published reviews, and a review's vote counters equal
a fresh count of its votes."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from domain.modules import ModuleStatus
from models.platform import AuditLogEntry, NotificationOutbox
from models.review import ModuleReview, ReviewReport
from tests.factories import issue_license
from tests.review_helpers import (
    ADMIN,
    MARKET,
    PUBLISHER,
    assert_rating_exact,
    assert_votes_exact,
    reviewable,
    reviews_of,
    snapshot,
    write,
)


async def test_a_review_is_listed_with_a_name_never_an_email_and_the_publisher_is_told(
    api, make, db
):
    owner, module = await reviewable(make, display_name="Invoice Tools")
    reviewer = await make.user(email="ada.private@example.com")
    review = await write(api, reviewer, module, 4, title="Solid", content="Does the job")
    assert review["verified_purchase"] is False
    assert review["version"] == "1.0.0"
    assert review["status"] == "published"
    assert review["reviewer_name"] == "Test User"

    listing = await api.request("GET", reviews_of(module))
    assert listing.status_code == 200
    page = listing.json()
    assert page["total"] == 1 and page["rating_count"] == 1
    assert page["rating_average"] == "4.00"
    assert "ada.private" not in listing.text and "@" not in listing.text
    assert page["items"][0]["title"] == "Solid"
    await assert_rating_exact(db, module.id)

    async with db() as session:
        mails = (await session.scalars(select(NotificationOutbox))).all()
    assert [(m.dedupe_key, m.to_email, m.kind) for m in mails] == [
        (f"review-{review['id']}-new", owner.email, "review.new")
    ]
    assert "Invoice Tools" in mails[0].subject and "4/5" in mails[0].subject
    assert "Does the job" in mails[0].body
    assert "ada.private" not in mails[0].body


async def test_verified_purchase_means_a_paid_for_license_that_was_not_taken_back(api, make, db):
    _, module = await reviewable(make, license_type="paid", price="10.00")
    buyer, refunded, trialist = [await make.user() for _ in range(3)]
    app = api.http._transport.app
    await issue_license(db, app, buyer, module, status="expired")
    await issue_license(db, app, refunded, module, status="revoked")
    await issue_license(
        db, app, trialist, module, license_type="trial", trial_started_at=datetime.now(UTC)
    )
    verdicts = {
        who: (await write(api, user, module, 5))["verified_purchase"]
        for who, user in (("buyer", buyer), ("refunded", refunded), ("trialist", trialist))
    }
    assert verdicts == {"buyer": True, "refunded": False, "trialist": False}


async def test_one_review_per_account_and_none_of_ones_own_module(api, make, db):
    owner, module = await reviewable(make)
    reviewer = await make.user()
    await write(api, reviewer, module, 5)
    before = await snapshot(db)
    again = await api.request(
        "POST",
        reviews_of(module),
        as_user=reviewer,
        json={"rating": 1, "content": "changed my mind"},
    )
    assert (again.status_code, again.json()["error"]) == (409, "already_reviewed")
    own = await api.request("POST", reviews_of(module), as_user=owner, json={"rating": 5})
    assert (own.status_code, own.json()["error"]) == (403, "own_module")
    anonymous = await api.request("POST", reviews_of(module), json={"rating": 5})
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "not_authenticated")
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("module_fields", "publisher_status"),
    [
        ({"status": ModuleStatus.DRAFT}, "active"),
        ({"status": ModuleStatus.PENDING}, "active"),
        ({"status": ModuleStatus.ARCHIVED}, "active"),
        ({"status": ModuleStatus.PUBLISHED, "visibility": "private"}, "active"),
        ({"status": ModuleStatus.PUBLISHED}, "suspended"),
    ],
)
async def test_only_a_module_on_the_site_can_be_reviewed_or_read(
    api, make, db, module_fields, publisher_status
):
    _, publisher = await make.publisher(status=publisher_status)
    module = await make.module(publisher, **module_fields)
    reviewer = await make.user()
    before = await snapshot(db)
    write_it = await api.request("POST", reviews_of(module), as_user=reviewer, json={"rating": 5})
    assert (write_it.status_code, write_it.json()["error"]) == (404, "module_not_found")
    read_it = await api.request("GET", reviews_of(module))
    assert (read_it.status_code, read_it.json()["error"]) == (404, "module_not_found")
    assert await snapshot(db) == before


async def test_an_unlisted_module_can_be_reviewed_by_whoever_has_its_link(api, make):
    _, module = await reviewable(make, visibility="unlisted")
    await write(api, await make.user(), module, 5)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"rating": 3}, 400, "content_required"),
        ({"rating": 2, "content": "   "}, 400, "content_required"),
        ({"rating": 1, "title": "Bad"}, 400, "content_required"),
        ({"rating": "5"}, 422, None),
        ({"rating": 5.0}, 422, None),
        ({"rating": 4.5}, 422, None),
        ({"rating": True}, 422, None),
        ({"rating": 0}, 422, None),
        ({"rating": 6}, 422, None),
        ({"rating": -1}, 422, None),
        ({"rating": 2**63}, 422, None),
        ({"rating": None}, 422, None),
        ({}, 422, None),
        ({"rating": 5, "title": "x" * 201}, 422, None),
        ({"rating": 5, "title": "two\nlines"}, 422, None),
        ({"rating": 5, "content": "y" * 10_001}, 422, None),
        ({"rating": 5, "content": "nul \x00 byte"}, 422, None),
        ({"rating": 5, "title": "\x00"}, 422, None),
        ({"rating": 5, "verified_purchase": True}, 422, None),
        ({"rating": 5, "status": "published"}, 422, None),
        ({"rating": 5, "helpful_count": 1000}, 422, None),
        ({"rating": 5, "content": ["a list"]}, 422, None),
        ([5], 422, None),
    ],
)
async def test_hostile_review_bodies_are_refused_and_change_nothing(
    shared_api, make, db, body, status, error
):
    _, module = await reviewable(make)
    reviewer = await make.user()
    before = await snapshot(db)
    response = await shared_api.request("POST", reviews_of(module), as_user=reviewer, json=body)
    assert response.status_code == status, response.text
    if error:
        assert response.json()["error"] == error
    assert await snapshot(db) == before


async def test_hostile_listing_parameters_are_refused(shared_api, make):
    _, module = await reviewable(make)
    for query in ("sort=best", "limit=0", "limit=101", "offset=-1", "limit=abc", "sort=%00"):
        response = await shared_api.request("GET", f"{reviews_of(module)}?{query}")
        assert response.status_code == 422, query
    for path in ("NOT-A-SLUG", "a%00b", "x" * 201):
        response = await shared_api.request("GET", f"{MARKET}/modules/{path}/reviews")
        assert response.status_code in (404, 422), path


async def _set_votes(db, review_id: int, helpful: int) -> None:
    async with db() as session:
        review = await session.get(ModuleReview, review_id)
        review.helpful_count = helpful
        await session.commit()


async def test_listing_sorts_and_pages_published_reviews_only(api, make, db):
    _, module = await reviewable(make)
    people = [await make.user() for _ in range(4)]
    ids = []
    for person, rating in zip(people, (4, 5, 2, 3), strict=True):
        ids.append((await write(api, person, module, rating, content=f"rated {rating}"))["id"])
    await _set_votes(db, ids[2], 7)  # ordering only: the counters are not under test here
    await _set_votes(db, ids[0], 3)
    async with db() as session:
        (await session.get(ModuleReview, ids[3])).status = "hidden"
        await session.commit()

    async def order(sort: str, **page) -> list[int]:
        query = "&".join(f"{k}={v}" for k, v in {"sort": sort, **page}.items())
        body = (await api.request("GET", f"{reviews_of(module)}?{query}")).json()
        assert body["total"] == 3
        return [item["id"] for item in body["items"]]

    assert await order("newest") == [ids[2], ids[1], ids[0]]
    assert await order("helpful") == [ids[2], ids[0], ids[1]]
    assert await order("rating_high") == [ids[1], ids[0], ids[2]]
    assert await order("rating_low") == [ids[2], ids[0], ids[1]]
    assert await order("rating_high", limit=1, offset=1) == [ids[0]]
    assert await order("newest", limit=2, offset=2) == [ids[0]]
    assert await order("newest", offset=50) == []

    # The distribution counts the published reviews (not the hidden 3), whatever the page.
    page = (await api.request("GET", f"{reviews_of(module)}?limit=1&offset=2")).json()
    assert page["rating_distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}


async def test_the_author_rewrites_a_review_under_the_same_rules(api, make, db):
    _, module = await reviewable(make)
    author, stranger, admin = await make.user(), await make.user(), await make.admin()
    review = await write(api, author, module, 5, title="Great")
    url = f"{MARKET}/reviews/{review['id']}"
    await write(api, stranger, module, 3, content="ok-ish")
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("4.00", 2)

    before = await snapshot(db)
    for who, body, status, error in [
        (None, {"rating": 4}, 401, "not_authenticated"),
        (stranger, {"rating": 4}, 403, "not_review_author"),
        (admin, {"rating": 4}, 403, "not_review_author"),
        (author, {"rating": 2}, 400, "content_required"),
        (author, {"rating": "2", "content": "x"}, 422, None),
        (author, {"rating": 4, "user_id": 1}, 422, None),
    ]:
        response = await api.request("PUT", url, as_user=who, json=body)
        assert response.status_code == status, (who, body, response.text)
        if error:
            assert response.json()["error"] == error
    missing = await api.request(
        "PUT", f"{MARKET}/reviews/999999", as_user=author, json={"rating": 4}
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "review_not_found")
    assert await snapshot(db) == before

    edited = await api.request(
        "PUT", url, as_user=author, json={"rating": 2, "content": "a bug since 1.0"}
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["rating"], body["title"], body["content"]) == (2, None, "a bug since 1.0")
    assert body["created_at"] == review["created_at"]
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("2.50", 2)


async def test_deleting_a_review_is_for_its_author_or_an_admin(api, make, db):
    _, module = await reviewable(make)
    author, other, stranger, admin = (
        await make.user(),
        await make.user(),
        await make.user(),
        await make.admin(),
    )
    first = await write(api, author, module, 5)
    second = await write(api, other, module, 2, content="crashes")
    before = await snapshot(db)
    refused = await api.request("DELETE", f"{MARKET}/reviews/{first['id']}", as_user=stranger)
    assert (refused.status_code, refused.json()["error"]) == (403, "not_review_author")
    anonymous = await api.request("DELETE", f"{MARKET}/reviews/{first['id']}")
    assert anonymous.status_code == 401
    assert await snapshot(db) == before

    mine = await api.request("DELETE", f"{MARKET}/reviews/{first['id']}", as_user=author)
    assert mine.status_code == 204
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("2.00", 1)

    by_admin = await api.request("DELETE", f"{MARKET}/reviews/{second['id']}", as_user=admin)
    assert by_admin.status_code == 204
    assert await assert_rating_exact(db, module.id) == (None, 0)
    async with db() as session:
        entries = (
            await session.scalars(
                select(AuditLogEntry).where(AuditLogEntry.entity_type == "review")
            )
        ).all()
    assert [(e.action, e.entity_id, e.actor_id) for e in entries] == [
        ("review.delete", str(second["id"]), admin.id)
    ]
    gone = await api.request("DELETE", f"{MARKET}/reviews/{second['id']}", as_user=admin)
    assert (gone.status_code, gone.json()["error"]) == (404, "review_not_found")


async def test_votes_are_one_per_account_changeable_and_counted_exactly(api, make, db):
    owner, module = await reviewable(make)
    author = await make.user()
    voters = [await make.user() for _ in range(3)]
    review = await write(api, author, module, 5)
    url = f"{MARKET}/reviews/{review['id']}/vote"

    async def vote(user, value):
        response = await api.request("POST", url, as_user=user, json={"vote": value})
        assert response.status_code == 200, response.text
        await assert_votes_exact(db, review["id"])
        return response.json()

    assert (await vote(voters[0], "helpful"))["helpful_count"] == 1
    assert (await vote(voters[0], "helpful"))["helpful_count"] == 1
    switched = await vote(voters[0], "not_helpful")
    assert (switched["helpful_count"], switched["not_helpful_count"]) == (0, 1)
    assert switched["vote"] == "not_helpful"
    await vote(voters[1], "helpful")
    last = await vote(owner, "helpful")  # the publisher may say a review helped
    assert (last["helpful_count"], last["not_helpful_count"]) == (2, 1)

    taken_back = await api.request("DELETE", url, as_user=voters[1])
    assert taken_back.status_code == 200
    assert taken_back.json() == {
        "review_id": review["id"],
        "vote": None,
        "helpful_count": 1,
        "not_helpful_count": 1,
    }
    again = await api.request("DELETE", url, as_user=voters[1])
    assert again.json()["helpful_count"] == 1
    await assert_votes_exact(db, review["id"])

    before = await snapshot(db)
    for who, body, status, error in [
        (author, {"vote": "helpful"}, 403, "own_review"),
        (None, {"vote": "helpful"}, 401, "not_authenticated"),
        (voters[2], {"vote": "great"}, 422, None),
        (voters[2], {"vote": True}, 422, None),
        (voters[2], {"vote": "helpful", "weight": 10}, 422, None),
        (voters[2], {"vote": "helpful\x00"}, 422, None),
        (voters[2], {}, 422, None),
    ]:
        response = await api.request("POST", url, as_user=who, json=body)
        assert response.status_code == status, (body, response.text)
        if error:
            assert response.json()["error"] == error
    missing = await api.request(
        "POST", f"{MARKET}/reviews/2147483647/vote", as_user=voters[2], json={"vote": "helpful"}
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "review_not_found")
    too_big = await api.request(
        "POST", f"{MARKET}/reviews/2147483648/vote", as_user=voters[2], json={"vote": "helpful"}
    )
    assert too_big.status_code == 422
    assert await snapshot(db) == before


async def test_reports_are_one_per_account_with_details_for_other(api, make, db):
    owner, module = await reviewable(make)
    author, reader = await make.user(), await make.user()
    review = await write(api, author, module, 5)
    url = f"{MARKET}/reviews/{review['id']}/report"

    before = await snapshot(db)
    for who, body, status, error in [
        (None, {"reason": "spam"}, 401, "not_authenticated"),
        (author, {"reason": "spam"}, 403, "own_review"),
        (reader, {"reason": "other"}, 400, "details_required"),
        (reader, {"reason": "other", "details": "  "}, 400, "details_required"),
        (reader, {"reason": "rude"}, 422, None),
        (reader, {"reason": "off-topic"}, 422, None),
        (reader, {"reason": "spam", "details": "z" * 2001}, 422, None),
        (reader, {"reason": "spam", "details": "\x00"}, 422, None),
        (reader, {"reason": "spam", "status": "resolved"}, 422, None),
    ]:
        response = await api.request("POST", url, as_user=who, json=body)
        assert response.status_code == status, (body, response.text)
        if error:
            assert response.json()["error"] == error
    assert await snapshot(db) == before

    made = await api.request(
        "POST", url, as_user=reader, json={"reason": "other", "details": "copied text"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending" and made.json()["reason"] == "other"
    by_owner = await api.request("POST", url, as_user=owner, json={"reason": "fake"})
    assert by_owner.status_code == 201
    twice = await api.request("POST", url, as_user=reader, json={"reason": "spam"})
    assert (twice.status_code, twice.json()["error"]) == (409, "already_reported")
    async with db() as session:
        reports = (await session.scalars(select(ReviewReport).order_by(ReviewReport.id))).all()
    assert [(r.reporter_id, r.reason) for r in reports] == [
        (reader.id, "other"),
        (owner.id, "fake"),
    ]
    listing = (await api.request("GET", reviews_of(module))).json()
    assert [item["id"] for item in listing["items"]] == [review["id"]]


async def test_hidden_reviews_take_no_votes_or_reports_and_stay_hidden_when_edited(api, make, db):
    owner, module = await reviewable(make)
    author, reader, admin = await make.user(), await make.user(), await make.admin()
    review = await write(api, author, module, 5)
    hidden = await api.request(
        "POST", f"{ADMIN}/reviews/{review['id']}/hide", as_user=admin, json={"note": "spam"}
    )
    assert hidden.status_code == 200
    for method, suffix, body in [
        ("POST", "/vote", {"vote": "helpful"}),
        ("DELETE", "/vote", None),
        ("POST", "/report", {"reason": "spam"}),
        ("PUT", "", {"rating": 4}),
        ("DELETE", "", None),
    ]:
        response = await api.request(
            method, f"{MARKET}/reviews/{review['id']}{suffix}", as_user=reader, json=body
        )
        assert (response.status_code, response.json()["error"]) == (404, "review_not_found")
    edited = await api.request(
        "PUT", f"{MARKET}/reviews/{review['id']}", as_user=author, json={"rating": 4}
    )
    assert edited.status_code == 200
    assert edited.json()["status"] == "hidden"
    assert await assert_rating_exact(db, module.id) == (None, 0)
    assert (await api.request("GET", reviews_of(module))).json()["total"] == 0
    for status, ids in (("hidden", [review["id"]]), ("published", []), (None, [review["id"]])):
        query = f"?status={status}" if status else ""
        mine = await api.request("GET", f"{PUBLISHER}{query}", as_user=owner)
        assert [item["id"] for item in mine.json()["items"]] == ids, status
    bogus = await api.request("GET", f"{PUBLISHER}?status=reported", as_user=owner)
    assert bogus.status_code == 422


async def test_the_publisher_answers_once_and_may_edit_or_withdraw_the_answer(api, make, db):
    owner, module = await reviewable(make)
    other_owner, _ = await reviewable(make)
    author, admin = await make.user(), await make.admin()
    review = await write(api, author, module, 2, content="slow on big files")
    url = f"{PUBLISHER}/{review['id']}/response"

    before = await snapshot(db)
    for who, body, status, error in [
        (None, {"response": "hi"}, 401, "not_authenticated"),
        (author, {"response": "hi"}, 403, "insufficient_scope"),
        (admin, {"response": "hi"}, 403, "publisher_profile_required"),
        (other_owner, {"response": "hi"}, 404, "review_not_found"),
        (owner, {"response": ""}, 422, None),
        (owner, {"response": "   "}, 422, None),
        (owner, {"response": "r" * 5001}, 422, None),
        (owner, {"response": "a\x00b"}, 422, None),
        (owner, {"response": "hi", "responded_at": "2020-01-01T00:00:00Z"}, 422, None),
        (owner, {"response": 5}, 422, None),
    ]:
        response = await api.request("PUT", url, as_user=who, json=body)
        assert response.status_code == status, (body, response.text)
        if error:
            assert response.json()["error"] == error
    assert await snapshot(db) == before

    first = await api.request("PUT", url, as_user=owner, json={"response": "Fixed in 1.1"})
    assert first.status_code == 200, first.text
    answered = first.json()["publisher_response"]
    assert answered["response"] == "Fixed in 1.1" and answered["responded_at"]
    edited = await api.request("PUT", url, as_user=owner, json={"response": "Fixed in 1.1.1"})
    again = edited.json()["publisher_response"]
    assert again == {"response": "Fixed in 1.1.1", "responded_at": answered["responded_at"]}
    listed = (await api.request("GET", reviews_of(module))).json()["items"][0]
    assert listed["publisher_response"] == again

    mine = (await api.request("GET", PUBLISHER, as_user=owner)).json()
    assert [item["id"] for item in mine["items"]] == [review["id"]]
    filtered = await api.request("GET", f"{PUBLISHER}?module_id={module.id + 1000}", as_user=owner)
    assert filtered.json()["total"] == 0
    theirs = (await api.request("GET", PUBLISHER, as_user=other_owner)).json()
    assert theirs["total"] == 0
    assert (await api.request("GET", PUBLISHER, as_user=author)).status_code == 403

    withdrawn = await api.request("DELETE", url, as_user=owner)
    assert withdrawn.status_code == 204
    listed = (await api.request("GET", reviews_of(module))).json()["items"][0]
    assert listed["publisher_response"] is None
    assert (await api.request("DELETE", url, as_user=other_owner)).status_code == 404
    async with db() as session:
        actions = (
            await session.scalars(
                select(AuditLogEntry.action)
                .where(AuditLogEntry.entity_id == str(review["id"]))
                .order_by(AuditLogEntry.id)
            )
        ).all()
    assert actions == ["review.response.create", "review.response.update", "review.response.delete"]
    average, count = await assert_rating_exact(db, module.id)
    assert (str(average), count) == ("2.00", 1)


async def test_a_suspended_publisher_reads_its_reviews_but_cannot_answer(api, make, db):
    owner, module = await reviewable(make)
    review = await write(api, await make.user(), module, 5)
    async with db() as session:
        from models.publisher import Publisher

        publisher = await session.scalar(select(Publisher).where(Publisher.user_id == owner.id))
        publisher.status = "suspended"
        await session.commit()
    assert (await api.request("GET", PUBLISHER, as_user=owner)).json()["total"] == 1
    refused = await api.request(
        "PUT", f"{PUBLISHER}/{review['id']}/response", as_user=owner, json={"response": "hi"}
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "publisher_suspended")


async def test_concurrent_reviews_votes_and_edits_keep_every_counter_exact(
    committed_api, make_committed, committed
):
    api = committed_api
    _, module = await reviewable(make_committed)
    people = [await make_committed.user() for _ in range(8)]
    ratings = [5, 4, 4, 3, 1, 2, 5, 5]

    answers = await asyncio.gather(
        *(
            api.request(
                "POST",
                reviews_of(module),
                as_user=person,
                json={"rating": rating, "content": "concurrent"},
            )
            for person, rating in zip(people, ratings, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    average, count = await assert_rating_exact(committed, module.id)
    assert (str(average), count) == ("3.63", 8)

    twice = await asyncio.gather(
        *(
            api.request("POST", reviews_of(module), as_user=people[0], json={"rating": 5})
            for _ in range(3)
        )
    )
    assert sorted(a.status_code for a in twice) == [409, 409, 409]

    ids = [a.json()["id"] for a in answers]
    edits_and_votes = [
        api.request(
            "PUT",
            f"{MARKET}/reviews/{ids[n]}",
            as_user=people[n],
            json={"rating": 1, "content": "x"},
        )
        for n in range(4)
    ] + [
        api.request(
            "POST",
            f"{MARKET}/reviews/{ids[7]}/vote",
            as_user=person,
            json={"vote": "helpful" if n % 3 else "not_helpful"},
        )
        for n, person in enumerate(people[:7])
    ]
    results = await asyncio.gather(*edits_and_votes)
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    average, count = await assert_rating_exact(committed, module.id)
    assert (str(average), count) == ("2.13", 8)
    assert await assert_votes_exact(committed, ids[7]) == (4, 3)

    deletions = await asyncio.gather(
        *(api.request("DELETE", f"{MARKET}/reviews/{ids[n]}", as_user=people[n]) for n in range(3))
    )
    assert [d.status_code for d in deletions] == [204] * 3
    average, count = await assert_rating_exact(committed, module.id)
    assert (str(average), count) == ("2.80", 5)
