"""Authorization matrix, trials and subscriptions (cancel and resume on committed data,
with a worker): the effect of every allowed cell of these routes. The table (and every
refused cell) is in ``test_authorization_matrix``; the world the cells run in, built
once for this module with each cell in a savepoint of it, in
``tests.authorization_world``. Beside test_subscription_workflow.py.
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain import processes
from domain.licensing import (
    license_key_hash,
    normalize_license_key,
)
from domain.modules import ModuleStatus
from models.commerce import (
    License,
    Subscription,
)
from services import subscriptions as subscription_service
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    SUB,
    Check,
    D,
    L,
    cells,
    forget_workflow,
    reload,
    subscription_license,
    subscription_of,
)
from tests.helpers import front_door, wait_until
from tests.test_authorization_matrix import MATRIX
from worker import build_worker
from workflows.subscription import SubscriptionWorkflow

WORKER_ROUTES = (SUB,)
"""The cells a worker decides, asked first: on committed data, which the module's
world (opened by the first cell after them) would keep them from truncating."""


async def loaded(handle) -> None:
    """Wait until the subscription workflow has read its billing row: before that it
    refuses updates."""

    async def started() -> bool:
        return (await handle.query(SubscriptionWorkflow.view)).period_number == 1

    await wait_until(started, "the subscription workflow reading its billing row")


@pytest.mark.workflow
@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, via_worker=True, under=SUB)))
async def test_access_decided_by_the_subscription_workflow(
    committed_api,
    make_committed,
    committed,
    settings,
    temporal_dev,
    no_world_open,
    method,
    path,
    role,
    expected,
):
    """Cancel/resume are updates the subscription workflow answers: the owner's monthly
    subscription (cancelled already, to resume it) runs on a worker that sees the committed
    rows. Its license id is one no truncation hands out (they restart at 1), so the
    workflow id has never been used."""
    assert role == "owner", "only the license's owner should reach the workflow"
    owner, _ = await make_committed.publisher()
    _, shop = await make_committed.publisher()
    module = await make_committed.module(
        shop,
        ModuleStatus.PUBLISHED,
        license_type="subscription",
        subscription_period="monthly",
        price=Decimal("9.00"),
    )
    resume = path.endswith("/resume")
    start = datetime.now(UTC) - timedelta(days=2)
    key, row = subscription_license(owner, module, start, id=10**9 + uuid.uuid4().int % 10**9)
    async with committed() as session:
        session.add(row)
        await session.flush()
        session.add(subscription_of(row, module, start, cancelled=resume))
        await session.commit()

    handle = temporal_dev.client.get_workflow_handle(row.subscription_id)
    async with build_worker(temporal_dev.client, settings, committed):
        try:
            await subscription_service.start_subscription(
                front_door(temporal_dev.client, settings), row.id, row.subscription_id
            )
            await loaded(handle)
            response = await committed_api.request(method, path.format(key=key), as_user=owner)
            assert response.status_code == expected.status, response.text
            view = await handle.query(SubscriptionWorkflow.view)
        finally:
            await forget_workflow(temporal_dev.client, handle.id)

    body = response.json()
    assert body["license_id"] == row.id and body["status"] == "active"
    assert body["cancel_at_period_end"] is not resume
    assert view.cancel_at_period_end is not resume, "the workflow knows"
    async with committed() as session:
        stored = await session.scalar(select(Subscription).where(Subscription.license_id == row.id))
    assert stored.status == "active" and stored.cancel_at_period_end is not resume
    assert (stored.cancelled_at is None) is resume
    assert (await make_committed.reload(License, row.id)).status == "active", "valid till the end"


# --- the cells on the world ---------------------------------------------------------


async def check_trial_started(r, w, role, env):
    """A trial license of ``trial_offer`` for the caller, its trialing billing row, and the
    subscription workflow started for it."""
    body = r.json()
    stored = await reload(env, License, body["license_id"])
    workflow_id = processes.Subscription.workflow_id(stored.id, stored.license_key)
    try:
        caller = w.callers[role]
        assert stored.user_id == caller.id and stored.module_id == w.trial_offer.id
        assert stored.license_type == "trial" and stored.status == "active"
        assert stored.license_key == license_key_hash(normalize_license_key(body["license_key"]))
        assert stored.expires_at - stored.trial_started_at == timedelta(days=14)
        sub = body["subscription"]
        assert sub["workflow_id"] == workflow_id and sub["license_id"] == stored.id
        assert sub["status"] == "trialing" and sub["period_number"] == 0
        async with env.make.sessions() as session:
            row = await session.scalar(
                select(Subscription).where(Subscription.license_id == stored.id)
            )
        assert row.user_id == caller.id and row.status == "trialing"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        await forget_workflow(env.temporal_client, workflow_id)


async def check_subscription(r, w, role, env):
    """The billing state of the owner's subscription; the owner's purchased license has
    none."""
    body = r.json()
    assert body["license_id"] == w.sub_license.id
    assert body["workflow_id"] == w.sub_license.subscription_id
    assert (body["status"], body["period"], body["price"]) == ("active", "monthly", "9.00")
    assert body["period_number"] == 1 and body["cancel_at_period_end"] is False
    assert body["has_payment_method"] is False
    other = await env.api.request(
        "GET", f"{L}/{w.license_key}/subscription", as_user=w.callers[role]
    )
    assert other.status_code == 404 and other.json()["error"] == "not_a_subscription"


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", D + "/modules/{slug}/trial"): check_trial_started,
    ("GET", SUB): check_subscription,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
