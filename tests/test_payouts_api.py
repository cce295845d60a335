"""The payout endpoints on a rolled-back transaction: the publisher's history, details with
the orders a payout covers, payout settings and the CSV earnings report; the admins' list,
trigger, mark-paid and retry. Payouts are made by the workflow's own ``prepare`` activity,
called directly; the endpoints that start a workflow are seen starting it (no worker runs
here), and the workflow is then ended."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from activities.payouts import PayoutActivities, PayoutRequest
from domain.payouts import Period
from integrations.payouts import PayoutRails
from models.analytics import PublisherPayout
from models.module import MarketplaceModule
from models.platform import AuditLogEntry, NotificationOutbox
from models.publisher import Publisher
from models.user import User
from tests.factories import PASSWORD
from tests.payouts_ledger import Ledger, day_of

pytestmark = pytest.mark.workflow
BASE = "/api/v1/publisher/payouts"
ADMIN = "/api/v1/admin/marketplace/payouts"
SEP, AUG = Period(2024, 9), Period(2024, 8)
D = Decimal


@pytest.fixture
def api(shared_api):
    """The module's one app (a fresh app per test costs more than these tests)."""
    return shared_api


@pytest.fixture
def ledger(db, make):
    return Ledger(db, make)


async def prepare(db, settings, seller, period: Period):
    """The month's payout, as the workflow prepares it (a 10.00 minimum)."""
    defaults = settings.model_copy(update={"payout_minimum": "10.00"}).platform_defaults()
    activities = PayoutActivities(db, PayoutRails([]), defaults)
    return await activities.prepare(PayoutRequest(publisher_id=seller.id, period=period.label))


async def user_of(db, seller) -> User:
    async with db() as session:
        return await session.get(User, seller.user_id)


async def set_payout(db, payout_id: int, **values) -> None:
    async with db() as session:
        row = await session.get(PublisherPayout, payout_id)
        for key, value in values.items():
            setattr(row, key, value)
        await session.commit()


@pytest.fixture
async def world(db, ledger, settings, make):
    """A publisher with two months of payouts (one covering two orders, one refunded in
    part), another publisher with one, a consumer and an admin."""
    owner = await ledger.publisher(method="manual")
    first = await ledger.sale(owner, "100.00", day_of(AUG, 3))
    await ledger.sale(owner, "20.00", day_of(AUG, 4))
    second = await ledger.sale(owner, "80.00", day_of(SEP, 10))
    await ledger.refund(second, "0.5", day_of(SEP, 12))
    august = await prepare(db, settings, owner, AUG)
    september = await prepare(db, settings, owner, SEP)
    other = await ledger.publisher(method="manual")
    await ledger.sale(other, "300.00", day_of(SEP, 1))
    foreign = await prepare(db, settings, other, SEP)
    return {
        "owner": await user_of(db, owner),
        "seller": owner,
        "other": await user_of(db, other),
        "consumer": await make.user(),
        "admin": await make.admin(),
        "august": august.payout_id,
        "september": september.payout_id,
        "foreign": foreign.payout_id,
        "first_sale": first,
    }


# --- the publisher ---------------------------------------------------------------------------


