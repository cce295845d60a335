"""The publisher's analytics endpoints: figures of a known shop for each period, bad
periods, module filters and who may look; revenue checked to the cent against an
independent SQL sum over generated orders in three currencies."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from domain.analytics import BucketSize, floor_to
from domain.modules import ModuleStatus
from tests import analytics_data as data
from tests.conftest import Api
from tests.helpers import clear_of_the_turn

BASE = "/api/v1/publisher/analytics"
ENDPOINTS = ("overview", "downloads", "revenue", "reviews")
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api


async def get(api, path: str, as_user, **params) -> dict:
    response = await api.request("GET", f"{BASE}/{path}", as_user=as_user, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def money(totals: list[dict]) -> dict[str, tuple[str, str, str]]:
    return {t["currency"]: (t["gross"], t["commission"], t["net"]) for t in totals}


@pytest.fixture
async def shop(make, db):
    """Publisher P with modules A (USD) and B (EUR), and another publisher's module C whose
    figures must never show; events at chosen days before today (UTC)."""
    owner, publisher = await make.publisher()
    _, other = await make.publisher()
    a = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    b = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    c = await make.module(other, status=ModuleStatus.PUBLISHED)
    va, vb, vc = [await data.version(db, m) for m in (a, b, c)]
    await clear_of_the_turn(timedelta(days=1))
    today = floor_to(datetime.now(UTC), BucketSize.DAY)

    def ago(days: int):
        return today - days * DAY + MINUTE

    await data.views(db, a, ago(0), ago(0), ago(0), ago(3), ago(10), ago(10))
    await data.views(db, b, ago(1), ago(1))
    await data.views(db, c, *[ago(0)] * 5)
    await data.downloads(db, a, va, ago(0), country_code="DE")
    await data.downloads(db, a, va, ago(0))
    await data.downloads(db, a, va, ago(40))
    await data.downloads(db, b, vb, ago(2), ago(2), ago(2))
    await data.downloads(db, b, vb, ago(2), download_type="cli", user_id=owner.id)
    await data.downloads(db, c, vc, ago(0), ago(0), ago(0))
    for module in (a, b, c):
        await data.sync_counters(db, module)

    buyers = [await make.user() for _ in range(3)]
    await data.sale(db, buyers[0], [(a, "10.00")], ago(0))
    await data.sale(db, buyers[1], [(a, "19.99"), (c, "5.00")], ago(1))
    await data.sale(db, buyers[2], [(b, "15.00")], ago(2), currency="EUR")
    await data.sale(db, buyers[0], [(a, "7.50")], ago(20))
    refunded = await data.sale(db, buyers[1], [(a, "12.34")], ago(3))
    await data.refund(db, refunded, ago(1))

    await data.review(db, a, buyers[0], 5, ago(0), verified_purchase=True)
    await data.review(db, a, buyers[1], 4, ago(2), publisher_response="Thanks!")
    await data.review(db, a, buyers[2], 1, ago(0), status="hidden")
    await data.review(db, b, buyers[0], 3, ago(40), verified_purchase=True)
    await data.review(db, c, buyers[1], 2, ago(0))
    return owner, publisher, {"a": a, "b": b, "c": c}, today


# --- figures per endpoint -------------------------------------------------------------------


async def test_overview_of_the_week(api, shop):
    owner, _, m, today = shop
    body = await get(api, "overview", owner, period="week")

    assert body["period"]["period"] == "week" and body["period"]["bucket"] == "day"
    assert body["period"]["end"] == (today + DAY).isoformat().replace("+00:00", "Z")
    assert body["modules"] == 2 and body["published_modules"] == 2
    week = body["in_period"]
    assert (week["views"], week["downloads"]) == (6, 6)
    assert (week["orders"], week["sales"], week["refunds"]) == (4, 4, 1)
    assert money(week["revenue"]) == {
        "EUR": ("15.00", "4.50", "10.50"),
        "USD": ("29.99", "9.00", "20.99"),
    }
    assert (week["reviews"], week["average_rating"]) == (2, "4.50")
    ever = body["all_time"]
    assert (ever["views"], ever["downloads"]) == (8, 7)
    assert (ever["orders"], ever["sales"], ever["refunds"]) == (5, 5, 1)
    assert money(ever["revenue"])["USD"] == ("37.49", "11.25", "26.24")
    assert (ever["reviews"], ever["average_rating"]) == (3, "4.00")

    series = body["series"]
    assert len(series) == 7 and series[-1]["start"].startswith(today.date().isoformat())
    assert [(p["views"], p["downloads"], p["sales"]) for p in series] == [
        (0, 0, 0),
        (0, 0, 0),
        (0, 0, 0),
        (1, 0, 1),
        (0, 4, 1),
        (2, 0, 1),
        (3, 2, 1),
    ]
    top = body["top_modules"]
    assert [t["module_id"] for t in top] == [m["b"].id, m["a"].id]
    assert (top[1]["views"], top[1]["downloads"], top[1]["sales"]) == (4, 2, 3)
    assert money(top[1]["revenue"]) == {"USD": ("29.99", "9.00", "20.99")}


async def test_one_module_only(api, shop):
    owner, _, m, _ = shop
    body = await get(api, "overview", owner, period="month", module_id=m["b"].id)
    assert body["module_id"] == m["b"].id and body["modules"] == 1
    assert (body["in_period"]["views"], body["in_period"]["downloads"]) == (2, 4)
    assert money(body["in_period"]["revenue"]) == {"EUR": ("15.00", "4.50", "10.50")}
    assert [t["module_id"] for t in body["top_modules"]] == [m["b"].id]
    revenue = await get(api, "revenue", owner, period="month", module_id=m["a"].id)
    assert revenue["currencies"] == ["USD"]
    assert money(revenue["totals"]["revenue"]) == {"USD": ("37.49", "11.25", "26.24")}


async def test_downloads_with_breakdowns(api, shop):
    owner, _, _, _ = shop
    body = await get(api, "downloads", owner, period="week")
    assert body["total"] == 6 and body["all_time"] == 7 and body["signed_in_users"] == 1
    assert [p["downloads"] for p in body["series"]] == [0, 0, 0, 0, 4, 0, 2]
    assert body["by_version"] == [{"value": "1.0.0", "downloads": 6}]
    assert body["by_country"] == [
        {"value": None, "downloads": 5},
        {"value": "DE", "downloads": 1},
    ]
    assert body["by_type"] == [
        {"value": "manual", "downloads": 5},
        {"value": "cli", "downloads": 1},
    ]


async def test_revenue_per_bucket_and_currency(api, shop):
    owner, _, _, today = shop
    body = await get(api, "revenue", owner, period="week")
    assert body["currencies"] == ["EUR", "USD"]
    totals = body["totals"]
    assert (totals["orders"], totals["sales"], totals["refunds"]) == (4, 4, 1)
    series = body["series"]
    assert all([r["currency"] for r in p["revenue"]] == ["EUR", "USD"] for p in series)
    by_day = {p["start"][:10]: p for p in series}
    yesterday = by_day[(today - DAY).date().isoformat()]
    assert (yesterday["sales"], yesterday["refunds"], yesterday["orders"]) == (1, 1, 1)
    assert money(yesterday["revenue"]) == {
        "EUR": ("0.00", "0.00", "0.00"),
        "USD": ("7.65", "2.30", "5.35"),
    }, "19.99 sold, 12.34 refunded"
    three_ago = by_day[(today - 3 * DAY).date().isoformat()]
    assert money(three_ago["revenue"])["USD"] == ("12.34", "3.70", "8.64")
    assert body["all_time"]["orders"] == 5


async def test_reviews_of_the_month_and_all_time(api, shop):
    owner, _, _, _ = shop
    body = await get(api, "reviews", owner, period="month")
    assert body["totals"] == {
        "reviews": 2,
        "average_rating": "4.50",
        "verified_purchases": 1,
        "responded": 1,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }
    assert body["all_time"]["reviews"] == 3 and body["all_time"]["average_rating"] == "4.00"
    assert body["all_time"]["distribution"]["3"] == 1
    points = [(p["reviews"], p["average_rating"]) for p in body["series"]]
    assert len(points) == 30
    assert points[-1] == (1, "5.00") and points[-3] == (1, "4.00")
    assert points.count((0, None)) == 28


async def test_a_custom_range(api, shop):
    owner, _, _, today = shop
    first, last = (today - 40 * DAY).date(), (today - 10 * DAY).date()
    body = await get(api, "overview", owner, period="custom", **{"from": first, "to": last})
    assert body["period"]["bucket"] == "day" and len(body["series"]) == 31
    assert body["series"][0]["start"][:10] == first.isoformat()
    period = body["in_period"]
    assert (period["views"], period["downloads"], period["sales"]) == (2, 1, 1)
    assert money(period["revenue"]) == {"USD": ("7.50", "2.25", "5.25")}
    assert (period["reviews"], period["average_rating"]) == (1, "3.00")


async def test_the_last_24_hours_by_hour(api, make, db, shop):
    owner, publisher, _, _ = shop
    d = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    vd = await data.version(db, d)
    await clear_of_the_turn(timedelta(hours=1))
    hour = floor_to(datetime.now(UTC), BucketSize.HOUR)
    first = hour - timedelta(hours=23)
    before, two_ago = first - timedelta(seconds=1), hour - timedelta(hours=2)
    await data.downloads(db, d, vd, before, first, two_ago)
    await data.downloads(db, d, vd, hour + MINUTE)
    body = await get(api, "downloads", owner, period="day", module_id=d.id)
    assert body["period"]["bucket"] == "hour" and len(body["series"]) == 24
    counts = [p["downloads"] for p in body["series"]]
    assert counts[0] == 1 and counts[21] == 1 and counts[23] == 1 and sum(counts) == 3
    assert body["series"][21]["start"].startswith(two_ago.isoformat()[:13])


async def test_the_default_period_is_the_last_30_days(api, shop):
    owner, _, _, _ = shop
    body = await get(api, "overview", owner)
    assert body["period"]["period"] == "month" and len(body["series"]) == 30


async def test_nothing_yet_is_all_zeros(api, make):
    owner, _ = await make.publisher()
    for endpoint in ENDPOINTS:
        body = await get(api, endpoint, owner, period="week")
        assert len(body["series"]) == 7
    overview = await get(api, "overview", owner, period="week")
    assert overview["in_period"]["revenue"] == [] and overview["top_modules"] == []
    assert overview["in_period"]["average_rating"] is None
    revenue = await get(api, "revenue", owner, period="week")
    assert revenue["currencies"] == [] and all(p["revenue"] == [] for p in revenue["series"])


# --- bad periods and filters ----------------------------------------------------------------

BAD = [
    ({"period": "year"}, 422, "validation_error"),
    ({"period": ""}, 422, "validation_error"),
    ({"period": "custom"}, 400, "period_bounds_required"),
    ({"period": "custom", "from": "2025-01-01"}, 400, "period_bounds_required"),
    ({"period": "week", "from": "2025-01-01", "to": "2025-01-02"}, 400, "period_bounds_unexpected"),
    ({"period": "custom", "from": "2025-02-01", "to": "2025-01-01"}, 400, "invalid_period_range"),
    ({"period": "custom", "from": "2024-01-01", "to": "2025-01-01"}, 400, "period_too_long"),
    ({"period": "custom", "from": "0001-01-01", "to": "0001-01-02"}, 422, "validation_error"),
    ({"period": "custom", "from": "9999-12-31", "to": "9999-12-31"}, 422, "validation_error"),
    ({"period": "custom", "from": "2025-13-01", "to": "2025-12-31"}, 422, "validation_error"),
    ({"period": "custom", "from": "yesterday", "to": "2025-12-31"}, 422, "validation_error"),
    ({"period": "custom", "from": "2025-01-01T05:00:00", "to": "2025-01-02"}, 422, None),
    ({"module_id": "0"}, 422, "validation_error"),
    ({"module_id": "-1"}, 422, "validation_error"),
    ({"module_id": str(2**31)}, 422, "validation_error"),
    ({"module_id": "abc"}, 422, "validation_error"),
    ({"module_id": "2147483647"}, 404, "module_not_found"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("params", "status", "code"), BAD)
async def test_bad_parameters_are_refused(api, make, endpoint, params, status, code):
    owner, _ = await make.publisher()
    response = await api.request("GET", f"{BASE}/{endpoint}", as_user=owner, params=params)
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error"] == code


# --- who may look ---------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_who_may_look(api, make, shop, endpoint):
    owner, _, m, _ = shop
    consumer, admin = await make.user(), await make.admin()
    other_owner, _ = await make.publisher()
    suspended_owner, _ = await make.publisher(status="suspended")
    url = f"{BASE}/{endpoint}"
    anonymous = await api.request("GET", url)
    assert anonymous.status_code == 401
    assert (await api.request("GET", url, as_user=consumer)).status_code == 403
    as_admin = await api.request("GET", url, as_user=admin)
    assert as_admin.status_code == 403 and as_admin.json()["error"] == "publisher_profile_required"
    assert (await api.request("GET", url, as_user=suspended_owner)).status_code == 200
    theirs = await api.request("GET", url, as_user=other_owner, params={"module_id": m["a"].id})
    assert theirs.status_code == 404 and theirs.json()["error"] == "module_not_found"
    mine = await api.request("GET", url, as_user=owner, params={"module_id": m["a"].id})
    assert mine.status_code == 200
    not_mine = await api.request("GET", url, as_user=owner, params={"module_id": m["c"].id})
    assert not_mine.status_code == 404 and not_mine.json()["error"] == "module_not_found"


async def test_another_publisher_sees_none_of_this(api, make, shop):
    other_owner, _ = await make.publisher()
    body = await get(api, "overview", other_owner, period="month")
    assert body["all_time"]["views"] == 0 and body["all_time"]["revenue"] == []
    assert body["in_period"]["reviews"] == 0 and body["top_modules"] == []


# --- exactness ------------------------------------------------------------------------------

CURRENCIES = {"USD": ("0.50", "999.99"), "EUR": ("1.00", "250.00"), "JPY": (100, 90000)}


def amount(rng: random.Random, currency: str) -> str:
    low, high = CURRENCIES[currency]
    if currency == "JPY":
        return str(rng.randint(low, high))
    cents = rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
    return str(Decimal(cents) / 100)


async def test_revenue_equals_an_independent_sql_sum_to_the_cent(api, make, db):
    owner, publisher = await make.publisher()
    _, other = await make.publisher()
    mine = [await make.module(publisher) for _ in range(3)]
    theirs = await make.module(other)
    buyer = await make.user()
    rng = random.Random(20250305)
    now = datetime.now(UTC)
    for _ in range(150):
        currency = rng.choice(list(CURRENCIES))
        lines = [(m, amount(rng, currency)) for m in rng.sample(mine, rng.randint(1, 3))]
        if rng.random() < 0.3:
            lines.append((theirs, amount(rng, currency)))
        at = now - timedelta(seconds=rng.randint(0, 45 * 86400))
        order = await data.sale(
            db, buyer, lines, at, currency=currency, rate=Decimal(rng.choice(["30", "15.5", "0"]))
        )
        if rng.random() < 0.2:
            await data.refund(db, order, min(now, at + timedelta(days=rng.randint(0, 5))))

    first = (now - timedelta(days=44)).date()
    body = await get(api, "revenue", owner, period="custom", **{"from": first, "to": now.date()})
    async with db() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, currency,"
                    " sum(gross), sum(commission), sum(net),"
                    " count(*) FILTER (WHERE kind = 'sale'),"
                    " count(*) FILTER (WHERE kind = 'refund')"
                    " FROM marketplace_earnings"
                    " WHERE publisher_id = :p AND occurred_at >= :start"
                    " GROUP BY 1, 2"
                ),
                {"p": publisher.id, "start": datetime.combine(first, datetime.min.time(), UTC)},
            )
        ).all()
    expected: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]] = {}
    for day, currency, gross, commission, net, _, _ in rows:
        expected[(day.isoformat(), currency)] = (gross, commission, net)
    got = {}
    for point in body["series"]:
        for entry in point["revenue"]:
            values = tuple(Decimal(entry[k]) for k in ("gross", "commission", "net"))
            if any(values) or (point["start"][:10], entry["currency"]) in expected:
                got[(point["start"][:10], entry["currency"])] = values
    assert got == expected
    for currency in body["currencies"]:
        total = money(body["totals"]["revenue"])[currency]
        assert tuple(Decimal(x) for x in total) == tuple(
            sum(v[i] for (_, c), v in expected.items() if c == currency) for i in range(3)
        )
        assert Decimal(total[0]) == Decimal(total[1]) + Decimal(total[2])
    assert body["totals"]["sales"] == sum(r[5] for r in rows)
    assert body["totals"]["refunds"] == sum(r[6] for r in rows)
    assert sorted(body["currencies"]) == sorted({c for _, c in expected})
    assert date.fromisoformat(body["series"][-1]["start"][:10]) == now.date()
