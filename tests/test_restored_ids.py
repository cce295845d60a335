"""A database restored from a backup hands row ids out again. Workflow ids made from a row
id also carry the row's business key, so a new row with an old id starts its own run: it
neither joins the old row's run nor is refused because that run once existed."""

import contextlib
from decimal import Decimal

import pytest
from sqlalchemy import delete, text
from temporalio.client import WorkflowExecutionStatus

from domain.modules import ModuleStatus
from models.commerce import License, Subscription

pytestmark = pytest.mark.workflow
TRIAL = "/api/v1/marketplace/modules/{slug}/trial"


@pytest.fixture
async def trial_offer(make_committed):
    _, publisher = await make_committed.publisher()
    return await make_committed.module(
        publisher,
        status=ModuleStatus.PUBLISHED,
        license_type="subscription",
        subscription_period="monthly",
        trial_days=14,
        price=Decimal("9.00"),
    )


async def restore_to_before(committed, license_id: int) -> None:
    """What a restore of a backup taken just before ``license_id`` was issued leaves: the
    rows gone and the id sequence where it was, so the id is handed out again."""
    async with committed.begin() as session:
        await session.execute(delete(Subscription).where(Subscription.license_id == license_id))
        await session.execute(delete(License).where(License.id == license_id))
        await session.execute(
            text("SELECT setval(pg_get_serial_sequence('marketplace_licenses', 'id'), :id, false)"),
            {"id": license_id},
        )


@pytest.mark.parametrize("old_run", ["running", "ended"])
async def test_a_reissued_license_id_gets_its_own_subscription_run(
    committed_api, committed, make_committed, trial_offer, temporal_dev, old_run
):
    client = temporal_dev.client
    path = TRIAL.format(slug=trial_offer.slug)
    first_buyer, second_buyer = await make_committed.user(), await make_committed.user()
    first = await committed_api.request("POST", path, as_user=first_buyer, json={})
    assert first.status_code == 201, first.text
    old = first.json()
    old_handle = client.get_workflow_handle(old["subscription"]["workflow_id"])
    handles = [old_handle]
    try:
        if old_run == "ended":
            await old_handle.terminate("the subscription ended before the backup was restored")
        await restore_to_before(committed, old["license_id"])

        second = await committed_api.request("POST", path, as_user=second_buyer, json={})
        assert second.status_code == 201, second.text
        new = second.json()
        new_handle = client.get_workflow_handle(new["subscription"]["workflow_id"])
        handles.append(new_handle)

        assert new["license_id"] == old["license_id"], "the restore hands the id out again"
        assert new_handle.id != old_handle.id
        described = await new_handle.describe()
        assert described.status is WorkflowExecutionStatus.RUNNING
        assert described.run_id != (await old_handle.describe()).run_id
        async with committed() as session:
            stored = await session.get(License, new["license_id"])
        assert stored.user_id == second_buyer.id
        assert stored.subscription_id == new_handle.id
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):  # ended already, or never started
                await handle.terminate("test done")
