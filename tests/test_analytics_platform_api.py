"""Platform analytics for admins: downloads, views, orders, refunds, commission, new
publishers and modules per bucket, checked against independent SQL; and only admins."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from domain.analytics import BucketSize, floor_to
from domain.modules import ModuleStatus
from tests import analytics_data as data
from tests.conftest import Api
from tests.helpers import clear_of_the_turn

URL = "/api/v1/admin/marketplace/analytics"
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)


@pytest.fixture
def api(shared_api: Api) -> Api:
    return shared_api


@pytest.fixture
async def market(make, db):
    _, first = await make.publisher()
    _, second = await make.publisher()
    a = await make.module(first, status=ModuleStatus.PUBLISHED)
    b = await make.module(second, status=ModuleStatus.PUBLISHED)
    va, vb = await data.version(db, a), await data.version(db, b)
    await clear_of_the_turn(timedelta(days=1))
    today = floor_to(datetime.now(UTC), BucketSize.DAY)

    def ago(days: int):
        return today - days * DAY + MINUTE

    await data.views(db, a, ago(0), ago(0), ago(6), ago(7))
    await data.views(db, b, ago(2))
    await data.downloads(db, a, va, ago(1), ago(1), ago(9))
    await data.downloads(db, b, vb, ago(0))
    buyer = await make.user()
    await data.sale(db, buyer, [(a, "10.00"), (b, "5.55")], ago(0))
    await data.sale(db, buyer, [(b, "1200")], ago(3), currency="JPY")
    refunded = await data.sale(db, buyer, [(a, "20.00")], ago(4), rate=Decimal("15.00"))
    await data.refund(db, refunded, ago(2))
    await data.sale(db, buyer, [(a, "99.00")], ago(8))
    return today


async def sql(db, query: str, **params) -> list:
    async with db() as session:
        return (await session.execute(text(query), params)).all()


async def test_the_week_on_the_platform(api, make, db, market):
    today = market
    admin = await make.admin()
    response = await api.request("GET", URL, as_user=admin, params={"period": "week"})
    assert response.status_code == 200, response.text
    body = response.json()
    start = today - 6 * DAY
    window = {"start": start, "end": today + DAY}

    totals = body["totals"]
    assert (totals["views"], totals["downloads"]) == (4, 3)
    assert (totals["orders"], totals["refunds"]) == (3, 1)
    [(publishers,)] = await sql(
        db,
        "SELECT count(*) FROM marketplace_publishers"
        " WHERE created_at >= :start AND created_at < :end",
        **window,
    )
    [(modules,)] = await sql(
        db,
        "SELECT count(*) FROM marketplace_modules WHERE created_at >= :start AND created_at < :end",
        **window,
    )
    assert (totals["new_publishers"], totals["new_modules"]) == (publishers, modules)
    assert publishers >= 2 and modules >= 2

    assert body["currencies"] == ["JPY", "USD"]
    got = {m["currency"]: m for m in totals["money"]}
    assert (got["USD"]["orders_total"], got["USD"]["refunded"]) == ("35.55", "20.00")
    assert got["USD"]["commission"] == "4.67", "3.00 + 1.67 + 3.00 - 3.00"
    assert (got["JPY"]["orders_total"], got["JPY"]["commission"]) == ("1200", "360"), "no yen cents"
    commission = await sql(
        db,
        "SELECT currency, sum(commission) FROM marketplace_earnings"
        " WHERE occurred_at >= :start AND occurred_at < :end GROUP BY currency",
        **window,
    )
    assert {c: Decimal(m["commission"]) for c, m in got.items()} == dict(commission)

    series = body["series"]
    assert len(series) == 7 and series[0]["start"].startswith(start.date().isoformat())
    assert [p["views"] for p in series] == [1, 0, 0, 0, 1, 0, 2]
    assert [p["downloads"] for p in series] == [0, 0, 0, 0, 0, 2, 1]
    assert [p["orders"] for p in series] == [0, 0, 1, 1, 0, 0, 1]
    assert [p["refunds"] for p in series] == [0, 0, 0, 0, 1, 0, 0]
    refund_day = {m["currency"]: m for m in series[4]["money"]}
    assert refund_day["USD"] == {
        "currency": "USD",
        "orders_total": "0.00",
        "refunded": "20.00",
        "commission": "-3.00",
    }
    assert all([m["currency"] for m in p["money"]] == ["JPY", "USD"] for p in series)
    assert series[-1]["new_publishers"] == publishers


async def test_a_custom_range_and_a_bad_one(api, make, market):
    admin = await make.admin()
    today = market
    first, last = (today - 9 * DAY).date(), (today - 7 * DAY).date()
    body = (
        await api.request(
            "GET", URL, as_user=admin, params={"period": "custom", "from": first, "to": last}
        )
    ).json()
    assert len(body["series"]) == 3
    assert (body["totals"]["views"], body["totals"]["downloads"]) == (1, 1)
    assert body["totals"]["orders"] == 1 and body["currencies"] == ["USD"]
    for params, status, code in (
        ({"period": "decade"}, 422, "validation_error"),
        ({"period": "custom", "from": str(last)}, 400, "period_bounds_required"),
        ({"period": "custom", "from": str(last), "to": str(first)}, 400, "invalid_period_range"),
        ({"period": "custom", "from": "2020-01-01", "to": "2021-06-01"}, 400, "period_too_long"),
    ):
        response = await api.request("GET", URL, as_user=admin, params=params)
        assert response.status_code == status and response.json()["error"] == code


async def test_only_admins(api, make):
    consumer = await make.user()
    publisher_user, _ = await make.publisher()
    assert (await api.request("GET", URL)).status_code == 401
    assert (await api.request("GET", URL, as_user=consumer)).status_code == 403
    assert (await api.request("GET", URL, as_user=publisher_user)).status_code == 403
    day = await api.request("GET", URL, as_user=await make.admin(), params={"period": "day"})
    assert day.status_code == 200 and len(day.json()["series"]) == 24
