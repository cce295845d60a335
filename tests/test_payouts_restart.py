"""A month's payout run whose worker stops mid-way, while a transfer it sent to Stripe is
still waiting for Stripe's answer, and the month triggered a second time meanwhile: another
worker finishes the run with exactly one payout and one transfer per publisher."""

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from domain.payouts import Period
from domain.pricing import to_minor_units
from tests.helpers import eventually
from tests.payouts_fake import STRIPE_KEY, PayoutsServer
from tests.payouts_ledger import (
    Ledger,
    day_of,
    paid_sums,
    payout_worker,
    payouts_of,
    unpaid_sums,
)

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning"),
]
MAY = Period(2025, 5)
"""This test's own month (workflow ids outlive the test's tables on the session's server)."""
RUNS = "/api/v1/admin/marketplace/payouts/runs"
PUBLISHERS = 24
HOLD_AFTER = 5


@pytest.fixture
def fake():
    with PayoutsServer() as running:
        yield running
        running.release.set()


@pytest.fixture
def settings(settings, fake):
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(STRIPE_KEY),
            "stripe_api_base": fake.url,
            "payout_retry_interval": timedelta(milliseconds=100),
            # A transfer or step lost with its worker is tried again in seconds.
            "activity_timeout": timedelta(seconds=10),
            "payout_transfer_timeout": timedelta(seconds=10),
        }
    )


async def test_a_worker_stopped_mid_transfer_is_replaced_without_paying_twice(
    committed_api, committed, make_committed, fake, settings, temporal_dev
):
    ledger = Ledger(committed, make_committed)
    sellers = []
    for n in range(PUBLISHERS):
        seller = await ledger.publisher(
            method="stripe", stripe_account_id=fake.add_account(f"acct_1R{n}")
        )
        await ledger.sale(seller, f"{100 + n}.{n:02d}", day_of(MAY, 3 + n % 20))
        await ledger.sale(seller, "45.50", day_of(MAY, 28), rate="12.50")
        sellers.append(seller)
    admin = await make_committed.admin()
    expected = await unpaid_sums(committed, MAY.ends_at)
    fake.hold_after = HOLD_AFTER

    async with payout_worker(
        temporal_dev.client,
        settings,
        committed,
        max_concurrent_activities=2,
        graceful_shutdown_timeout=timedelta(milliseconds=200),
    ):
        first = await committed_api.request("POST", RUNS, as_user=admin, json={"period": MAY.label})
        assert first.status_code == 202 and first.json()["started"] is True

        async def stuck_in_a_transfer():
            return len(fake.transfers) > HOLD_AFTER

        assert await eventually(stuck_in_a_transfer)
        completed_before = [
            row for row in await payouts_of(committed, MAY.first_day) if row.status == "completed"
        ]
    # The worker is gone; Stripe made the held transfer, nobody recorded it.
    held = list(fake.transfers.values())[HOLD_AFTER:]
    assert len(completed_before) <= HOLD_AFTER and held

    second = await committed_api.request("POST", RUNS, as_user=admin, json={"period": MAY.label})
    assert second.status_code == 202 and second.json()["started"] is False
    fake.release.set()

    async with payout_worker(temporal_dev.client, settings, committed):

        async def all_paid():
            rows = await payouts_of(committed, MAY.first_day)
            done = len(rows) == PUBLISHERS and all(r.status == "completed" for r in rows)
            return rows if done else None

        rows = await eventually(all_paid, timeout=60)
        assert rows, [
            (r.publisher_id, r.status) for r in await payouts_of(committed, MAY.first_day)
        ]

    assert sorted(r.publisher_id for r in rows) == sorted(s.id for s in sellers)
    assert fake.transfer_keys() == sorted(f"payout:{s.id}:{MAY.label}" for s in sellers)
    paid = await paid_sums(committed)
    by_payout = {t["metadata"]["payout_id"]: t for t in fake.transfers.values()}
    total = Decimal(0)
    for row in rows:
        gross, fee, net, count = expected[row.publisher_id, "USD"]
        assert (row.gross_amount, row.platform_fee, row.net_amount) == (gross, fee, net)
        assert paid[row.id] == (gross, fee, net, count)
        assert by_payout[str(row.id)]["amount"] == to_minor_units(net, "USD")
        assert row.payout_id == by_payout[str(row.id)]["id"]
        total += net
    assert total == sum(value[2] for value in expected.values())
    # The held transfer was asked for again under its key, and Stripe replayed it.
    resent = [
        r
        for r in fake.requests
        if r.method == "POST" and r.headers.get("idempotency-key") == held[0]["_key"]
    ]
    assert len(resent) >= 2
