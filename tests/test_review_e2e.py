"""Module review end to end: HTTP API → Temporal dev server → worker activities → Postgres."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from domain.modules import ModuleStatus
from models.module import MarketplaceModule
from models.platform import AuditLogEntry
from tests.helpers import eventually
from worker import build_worker

pytestmark = pytest.mark.workflow


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


async def submit(api, user, module):
    return await api.request("POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=user)


async def test_submit_wait_in_queue_and_approve(
    committed_api, make_committed, worker, temporal_dev
):
    api = committed_api
    owner, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher)
    await make_committed.version(module)

    submitted = await submit(api, owner, module)
    assert submitted.status_code == 202, submitted.text
    body = submitted.json()
    assert body["workflow_id"] == f"review-{module.slug}"
    assert body["module"]["status"] == "pending"

    retried = await submit(api, owner, module)
    assert retried.status_code == 202

    async def runs_found():
        query = f'ModuleSlug="{module.slug}"'
        return [wf async for wf in temporal_dev.client.list_workflows(query)]

    runs = await eventually(runs_found)
    assert len(runs) == 1, "a retried submit must not start a second review"
    assert runs[0].id == f"review-{module.slug}"

    queue = await api.request("GET", "/api/v1/admin/marketplace/pending", as_user=admin)
    assert [m["id"] for m in queue.json()["items"]] == [module.id]

    status = await api.request(
        "GET", f"/api/v1/publisher/modules/{module.id}/review", as_user=owner
    )
    assert status.json()["progress"]["state"] == "waiting"

    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["module"]["status"] == "published"

    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert stored.status == "published" and stored.reviewed_by == admin.id
    queue = await api.request("GET", "/api/v1/admin/marketplace/pending", as_user=admin)
    assert queue.json()["total"] == 0

    again = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert again.status_code == 409
    assert again.json()["error"] == "module_not_pending"

    mails = await eventually(lambda: _mails(api.settings, module.slug))
    assert any("approved" in mail for mail in mails)


async def _mails(settings, slug: str) -> list[str]:
    folder = settings.mail_dir
    if not folder.exists():
        return []
    return [p.read_text() for p in folder.glob(f"review-{slug}-*.eml")]


async def test_rejection_reason_reaches_the_publisher_who_can_resubmit(
    committed_api, make_committed, worker
):
    api = committed_api
    owner, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher)
    await make_committed.version(module)
    await submit(api, owner, module)

    rejected = await api.request(
        "POST",
        f"/api/v1/admin/marketplace/modules/{module.id}/reject",
        as_user=admin,
        json={"reason": "The description does not say what the module does."},
    )
    assert rejected.status_code == 200, rejected.text
    mine = await api.request("GET", f"/api/v1/publisher/modules/{module.id}", as_user=owner)
    assert mine.json()["status"] == "rejected"
    assert mine.json()["rejection_reason"] == "The description does not say what the module does."

    # Resubmitted at once, while the rejecting run may still be closing (indexing,
    # mailing): the submission waits for it to end and starts a new review.
    fixed = await api.request(
        "PUT",
        f"/api/v1/publisher/modules/{module.id}",
        as_user=owner,
        json={"short_description": "Greets the signed-in user on the dashboard."},
    )
    assert fixed.status_code == 200
    resubmitted = await submit(api, owner, module)
    assert resubmitted.status_code == 202
    assert resubmitted.json()["module"]["status"] == "pending"
    assert resubmitted.json()["module"]["rejection_reason"] is None
    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert approved.json()["module"]["status"] == "published"
    mails = await eventually(lambda: _mails(api.settings, module.slug))
    assert any("The description does not say what the module does." in m for m in mails)


async def test_decision_on_an_archived_module_is_refused(committed_api, make_committed, worker):
    api = committed_api
    owner, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher)
    await submit(api, owner, module)
    archived = await api.request("DELETE", f"/api/v1/publisher/modules/{module.id}", as_user=owner)
    assert archived.json()["status"] == "archived"

    decided = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert decided.status_code == 409
    assert decided.json()["error"] == "module_not_pending"
    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert stored.status == "archived"


async def review_started(temporal_dev, module) -> bool:
    try:
        await temporal_dev.client.get_workflow_handle(f"review-{module.slug}").describe()
    except RPCError as error:
        assert error.status is RPCStatusCode.NOT_FOUND, error
        return False
    return True


async def test_an_admin_cannot_decide_their_own_module(
    committed_api, make_committed, worker, temporal_dev
):
    """An admin who also publishes is no reviewer of their own listing: refused before the
    decision reaches the workflow, the module left waiting for another admin."""
    api = committed_api
    admin, publisher = await make_committed.admin_publisher()
    module = await make_committed.module(publisher, ModuleStatus.PENDING)
    await make_committed.version(module)
    base = f"/api/v1/admin/marketplace/modules/{module.id}"

    approved = await api.request("POST", f"{base}/approve", as_user=admin)
    assert approved.status_code == 403, approved.text
    assert approved.json()["error"] == "own_module"
    rejected = await api.request("POST", f"{base}/reject", as_user=admin, json={"reason": "x"})
    assert rejected.status_code == 403, rejected.text
    assert rejected.json()["error"] == "own_module"

    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert stored.status == "pending" and stored.reviewed_by is None
    assert not await review_started(temporal_dev, module), "nothing sent to the workflow"

    other = await make_committed.admin()
    decided = await api.request("POST", f"{base}/approve", as_user=other)
    assert decided.status_code == 200, decided.text
    assert decided.json()["module"]["status"] == "published"


@pytest.mark.parametrize("versions", [[], ["processing"], ["rejected", "manual_review"]])
async def test_a_module_without_a_published_version_cannot_be_approved(
    committed_api, make_committed, worker, temporal_dev, versions
):
    """Approving publishes the listing: it needs a version that passed the pipeline, or
    buyers would find nothing to download. It may still be rejected."""
    api = committed_api
    _, publisher = await make_committed.publisher()
    admin = await make_committed.admin()
    module = await make_committed.module(publisher, ModuleStatus.PENDING)
    for patch, status in enumerate(versions):
        await make_committed.version(module, status, f"1.0.{patch}")
    base = f"/api/v1/admin/marketplace/modules/{module.id}"

    approved = await api.request("POST", f"{base}/approve", as_user=admin)
    assert approved.status_code == 409, approved.text
    assert approved.json()["error"] == "no_published_version"
    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert stored.status == "pending" and stored.reviewed_by is None
    assert not await review_started(temporal_dev, module), "nothing sent to the workflow"

    rejected = await api.request("POST", f"{base}/reject", as_user=admin, json={"reason": "x"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["module"]["status"] == "rejected"


async def test_reminder_is_mailed_and_audited_while_the_review_waits(
    committed_api, make_committed, temporal_dev, settings, committed
):
    quick = settings.model_copy(update={"review_reminder_after": timedelta(seconds=1)})
    committed_api.http._transport.app.state.settings = quick
    owner, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher)
    async with build_worker(temporal_dev.client, quick, committed):
        assert (await submit(committed_api, owner, module)).status_code == 202

        async def reminded():
            async with committed() as session:
                rows = await session.execute(
                    select(AuditLogEntry).where(
                        AuditLogEntry.action == "module.review_reminder",
                        AuditLogEntry.entity_id == str(module.id),
                    )
                )
                return list(rows.scalars())

        entries = await eventually(reminded)
        assert entries, "no reminder within 15 s although the delay is 1 s"
        mails = await eventually(lambda: _mails(quick, module.slug))
        assert any("waits for review" in mail for mail in mails)