async def test_the_history_lists_ones_own_payouts_newest_first(api, world):
    response = await api.request("GET", BASE, as_user=world["owner"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2
    assert [(p["id"], p["period"]) for p in body["items"]] == [
        (world["september"], "2024-09"),
        (world["august"], "2024-08"),
    ]
    august = body["items"][1]
    assert (august["gross_amount"], august["platform_fee"], august["net_amount"]) == (
        "120.00",
        "36.00",
        "84.00",
    )
    assert (august["status"], august["order_count"], august["period_end"]) == (
        "pending",
        2,
        "2024-08-31",
    )
    paged = await api.request("GET", f"{BASE}?limit=1&offset=1", as_user=world["owner"])
    assert [p["id"] for p in paged.json()["items"]] == [world["august"]]
    none = await api.request("GET", f"{BASE}?status=completed", as_user=world["owner"])
    assert none.json()["total"] == 0


async def test_details_list_the_orders_a_payout_covers_line_by_line(api, world):
    response = await api.request("GET", f"{BASE}/{world['september']}", as_user=world["owner"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["gross_amount"], body["platform_fee"], body["net_amount"]) == (
        "40.00",
        "12.00",
        "28.00",
    )
    [order] = body["orders"]
    assert (order["gross"], order["commission"], order["net"]) == ("40.00", "12.00", "28.00")
    assert [(line["kind"], line["gross"], line["net"]) for line in order["lines"]] == [
        ("sale", "80.00", "56.00"),
        ("refund", "-40.00", "-28.00"),
    ]
    assert order["order_number"].startswith("FV-T")


@pytest.mark.parametrize("who", ["other", "consumer", "admin", None])
async def test_a_payout_is_only_its_publishers(api, world, who):
    response = await api.request(
        "GET", f"{BASE}/{world['september']}", as_user=world[who] if who else None
    )
    expected = {
        "other": (404, "payout_not_found"),
        "consumer": (403, "insufficient_scope"),
        "admin": (403, "publisher_profile_required"),
        None: (401, "not_authenticated"),
    }[who]
    assert (response.status_code, response.json()["error"]) == expected
    missing = await api.request("GET", f"{BASE}/999999", as_user=world["owner"])
    assert missing.status_code == 404


async def test_payout_settings_are_validated_and_audited(api, world, db):
    owner = world["owner"]
    start = await api.request("GET", f"{BASE}/settings", as_user=owner)
    assert start.json() == {
        "payout_method": "manual",
        "paypal_email": None,
        "stripe_account_id": None,
    }
    stripe = await api.request(
        "POST",
        f"{BASE}/settings",
        as_user=owner,
        json={
            "current_password": PASSWORD,
            "payout_method": "stripe",
            "stripe_account_id": "acct_1Nv0FGQ9RKHgCVdK",
        },
    )
    assert stripe.status_code == 200, stripe.text
    paypal = await api.request(
        "POST",
        f"{BASE}/settings",
        as_user=owner,
        json={
            "current_password": PASSWORD,
            "payout_method": "paypal",
            "paypal_email": "me@example.com",
        },
    )
    assert paypal.json() == {
        "payout_method": "paypal",
        "paypal_email": "me@example.com",
        "stripe_account_id": "acct_1Nv0FGQ9RKHgCVdK",
    }
    cleared = await api.request(
        "POST",
        f"{BASE}/settings",
        as_user=owner,
        json={"current_password": PASSWORD, "payout_method": "stripe", "stripe_account_id": None},
    )
    assert (cleared.status_code, cleared.json()["error"]) == (400, "stripe_account_required")
    async with db() as session:
        actions = (
            await session.execute(
                select(AuditLogEntry.action).where(
                    AuditLogEntry.entity_type == "publisher",
                    AuditLogEntry.entity_id == str(world["seller"].id),
                )
            )
        ).scalars()
        assert list(actions) == ["publisher.payout_settings"] * 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"current_password": PASSWORD, "payout_method": "paypal"}, 400, "paypal_email_required"),
        ({"current_password": PASSWORD, "payout_method": "stripe"}, 400, "stripe_account_required"),
        ({"current_password": PASSWORD, "payout_method": "wire"}, 422, "validation_error"),
        (
            {
                "current_password": PASSWORD,
                "payout_method": "stripe",
                "stripe_account_id": "cus_123",
            },
            422,
            "validation_error",
        ),
        (
            {
                "current_password": PASSWORD,
                "payout_method": "stripe",
                "stripe_account_id": "acct_1;DROP",
            },
            422,
            "validation_error",
        ),
        (
            {
                "current_password": PASSWORD,
                "payout_method": "paypal",
                "paypal_email": "not-an-email",
            },
            422,
            "validation_error",
        ),
        (
            {
                "current_password": PASSWORD,
                "payout_method": "paypal",
                "paypal_email": "a@b.co",
                "iban": "x",
            },
            422,
            None,
        ),
        (
            {
                "current_password": PASSWORD,
                "payout_method": "manual",
                "paypal_email": "a\u0000@b.co",
            },
            422,
            None,
        ),
        ({}, 422, "validation_error"),
    ],
)
async def test_bad_payout_settings_are_refused(api, world, body, status, code):
    response = await api.request("POST", f"{BASE}/settings", as_user=world["owner"], json=body)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"] == code
    after = await api.request("GET", f"{BASE}/settings", as_user=world["owner"])
    assert after.json()["payout_method"] == "manual"


