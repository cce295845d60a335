"""Records the histories the replay test replays (``tests/test_replay_histories.py``).

Not collected by ``make test`` (the name does not start with ``test_``): ``make
record-histories`` runs it with ``MARKETPLACE_RECORD_HISTORIES=1``. Each test drives the
runs of one workflow type for real, through the API where there is one, with the real
worker (``worker.build_worker``) on the Temporal dev server and Postgres (the subscription,
whose periods are months, on the time-skipping server), and keeps their histories as
``tests/histories/<type>-<case>.<date>.json``. ``make record-histories ONLY=checkout``
records only the tests whose names match.

The assertions here only make sure each run went the way its name says; the end-to-end
tests check what the runs do."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli import embedded
from domain import processes
from domain.checkout import SubscriptionInput, SubscriptionStatus, add_period
from domain.modules import ModuleStatus, SubscriptionPeriod
from domain.payouts import MonthlyPayoutsInput, Period
from integrations.payments.local import LocalGateway
from integrations.wiring import payout_options_from
from tests import archives, test_checkout_e2e
from tests.helpers import eventually, sample_listing, wait_until
from tests.history_recording import RECORDING, keep_history
from tests.osv_fake import osv_fake
from tests.payouts_fake import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, STRIPE_KEY, PayoutsServer
from tests.payouts_ledger import Ledger, day_of, payouts_of, settled
from tests.test_checkout_e2e import (
    CHECKOUT,
    GOOD,
    NEEDS_3DS,
    fill_cart,
    order_when,
)
from tests.test_ingestion_e2e import INSECURE_CODE
from tests.test_subscription_workflow import DECLINES_OFF_SESSION, anchor_ending_in, seed
from worker import build_worker
from workflows.listing_revision import ListingRevisionReviewWorkflow
from workflows.module_review import ModuleReviewWorkflow
from workflows.notifications import NotificationDeliveryWorkflow
from workflows.payouts import MonthlyPayoutsWorkflow
from workflows.stats_rollup import StatsRollupWorkflow
from workflows.subscription import SubscriptionWorkflow

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(not RECORDING, reason="records histories: make record-histories"),
    pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning"),
]
SEPTEMBER = Period(2025, 9)
ORDERS = "/api/v1/marketplace/orders"


@pytest.fixture
def osv():
    with osv_fake() as fake:
        yield fake


@pytest.fixture
def rails():
    with PayoutsServer() as fake:
        yield fake


@pytest.fixture
def settings(settings, osv, rails):
    """Quick enough to watch every timer fire: a review reminder after a second, an
    unconfirmed payment given up after four, a PayPal batch read again after 0.3."""
    return settings.model_copy(
        update={
            "osv_url": osv.url,
            "review_reminder_after": timedelta(seconds=1),
            "checkout_confirm_timeout": timedelta(seconds=4),
            "stripe_secret_key": SecretStr(STRIPE_KEY),
            "stripe_api_base": rails.url,
            "paypal_client_id": PAYPAL_CLIENT_ID,
            "paypal_client_secret": SecretStr(PAYPAL_CLIENT_SECRET),
            "paypal_api_base": rails.url,
            "payout_retry_interval": timedelta(milliseconds=100),
            "payout_poll_interval": timedelta(milliseconds=300),
        }
    )


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


@pytest.fixture
def client(temporal_dev) -> Client:
    return temporal_dev.client


# --- catalog ----------------------------------------------------------------------------


async def upload_sample(api, owner, module_id: int, version: str, *extra) -> dict:
    """That version of the sample (with ``extra`` entries) uploaded; the accepted response
    (``workflow_id``, ``version``)."""
    manifest = archives.sample_manifest() | {"version": version}
    uploaded = await api.request(
        "POST",
        f"/api/v1/publisher/modules/{module_id}/versions",
        as_user=owner,
        files={
            "file": (
                "package.zip",
                archives.build_zip([*archives.package_entries(manifest=manifest), *extra]),
                "application/zip",
            )
        },
    )
    assert uploaded.status_code == 202, uploaded.text
    return uploaded.json()


async def test_version_ingestion(committed_api, make_committed, worker, client, osv):
    owner, _ = await make_committed.publisher()
    module_id = (await sample_listing(committed_api, owner))["id"]
    published = await upload_sample(committed_api, owner, module_id, "1.0.0")
    outcome = await client.get_workflow_handle(published["workflow_id"]).result()
    assert outcome["status"] == "published"
    await keep_history(client, published["workflow_id"], "VersionIngestion-published")

    osv.mode = "down"  # the audit cannot run: the version waits for an admin
    held = await upload_sample(committed_api, owner, module_id, "1.1.0")
    admin = await make_committed.admin()

    async def approved():
        response = await committed_api.request(
            "POST",
            f"/api/v1/admin/marketplace/versions/{held['version']['id']}/approve",
            as_user=admin,
            json={"note": "the dependency is fine"},
        )
        return response.status_code == 200

    await wait_until(approved, "approved")
    outcome = await client.get_workflow_handle(held["workflow_id"]).result()
    assert outcome["status"] == "published"
    await keep_history(client, held["workflow_id"], "VersionIngestion-manual-review-approved")

    insecure = archives.Entry("hello_fastvue/tools.py", INSECURE_CODE)
    rejected = await upload_sample(committed_api, owner, module_id, "1.2.0", insecure)
    assert await client.get_workflow_handle(rejected["workflow_id"]).result() is None
    await keep_history(client, rejected["workflow_id"], "VersionIngestion-rejected")


async def test_module_review(committed_api, make_committed, worker, client):
    owner, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher)
    await make_committed.version(module)  # approval needs a version that passed the pipeline
    submitted = await committed_api.request(
        "POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=owner
    )
    assert submitted.status_code == 202, submitted.text
    handle = client.get_workflow_handle(submitted.json()["workflow_id"])

    async def reminded():
        return (await handle.query(ModuleReviewWorkflow.progress)).reminders_sent > 0

    await wait_until(reminded, "reminded")
    approved = await committed_api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    await handle.result()
    await keep_history(client, handle.id, "ModuleReview-reminded-approved")


async def test_listing_revision_review(committed_api, make_committed, worker, client):
    owner, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher, ModuleStatus.PUBLISHED)

    async def propose(description: str) -> dict:
        changed = await committed_api.request(
            "PUT",
            f"/api/v1/publisher/modules/{module.id}",
            as_user=owner,
            json={"description": description},
        )
        assert changed.status_code == 202, changed.text
        return changed.json()["revision"]

    replaced = await propose("A first try.")
    revision = await propose("Adds a loyalty programme to the shop.")
    handle = client.get_workflow_handle(revision["workflow_id"])
    await client.get_workflow_handle(replaced["workflow_id"]).result()
    await keep_history(client, replaced["workflow_id"], "ListingRevisionReview-replaced")

    async def reminded():
        return (await handle.query(ListingRevisionReviewWorkflow.progress)).reminders_sent > 0

    await wait_until(reminded, "reminded")
    approved = await committed_api.request(
        "POST", f"/api/v1/admin/marketplace/revisions/{revision['id']}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    await handle.result()
    await keep_history(client, handle.id, "ListingRevisionReview-reminded-approved")


# --- commerce ---------------------------------------------------------------------------

shop = test_checkout_e2e.shop
"""The checkout tests' fixture: a publisher and a way to list its modules for sale."""


