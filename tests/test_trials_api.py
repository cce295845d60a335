"""Trials from the API: one per buyer and module, and the buyer's subscription controls."""

from decimal import Decimal

import pytest

from domain.modules import ModuleStatus
from models.commerce import License
from worker import build_worker

pytestmark = pytest.mark.workflow
D = "/api/v1/marketplace"


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


@pytest.fixture
async def offers(make_committed):
    _, publisher = await make_committed.publisher()
    trial = await make_committed.module(
        publisher,
        status=ModuleStatus.PUBLISHED,
        license_type="subscription",
        subscription_period="monthly",
        trial_days=14,
        price=Decimal("9.00"),
    )
    no_trial = await make_committed.module(
        publisher,
        status=ModuleStatus.PUBLISHED,
        license_type="paid",
        price=Decimal("9.00"),
    )
    return trial, no_trial


async def test_one_trial_per_buyer_then_cancel_and_resume(
    committed_api, make_committed, committed, worker, offers
):
    api = committed_api
    trial, no_trial = offers
    buyer = await make_committed.user()
    started = await api.request(
        "POST",
        f"{D}/modules/{trial.slug}/trial",
        as_user=buyer,
        json={"payment_method": "4242424242424242"},
    )
    assert started.status_code == 201, started.text
    body = started.json()
    key = body["license_key"]
    assert key.startswith("FVM-")
    assert body["subscription"]["status"] == "trialing"
    assert body["subscription"]["has_payment_method"] is True

    verified = await api.request(
        "POST",
        f"{D}/licenses/{key}/verify",
        json={"instance_id": "inst-1", "domain": "shop.example.com", "nonce": "trial-0123456789ab"},
    )
    assert verified.json()["answer"]["code"] == "NOT_ACTIVATED"

    again = await api.request("POST", f"{D}/modules/{trial.slug}/trial", as_user=buyer, json={})
    assert again.status_code == 409 and again.json()["error"] == "already_licensed"
    none = await api.request("POST", f"{D}/modules/{no_trial.slug}/trial", as_user=buyer, json={})
    assert none.status_code == 400 and none.json()["error"] == "trial_not_offered"
    bad_card = await api.request(
        "POST",
        f"{D}/modules/{trial.slug}/trial",
        as_user=await make_committed.user(),
        json={"payment_method": "1234"},
    )
    assert bad_card.status_code == 400 and bad_card.json()["error"] == "invalid_payment_method"

    cancelled = await api.request("POST", f"{D}/licenses/{key}/subscription/cancel", as_user=buyer)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_at_period_end"] is True
    twice = await api.request("POST", f"{D}/licenses/{key}/subscription/cancel", as_user=buyer)
    assert twice.status_code == 409 and twice.json()["error"] == "already_cancelled"
    resumed = await api.request("POST", f"{D}/licenses/{key}/subscription/resume", as_user=buyer)
    assert resumed.status_code == 200 and resumed.json()["cancel_at_period_end"] is False

    stranger = await make_committed.user()
    hidden = await api.request("GET", f"{D}/licenses/{key}/subscription", as_user=stranger)
    assert hidden.status_code == 404
    await worker.client.get_workflow_handle(body["subscription"]["workflow_id"]).terminate()

    async with committed() as session:
        row = await session.get(License, body["license_id"])
        row.status = "expired"
        await session.commit()
    after_expiry = await api.request(
        "POST", f"{D}/modules/{trial.slug}/trial", as_user=buyer, json={}
    )
    assert after_expiry.status_code == 409
    assert after_expiry.json()["error"] == "trial_already_used"