async def test_a_suspended_publisher_may_look_but_not_redirect_payouts(api, world, db):
    async with db() as session:
        (await session.get(Publisher, world["seller"].id)).status = "suspended"
        await session.commit()
    owner = world["owner"]
    assert (await api.request("GET", f"{BASE}/settings", as_user=owner)).status_code == 200
    assert (await api.request("GET", BASE, as_user=owner)).status_code == 200
    changed = await api.request(
        "POST",
        f"{BASE}/settings",
        as_user=owner,
        json={"current_password": PASSWORD, "payout_method": "manual"},
    )
    assert (changed.status_code, changed.json()["error"]) == (403, "publisher_suspended")


async def test_the_earnings_report_is_exact_escaped_csv_of_ones_own_entries(
    api, world, ledger, make, db
):
    seller = world["seller"]
    async with db() as session:
        module = await session.get(MarketplaceModule, seller.module_id)
        module.display_name = '=HYPERLINK("http://evil"), "quoted"'
        await session.commit()
    edge = await ledger.sale(seller, "9.99", datetime(2024, 9, 30, 23, 59, 59, tzinfo=UTC))
    await ledger.sale(seller, "5.00", datetime(2024, 10, 1, tzinfo=UTC))
    response = await api.request(
        "GET", f"{BASE}/earnings.csv?from=2024-08-04&to=2024-09-30", as_user=world["owner"]
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        'filename="earnings-2024-08-04-2024-09-30.csv"' in response.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["date"], r["kind"], r["gross"], r["commission"], r["net"]) for r in rows] == [
        ("2024-08-04", "sale", "20.00", "6.00", "14.00"),
        ("2024-09-10", "sale", "80.00", "24.00", "56.00"),
        ("2024-09-12", "refund", "-40.00", "-12.00", "-28.00"),
        ("2024-09-30", "sale", "9.99", "3.00", "6.99"),
    ]
    assert {r["module"] for r in rows} == {'\'=HYPERLINK("http://evil"), "quoted"'}
    assert [r["payout_id"] for r in rows] == [
        str(world["august"]),
        str(world["september"]),
        str(world["september"]),
        "",
    ]
    assert all(r["currency"] == "USD" for r in rows)
    assert edge.order_id  # the last second of the 30th is in, midnight after it is not


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("from=2024-09-30&to=2024-09-01", 400, "invalid_range"),
        ("from=2023-01-01&to=2024-09-01", 400, "range_too_long"),
        ("from=2024-09-01", 422, "validation_error"),
        ("from=2024-09-31&to=2024-10-01", 422, "validation_error"),
        ("from=yesterday&to=2024-10-01", 422, "validation_error"),
    ],
)
async def test_a_bad_report_range_is_refused(api, world, query, status, code):
    response = await api.request("GET", f"{BASE}/earnings.csv?{query}", as_user=world["owner"])
    assert (response.status_code, response.json()["error"]) == (status, code)


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("from=9999-12-31&to=9999-12-31", ["from", "to"]),
        ("from=2024-09-01&to=9999-12-31", ["to"]),
        ("from=0001-01-01&to=0001-01-02", ["from", "to"]),
    ],
)
async def test_a_report_date_out_of_range_is_refused_not_a_500(api, world, query, where):
    """9999-12-31 plus the day after the last overflowed into a 500."""
    response = await api.request("GET", f"{BASE}/earnings.csv?{query}", as_user=world["owner"])
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    problems = response.json()["detail"]
    assert [p["loc"] for p in problems] == [["query", name] for name in where]
    assert {p["type"] for p in problems} == {"date_out_of_range"}


# --- the admins --------------------------------------------------------------------------------


async def test_admins_list_payouts_with_filters(api, world):
    admin = world["admin"]
    everything = await api.request("GET", ADMIN, as_user=admin)
    assert everything.status_code == 200 and everything.json()["total"] >= 3
    september = await api.request("GET", f"{ADMIN}?period=2024-09", as_user=admin)
    assert {p["id"] for p in september.json()["items"]} >= {
        world["september"],
        world["foreign"],
    }
    mine = await api.request(
        "GET", f"{ADMIN}?publisher_id={world['seller'].id}&status=pending", as_user=admin
    )
    assert [p["id"] for p in mine.json()["items"]] == [world["september"], world["august"]]
    for bad in ("period=2024-13", "status=paid", "publisher_id=0", "limit=1000"):
        assert (await api.request("GET", f"{ADMIN}?{bad}", as_user=admin)).status_code == 422
    for who in ("owner", "consumer"):
        refused = await api.request("GET", ADMIN, as_user=world[who])
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("period", "status", "code"),
    [
        (f"{datetime.now(UTC):%Y-%m}", 400, "period_not_closed"),
        (f"{datetime.now(UTC) + timedelta(days=62):%Y-%m}", 400, "period_not_closed"),
        ("1999-12", 400, "invalid_period"),
        ("2024-13", 422, "validation_error"),
        ("2024-1", 422, "validation_error"),
        ("202409", 422, "validation_error"),
        (202409, 422, "validation_error"),
    ],
)
async def test_only_a_closed_month_can_be_run(api, world, period, status, code):
    response = await api.request(
        "POST", f"{ADMIN}/runs", as_user=world["admin"], json={"period": period}
    )
    assert (response.status_code, response.json()["error"]) == (status, code)