async def checkout(api, buyer, card: str) -> dict:
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": card})
    assert started.status_code == 202, started.text
    return started.json()


async def test_checkout_and_refund(committed_api, make_committed, worker, client, shop):
    _, for_sale = shop
    api = committed_api
    buyer = await make_committed.user()
    monthly = await for_sale("10.00", license_type="subscription", subscription_period="monthly")
    await fill_cart(api, buyer, await for_sale("49.99"), monthly)
    paid = await checkout(api, buyer, GOOD)
    order = await order_when(api, buyer, paid["order"]["id"], "completed")
    await client.get_workflow_handle(paid["workflow_id"]).result()
    await keep_history(client, paid["workflow_id"], "Checkout-paid-with-subscription")

    asked = await api.request(
        "POST",
        f"/api/v1/marketplace/orders/{order['id']}/refund",
        as_user=buyer,
        json={"reason": "not what I needed"},
    )
    assert asked.status_code == 202, asked.text
    await order_when(api, buyer, order["id"], "refunded")
    refund_id = processes.Refund.workflow_id(order["order_number"])
    await client.get_workflow_handle(refund_id).result()
    await keep_history(client, refund_id, "Refund-requested-by-buyer")

    await fill_cart(api, buyer, await for_sale("15.00"))
    needs_3ds = await checkout(api, buyer, NEEDS_3DS)
    number = needs_3ds["order"]["order_number"]

    async def confirmed():
        response = await api.request(
            "POST", f"{CHECKOUT}/confirm", as_user=buyer, json={"order_number": number}
        )
        return response.status_code == 200 and response.json()["status"] == "completed"

    await wait_until(confirmed, "confirmed")
    await client.get_workflow_handle(needs_3ds["workflow_id"]).result()
    await keep_history(client, needs_3ds["workflow_id"], "Checkout-confirmed-by-buyer")

    await fill_cart(api, buyer, await for_sale("16.00"))
    expired = await checkout(api, buyer, NEEDS_3DS)
    await order_when(api, buyer, expired["order"]["id"], "expired")
    await client.get_workflow_handle(expired["workflow_id"]).result()
    await keep_history(client, expired["workflow_id"], "Checkout-never-confirmed")

    await fill_cart(api, buyer, await for_sale("17.00"))
    declined = await checkout(api, buyer, "4000000000000002")
    await order_when(api, buyer, declined["order"]["id"], "failed")
    await client.get_workflow_handle(declined["workflow_id"]).result()
    await keep_history(client, declined["workflow_id"], "Checkout-declined")


