"""A month of payouts end to end: the admin trigger → ``payouts-{YYYY-MM}`` on the Temporal
dev server → one ``payout-{publisher}-{YYYY-MM}`` per publisher → Postgres, the outbox, and
Stripe / PayPal as ``tests/payouts_fake.py`` recorded them.

After a generated month of sales and refunds, every payout equals an independent SQL sum
of the ledger to the cent, and so does what reached the provider; carried-over, held and
failed payouts moved no money; a second trigger of the month changes nothing."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from domain import processes
from domain.payouts import Period
from domain.pricing import to_minor_units
from models.commerce import EarningEntry
from models.platform import NotificationOutbox
from models.publisher import Publisher
from services.payouts import start_month
from tests.factories import PASSWORD
from tests.helpers import eventually, front_door
from tests.payouts_fake import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, STRIPE_KEY, PayoutsServer
from tests.payouts_ledger import (
    Ledger,
    day_of,
    paid_sums,
    payout_worker,
    payouts_of,
    settled,
    unpaid_sums,
)
from workflows.payouts import WORKFLOWS

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning"),
]
# Workflow ids are business ids and the dev server lives for the whole session, while the
# tables (and so the publisher ids) are emptied after each test: each test pays its own
# months, so no test finds another's payout workflows.
OCT = Period(2025, 10)
JUL, AUG = Period(2025, 7), Period(2025, 8)
JUN = Period(2025, 6)
RUNS = "/api/v1/admin/marketplace/payouts/runs"
ADMIN = "/api/v1/admin/marketplace/payouts"
D = Decimal
MINIMUM = D("50.00")


@pytest.fixture
def fake():
    with PayoutsServer() as running:
        yield running


@pytest.fixture
def settings(settings, fake):
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(STRIPE_KEY),
            "stripe_api_base": fake.url,
            "paypal_client_id": PAYPAL_CLIENT_ID,
            "paypal_client_secret": SecretStr(PAYPAL_CLIENT_SECRET),
            "paypal_api_base": fake.url,
            "payout_retry_interval": timedelta(milliseconds=100),
            "payout_transfer_attempts": 3,
            "payout_poll_interval": timedelta(milliseconds=300),
        }
    )


@pytest.fixture
def ledger(committed, make_committed):
    return Ledger(committed, make_committed)


async def run_month(api, admin, sessions, rows: int, period: str) -> dict:
    """Trigger the month through the API; once ``rows`` payouts exist and have settled."""
    response = await api.request("POST", RUNS, as_user=admin, json={"period": period})
    assert response.status_code == 202, response.text
    await wait_settled(sessions, Period.parse(period), rows)
    return response.json()


async def wait_settled(sessions, period: Period, rows: int) -> list:
    async def done():
        found = await payouts_of(sessions, period.first_day)
        return found if len(found) == rows and settled(found) else None

    found = await eventually(done)
    assert found, (
        f"{period.label}'s {rows} payouts never settled: "
        f"{[(r.publisher_id, r.status) for r in await payouts_of(sessions, period.first_day)]}"
    )
    return found


async def seed_generated_month(ledger: Ledger, fake, rng: random.Random) -> dict[str, list]:
    """Publishers of every kind; returns them by what should happen to them."""
    kinds: dict[str, list] = {"paid": [], "manual": [], "carried": [], "held": [], "none": []}
    for n in range(14):
        method = ("stripe", "paypal", "stripe", "manual")[n % 4]
        seller = await ledger.publisher(
            method=method,
            stripe_account_id=fake.add_account(f"acct_1Gen{n}") if method == "stripe" else None,
            paypal_email=f"gen{n}@example.com" if method == "paypal" else None,
            rate=rng.choice(["30.00", "12.50", "33.33", "20.00"]),
        )
        for _ in range(rng.randint(2, 9)):
            sold = await ledger.sale(
                seller, f"{rng.randint(1500, 25000) / 100:.2f}", day_of(OCT, rng.randint(1, 29))
            )
            if rng.random() < 0.25:
                await ledger.refund(sold, rng.choice(["1", "0.5", "0.3"]))
        if n % 5 == 0:  # unpaid earlier months carried in
            await ledger.sale(seller, "33.33", day_of(OCT, 14) - timedelta(days=40))
        if n % 3 == 0:  # after the period: left for November
            await ledger.sale(seller, "99.99", day_of(OCT, 31, 23) + timedelta(hours=2))
        kinds["manual" if method == "manual" else "paid"].append(seller)

    small = await ledger.publisher(method="stripe", stripe_account_id=fake.add_account("acct_1S"))
    await ledger.sale(small, "30.00", day_of(OCT, 3))  # net 21.00 < 50.00
    negative = await ledger.publisher(method="paypal", paypal_email="neg@example.com")
    await ledger.refund(await ledger.sale(negative, "200.00", day_of(OCT, 1) - timedelta(days=35)))
    await ledger.sale(negative, "40.00", day_of(OCT, 7))
    # the September sale was paid out in September: only its refund is unpaid now
    async with ledger.sessions() as session:
        await session.execute(
            EarningEntry.__table__.delete().where(
                EarningEntry.publisher_id == negative.id,
                EarningEntry.kind == "sale",
                EarningEntry.gross == D("200.00"),
            )
        )
        await session.commit()
    kinds["carried"] += [small, negative]

    suspended = await ledger.publisher(
        method="stripe", stripe_account_id=fake.add_account("acct_1Susp"), status="suspended"
    )
    await ledger.sale(suspended, "500.00", day_of(OCT, 9))
    kinds["held"].append(suspended)

    later = await ledger.publisher(method="stripe", stripe_account_id="acct_1Later")
    await ledger.sale(later, "80.00", day_of(OCT, 31, 23) + timedelta(hours=1))
    kinds["none"].append(later)
    return kinds


async def test_every_payout_of_a_generated_month_equals_the_ledger_to_the_cent(
    committed_api, committed, make_committed, ledger, fake, settings, temporal_dev
):
    kinds = await seed_generated_month(ledger, fake, random.Random(202610))
    admin = await make_committed.admin()
    expected = await unpaid_sums(committed, OCT.ends_at)

    async with payout_worker(temporal_dev.client, settings, committed):
        expected_rows = len(kinds["paid"] + kinds["manual"] + kinds["carried"] + kinds["held"])
        started = await run_month(committed_api, admin, committed, expected_rows, OCT.label)
        assert started == {
            "period": OCT.label,
            "workflow_id": f"payouts-{OCT.label}",
            "started": True,
        }
        result = await temporal_dev.client.get_workflow_handle(f"payouts-{OCT.label}").result()

    rows = {row.publisher_id: row for row in await payouts_of(committed, OCT.first_day)}
    assert result["started"] == len(rows) == expected_rows
    assert kinds["none"][0].id not in rows
    rows_by_id = {row.id: row for row in rows.values()}
    paid = await paid_sums(committed)
    transfers = {t["metadata"]["payout_id"]: t for t in fake.transfers.values()}
    batches = {b["item"]["sender_item_id"]: b for b in fake.batches.values()}
    for seller in kinds["paid"] + kinds["manual"]:
        row = rows[seller.id]
        gross, fee, net, count = expected[seller.id, "USD"]
        assert (row.gross_amount, row.platform_fee, row.net_amount) == (gross, fee, net)
        assert row.currency == "USD" and row.period_end == OCT.last_day
        if net < MINIMUM:
            assert (row.status, row.failure_reason) == ("carried_over", "below_minimum")
            assert row.id not in paid
            continue
        assert paid[row.id] == (gross, fee, net, count)
        if seller in kinds["manual"]:
            assert (row.status, row.payout_method) == ("processing", "manual")
            continue
        assert row.status == "completed" and row.paid_at is not None
        if row.payout_method == "stripe":
            sent = transfers[str(row.id)]
            assert (sent["amount"], sent["_key"]) == (
                to_minor_units(net, "USD"),
                f"payout:{seller.id}:{OCT.label}",
            )
            assert row.payout_id == sent["id"]
        else:
            sent = batches[f"payout-{row.id}"]
            assert sent["item"]["amount"]["value"] == f"{net:.2f}"
            assert sent["sender_batch_id"] == f"payout:{seller.id}:{OCT.label}"
            assert row.payout_id == sent["id"]
    async with committed() as session:
        earlier = dict(
            (
                await session.execute(
                    select(EarningEntry.payout_id, func.sum(EarningEntry.net))
                    .where(
                        EarningEntry.payout_id.is_not(None),
                        EarningEntry.occurred_at < OCT.starts_at,
                    )
                    .group_by(EarningEntry.payout_id)
                )
            ).all()
        )
    assert earlier and all(rows_by_id[i].carried_in == net for i, net in earlier.items())

    for seller in kinds["carried"] + kinds["held"]:
        row = rows[seller.id]
        assert row.status == ("held" if seller in kinds["held"] else "carried_over")
        assert row.net_amount == expected[seller.id, "USD"][2]
        assert row.id not in paid and row.order_ids == []
    assert rows[kinds["carried"][0].id].failure_reason == "below_minimum"
    assert rows[kinds["carried"][1].id].failure_reason == "nothing_owed"
    assert rows[kinds["carried"][1].id].net_amount < 0

    completed = [r for r in rows.values() if r.status == "completed"]
    assert len(fake.transfers) + len(fake.batches) == len(completed)
    async with committed() as session:
        mails = (
            await session.execute(
                select(NotificationOutbox.dedupe_key).where(
                    NotificationOutbox.kind == "payout_completed"
                )
            )
        ).scalars()
        assert sorted(mails) == sorted(f"payout-{r.id}-completed" for r in completed)
        left = await session.scalar(
            select(func.count())
            .select_from(EarningEntry)
            .where(EarningEntry.payout_id.is_(None), EarningEntry.occurred_at < OCT.ends_at)
        )
    kept_back = sum(
        expected[row.publisher_id, "USD"][3]
        for row in rows.values()
        if row.status in ("carried_over", "held")
    )
    assert left == kept_back

    # The histories replay: the workflows are deterministic (a PayPal payout has a timer).
    paypal_paid = next(r for r in completed if r.payout_method == "paypal")
    async with committed() as session:
        paypal_publisher = await session.get(Publisher, paypal_paid.publisher_id)
    for workflow_id in (
        f"payouts-{OCT.label}",
        processes.Payout.workflow_id(paypal_publisher.slug, OCT.label),
    ):
        history = await temporal_dev.client.get_workflow_handle(workflow_id).fetch_history()
        await Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter).replay_workflow(
            history
        )

    # The same month again: nothing new is started, paid or booked.
    again = await committed_api.request("POST", RUNS, as_user=admin, json={"period": OCT.label})
    assert again.status_code == 202 and again.json()["started"] is False
    assert len(await payouts_of(committed, OCT.first_day)) == len(rows)
    assert len(fake.transfers) + len(fake.batches) == len(completed)


async def test_carry_over_is_paid_the_next_month_and_a_manual_payout_is_marked_paid(
    committed_api, committed, make_committed, ledger, fake, settings, temporal_dev
):
    admin = await make_committed.admin()
    small = await ledger.publisher(method="stripe", stripe_account_id=fake.add_account("acct_1A"))
    await ledger.sale(small, "40.00", day_of(JUL, 20))  # net 28.00: carried over
    hand = await ledger.publisher(method="manual")
    await ledger.sale(hand, "100.00", day_of(JUL, 2))
    await ledger.sale(small, "50.00", day_of(JUL, 20) + timedelta(days=15))  # August: 35.00

    async with payout_worker(temporal_dev.client, settings, committed):
        await run_month(committed_api, admin, committed, 2, JUL.label)
        [carried, manual] = await payouts_of(committed, JUL.first_day)
        assert (carried.status, carried.net_amount) == ("carried_over", D("28.00"))
        assert fake.transfers == {}

        # The next month, started as the schedule's run would start it.
        assert await start_month(front_door(temporal_dev.client, settings), AUG, settings)

        [paid] = await wait_settled(committed, AUG, 1)
    assert (paid.publisher_id, paid.status) == (small.id, "completed")
    assert (paid.net_amount, paid.carried_in) == (D("63.00"), D("28.00"))
    [sent] = fake.transfers.values()
    assert (sent["amount"], sent["_key"]) == (6300, f"payout:{small.id}:{AUG.label}")

    marked = await committed_api.request(
        "POST", f"{ADMIN}/{manual.id}/mark-paid", as_user=admin, json={"reference": "WIRE-7"}
    )
    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["reference"]) == ("completed", "WIRE-7")
    twice = await committed_api.request(
        "POST", f"{ADMIN}/{manual.id}/mark-paid", as_user=admin, json={"reference": "WIRE-7"}
    )
    assert twice.status_code == 409 and twice.json()["error"] == "payout_not_payable_by_hand"
    async with committed() as session:
        mail = await session.scalar(
            select(NotificationOutbox).where(
                NotificationOutbox.dedupe_key == f"payout-{manual.id}-completed"
            )
        )
    assert "70.00 USD" in mail.body and "WIRE-7" in mail.body


async def test_failed_transfers_keep_their_entries_and_are_retried_once_fixed(
    committed_api, committed, make_committed, ledger, fake, settings, temporal_dev
):
    admin = await make_committed.admin()
    unknown = await ledger.publisher(method="stripe", stripe_account_id="acct_1NotYet")
    await ledger.sale(unknown, "100.00", day_of(JUN, 5))
    nowhere = await ledger.publisher(method="paypal")
    await ledger.sale(nowhere, "200.00", day_of(JUN, 6))
    flaky = await ledger.publisher(method="stripe", stripe_account_id=fake.add_account("acct_1F"))
    await ledger.sale(flaky, "300.00", day_of(JUN, 7))
    fake.fail_next = 2  # two outages: retried under the same key, paid once

    async with payout_worker(temporal_dev.client, settings, committed):
        await run_month(committed_api, admin, committed, 3, JUN.label)
        rows = {r.publisher_id: r for r in await payouts_of(committed, JUN.first_day)}
        refused, missing = rows[unknown.id], rows[nowhere.id]
        assert (refused.status, refused.attempts) == ("failed", 1)
        assert "resource_missing" in refused.failure_reason
        assert (missing.status, missing.attempts) == ("failed", 0)
        assert "PayPal" in missing.failure_reason
        assert rows[flaky.id].status == "completed"
        assert fake.transfer_keys() == [f"payout:{flaky.id}:{JUN.label}"]
        assert (await paid_sums(committed))[refused.id][2] == D("70.00")

        fake.add_account("acct_1NotYet")
        settings_response = await committed_api.request(
            "POST",
            "/api/v1/publisher/payouts/settings",
            as_user=await make_committed.reload(type(admin), nowhere.user_id),
            json={
                "current_password": PASSWORD,
                "payout_method": "paypal",
                "paypal_email": "found@example.com",
            },
        )
        assert settings_response.status_code == 200, settings_response.text
        for row in (refused, missing):
            retried = await committed_api.request("POST", f"{ADMIN}/{row.id}/retry", as_user=admin)
            assert retried.status_code == 202, retried.text
            assert retried.json()["payout"]["status"] == "pending"

        async def retried_done():
            rows = await payouts_of(committed, JUN.first_day)
            return rows if all(r.status == "completed" for r in rows) else None

        assert await eventually(retried_done)
    assert fake.transfer_keys() == sorted(
        [f"payout:{flaky.id}:{JUN.label}", f"payout:{unknown.id}:{JUN.label}:retry-1"]
    )
    [batch] = fake.batches.values()
    assert (batch["sender_batch_id"], batch["item"]["receiver"]) == (
        f"payout:{nowhere.id}:{JUN.label}",
        "found@example.com",
    )
    again = await committed_api.request("POST", f"{ADMIN}/{refused.id}/retry", as_user=admin)
    assert again.status_code == 409 and again.json()["error"] == "payout_not_failed"