async def test_an_admin_triggers_a_month_once(api, world, temporal_dev, db):
    admin = world["admin"]
    first = await api.request("POST", f"{ADMIN}/runs", as_user=admin, json={"period": "2024-03"})
    second = await api.request("POST", f"{ADMIN}/runs", as_user=admin, json={"period": "2024-03"})
    handle = temporal_dev.client.get_workflow_handle("payouts-2024-03")
    try:
        assert first.status_code == 202, first.text
        assert first.json() == {
            "period": "2024-03",
            "workflow_id": "payouts-2024-03",
            "started": True,
        }
        assert second.json()["started"] is False
        assert (await handle.describe()).workflow_type == "MonthlyPayouts"
    finally:
        await handle.terminate("test over")
    async with db() as session:
        audited = (
            await session.execute(
                select(AuditLogEntry.changes).where(AuditLogEntry.action == "payout.run")
            )
        ).scalars()
        assert list(audited) == [{"started": True}, {"started": False}]
    consumer = await api.request(
        "POST", f"{ADMIN}/runs", as_user=world["owner"], json={"period": "2024-03"}
    )
    assert consumer.status_code == 403


async def test_a_manual_payout_is_marked_paid_once_and_the_publisher_mailed(api, world, db):
    admin = world["admin"]
    pending = await api.request(
        "POST", f"{ADMIN}/{world['august']}/mark-paid", as_user=admin, json={"reference": "W1"}
    )
    assert (pending.status_code, pending.json()["error"]) == (409, "payout_not_payable_by_hand")
    await set_payout(db, world["august"], status="processing", payout_method="manual")
    paid = await api.request(
        "POST", f"{ADMIN}/{world['august']}/mark-paid", as_user=admin, json={"reference": "W1"}
    )
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["reference"]) == ("completed", "W1")
    assert paid.json()["paid_at"] is not None
    async with db() as session:
        mail = await session.scalar(
            select(NotificationOutbox).where(
                NotificationOutbox.dedupe_key == f"payout-{world['august']}-completed"
            )
        )
        assert mail.to_email == world["owner"].email and "84.00 USD" in mail.subject
    for body in ({}, {"reference": ""}, {"reference": "x" * 101}):
        response = await api.request(
            "POST", f"{ADMIN}/{world['september']}/mark-paid", as_user=admin, json=body
        )
        assert response.status_code == 422
    missing = await api.request(
        "POST", f"{ADMIN}/999999/mark-paid", as_user=admin, json={"reference": "W"}
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "payout_not_found")
    owner = await api.request(
        "POST",
        f"{ADMIN}/{world['september']}/mark-paid",
        as_user=world["owner"],
        json={"reference": "me"},
    )
    assert owner.status_code == 403


async def test_only_a_failed_or_stuck_payout_is_retried(api, world, db, temporal_dev):
    admin = world["admin"]
    await set_payout(db, world["foreign"], status="completed")
    done = await api.request("POST", f"{ADMIN}/{world['foreign']}/retry", as_user=admin)
    assert (done.status_code, done.json()["error"]) == (409, "payout_not_failed")
    await set_payout(db, world["august"], status="failed", failure_reason="resource_missing")
    retried = await api.request("POST", f"{ADMIN}/{world['august']}/retry", as_user=admin)
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert body["workflow_id"] == f"payout-{world['seller'].slug}-2024-08"
    assert (body["payout"]["status"], body["payout"]["failure_reason"]) == ("pending", None)
    handle = temporal_dev.client.get_workflow_handle(body["workflow_id"])
    try:
        assert (await handle.describe()).workflow_type == "Payout"
    finally:
        await handle.terminate("test over")