async def awaiting_buyer(api, buyer, order_id: int) -> dict:
    async def waiting():
        response = await api.request("GET", f"{ORDERS}/{order_id}", as_user=buyer)
        body = response.json()
        return body if body["payment"]["status"] == "requires_action" else None

    body = await eventually(waiting)
    assert body, f"order {order_id} never waited for the buyer"
    return body


async def test_checkout_cancelled(committed_api, make_committed, worker, client, shop, settings):
    """The buyer cancels a payment waiting for confirmation; and a cancel that comes
    after the payment went through at the gateway, which the payment wins."""
    _, for_sale = shop
    api = committed_api
    buyer = await make_committed.user()
    await fill_cart(api, buyer, await for_sale("21.00"))
    left = await checkout(api, buyer, NEEDS_3DS)
    await awaiting_buyer(api, buyer, left["order"]["id"])
    cancelled = await api.request("POST", f"{ORDERS}/{left['order']['id']}/cancel", as_user=buyer)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    await client.get_workflow_handle(left["workflow_id"]).result()
    await keep_history(client, left["workflow_id"], "Checkout-cancelled-by-buyer")

    paid_first = await checkout(api, buyer, NEEDS_3DS)
    waiting = await awaiting_buyer(api, buyer, paid_first["order"]["id"])
    gateway = LocalGateway(settings.payments_dir, settings.public_base_url)
    await gateway.confirm_payment(waiting["payment"]["payment_id"], "approved-at-the-bank")
    too_late = await api.request(
        "POST", f"{ORDERS}/{paid_first['order']['id']}/cancel", as_user=buyer
    )
    assert too_late.status_code == 409 and too_late.json()["error"] == "order_paid"
    await order_when(api, buyer, paid_first["order"]["id"], "completed")
    await client.get_workflow_handle(paid_first["workflow_id"]).result()
    await keep_history(client, paid_first["workflow_id"], "Checkout-cancel-lost-to-payment")


@pytest.fixture
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=embedded.venv_executable("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


async def test_subscription(time_skipping, settings, committed, make_committed):
    env = time_skipping
    now = await env.get_current_time()
    renewing = await seed(make_committed, committed, anchor=anchor_ending_in(now, 10))
    cancelled = await seed(make_committed, committed, anchor=anchor_ending_in(now, 10))
    declined = await seed(
        make_committed, committed, anchor=anchor_ending_in(now, 10), card=DECLINES_OFF_SESSION
    )
    async with build_worker(env.client, settings, committed):
        first = await env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionInput(license_id=renewing.license_id),
            id=f"subscription-{renewing.license_id}",
            task_queue=settings.temporal_task_queue,
        )
        cancelling = await env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionInput(license_id=cancelled.license_id),
            id=f"subscription-{cancelled.license_id}",
            task_queue=settings.temporal_task_queue,
        )
        dunning = await env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionInput(license_id=declined.license_id),
            id=f"subscription-{declined.license_id}",
            task_queue=settings.temporal_task_queue,
        )
        view = await cancelling.execute_update(SubscriptionWorkflow.cancel)
        assert view.cancel_at_period_end
        # the expiry reminder (a week before the end), the end, the first renewal, and
        # every retry of the declined one (the dunning days after the end)
        period_end = add_period(renewing.anchor, SubscriptionPeriod.MONTHLY)
        await env.sleep(period_end + timedelta(hours=1) - now)

        async def renewed():
            latest = env.client.get_workflow_handle(first.id)
            return (await latest.query(SubscriptionWorkflow.view)).period_number == 2

        await wait_until(renewed, "renewed")
        assert await cancelling.result() == SubscriptionStatus.CANCELLED
        assert await dunning.result() == SubscriptionStatus.EXPIRED
    await keep_history(
        env.client, first.id, "Subscription-renewed", run_id=first.first_execution_run_id
    )
    await keep_history(env.client, cancelling.id, "Subscription-cancelled-at-period-end")
    await keep_history(env.client, dunning.id, "Subscription-declined-until-expired")


# --- payouts ----------------------------------------------------------------------------


async def test_payouts(committed, make_committed, worker, client, settings, rails):
    ledger = Ledger(committed, make_committed)
    by_stripe = await ledger.publisher(
        method="stripe", stripe_account_id=rails.add_account("acct_1Rec")
    )
    by_paypal = await ledger.publisher(method="paypal", paypal_email="rec@example.com")
    for seller in (by_stripe, by_paypal):
        await ledger.sale(seller, "120.00", day_of(SEPTEMBER, 10))
    month_id = processes.MonthlyPayouts.workflow_id(SEPTEMBER.label)
    first = await client.start_workflow(
        MonthlyPayoutsWorkflow.run,
        MonthlyPayoutsInput(  # a page per publisher: the run continues as new
            period=SEPTEMBER.label,
            options=payout_options_from(settings).model_copy(update={"page_size": 1}),
        ),
        id=month_id,
        task_queue=settings.temporal_task_queue,
    )
    assert (await first.result()).started == 2

    async def paid():
        rows = await payouts_of(committed, SEPTEMBER.first_day)
        return len(rows) == 2 and settled(rows) and all(r.status == "completed" for r in rows)

    await wait_until(paid, "paid", timeout=60)
    await keep_history(
        client, month_id, "MonthlyPayouts-page-continued", run_id=first.first_execution_run_id
    )
    await keep_history(client, month_id, "MonthlyPayouts-last-page")
    await keep_history(
        client, processes.Payout.workflow_id(by_stripe.slug, SEPTEMBER.label), "Payout-stripe"
    )
    await keep_history(
        client, processes.Payout.workflow_id(by_paypal.slug, SEPTEMBER.label), "Payout-paypal"
    )

    scheduled = await client.execute_workflow(
        MonthlyPayoutsWorkflow.run,
        MonthlyPayoutsInput(options=payout_options_from(settings)),
        id=f"{processes.MonthlyPayouts.SCHEDULE_ID}-recorded",
        task_queue=settings.temporal_task_queue,
    )
    assert not scheduled.already_ran
    await keep_history(
        client, f"{processes.MonthlyPayouts.SCHEDULE_ID}-recorded", "MonthlyPayouts-scheduled"
    )


# --- schedules ----------------------------------------------------------------------------


async def test_scheduled_jobs(make_committed, worker, client, settings):
    await make_committed.publisher()
    delivery_id = f"{processes.NotificationDelivery.WORKFLOW_ID}-recorded"
    await client.execute_workflow(
        NotificationDeliveryWorkflow.run, id=delivery_id, task_queue=settings.temporal_task_queue
    )
    await keep_history(client, delivery_id, "NotificationDelivery")

    rollup_id = f"{processes.PublisherStatsRollup.WORKFLOW_ID}-recorded"
    await client.execute_workflow(
        StatsRollupWorkflow.run, id=rollup_id, task_queue=settings.temporal_task_queue
    )
    await keep_history(client, rollup_id, "PublisherStatsRollup")
