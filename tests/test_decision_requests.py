"""Decision updates carry a reference the workflow checks against the database.

The attack: anyone who reaches the Temporal frontend (or the UI) sends the review's
``decide`` update themselves. Before, the payload's ``admin_role: "admin"`` was trusted and
the module was approved. Now the update carries only ``{admin_id, audit_id}``, the id of the
decision request the API recorded, and the workflow's activity checks that row: a forged,
foreign, stale, non-admin or reused reference fails the update and changes nothing, while
the API's own path still decides (HTTP API → Temporal dev server → worker → Postgres)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.review import ReviewActivities
from domain import processes
from domain.decisions import (
    DECISION_REQUEST_MAX_AGE,
    DecisionAction,
    DecisionCheck,
    DecisionReference,
    DecisionRefused,
    DecisionSubject,
    RecordedRequest,
    check_decision_request,
)
from domain.modules import ModuleStatus
from domain.review import ReviewState
from integrations.mail import FileMailer
from models.module import MarketplaceModule, ModuleVersion
from models.platform import AuditLogEntry
from models.repositories import audit
from models.user import User
from tests import archives
from tests.helpers import eventually, sample_listing
from tests.osv_fake import osv_fake
from worker import build_worker

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# --- the rule ----------------------------------------------------------------------------


def recorded(**changes) -> RecordedRequest:
    row = {
        "action": "module.decision_requested",
        "entity_type": "module",
        "entity_id": "7",
        "actor_id": 3,
        "actor_role": "admin",
        "actor_active": True,
        "changes": {"action": "approve", "reason": None},
        "created_at": NOW - timedelta(seconds=5),
        "claimed_by": None,
    }
    return RecordedRequest(**(row | changes))


CHECK = DecisionCheck(
    reference=DecisionReference(admin_id=3, audit_id=11),
    subject=DecisionSubject.MODULE,
    entity_id=7,
    claimant="review-x/run/update-1",
)


def test_a_matching_fresh_request_by_an_active_admin_is_the_decision():
    verified = check_decision_request(recorded(), CHECK, NOW)
    assert (verified.action, verified.admin_id) == (DecisionAction.APPROVE, 3)
    again = check_decision_request(recorded(claimed_by=CHECK.claimant), CHECK, NOW + timedelta(1))
    assert again == verified, "the update that claimed it may check it again (a retry)"


@pytest.mark.parametrize(
    ("row", "code"),
    [
        pytest.param(None, "decision_reference_unknown", id="no-such-row"),
        pytest.param(recorded(entity_id="8"), "decision_reference_mismatch", id="other-module"),
        pytest.param(
            recorded(entity_type="version", action="version.decision_requested"),
            "decision_reference_mismatch",
            id="a-version-request",
        ),
        pytest.param(
            recorded(action="module.update"), "decision_reference_mismatch", id="not-a-request"
        ),
        pytest.param(recorded(actor_id=4), "decision_reference_mismatch", id="other-author"),
        pytest.param(recorded(changes={}), "decision_reference_mismatch", id="no-decision"),
        pytest.param(
            recorded(actor_role="publisher"), "decision_reference_not_admin", id="publisher"
        ),
        pytest.param(recorded(actor_active=False), "decision_reference_not_admin", id="disabled"),
        pytest.param(
            recorded(claimed_by="review-x/run/other"), "decision_reference_used", id="used"
        ),
        pytest.param(
            recorded(created_at=NOW - DECISION_REQUEST_MAX_AGE - timedelta(seconds=1)),
            "decision_reference_stale",
            id="stale",
        ),
    ],
)
def test_a_request_that_does_not_stand_is_refused(row, code):
    with pytest.raises(DecisionRefused) as refused:
        check_decision_request(row, CHECK, NOW)
    assert refused.value.code == code


# --- the activity, on the database ---------------------------------------------------------


async def test_the_activity_lets_the_claiming_update_retry_and_refuses_any_other(
    committed, make_committed, settings
):
    steps = ReviewActivities(
        sessions=committed,
        mailer=FileMailer(settings.mail_dir),
        mail_from=settings.mail_from,
        admin_email="admins@example.com",
    )
    admin = await make_committed.admin()
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher, ModuleStatus.PENDING)
    audit_id = await decision_request(committed, admin.id, DecisionSubject.MODULE, module.id)
    check = DecisionCheck(
        reference=DecisionReference(admin_id=admin.id, audit_id=audit_id),
        subject=DecisionSubject.MODULE,
        entity_id=module.id,
        claimant="review-x/run-1/update-1",
    )

    first = await steps.verify_decision(check)
    assert (first.action, first.admin_id) == (DecisionAction.APPROVE, admin.id)
    assert await steps.verify_decision(check) == first, "a retried activity passes again"
    with pytest.raises(ApplicationError) as refused:
        await steps.verify_decision(check.model_copy(update={"claimant": "review-x/run-2/u"}))
    assert (refused.value.type, refused.value.non_retryable) == ("decision_reference_used", True)


# --- end to end ----------------------------------------------------------------------------


@pytest.fixture
def osv():
    with osv_fake() as fake:
        yield fake


@pytest.fixture
async def worker(temporal_dev, settings, committed, osv):
    worker_settings = settings.model_copy(update={"osv_url": osv.url})
    async with build_worker(temporal_dev.client, worker_settings, committed) as running:
        yield running


async def refusal(client, workflow_id: str, payload) -> ApplicationError:
    """Send ``payload`` as the ``decide`` update straight to Temporal, as an attacker with
    access to the frontend would, and return the workflow's refusal."""
    handle = client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(processes.ModuleReview.DECIDE, payload)
    assert isinstance(failure.value.cause, ApplicationError), failure.value.cause
    return failure.value.cause


async def decision_request(committed, author: int, subject: DecisionSubject, entity_id: int) -> int:
    """A decision request to approve, recorded the way the API records it."""
    async with committed.begin() as session:
        return await audit.record_decision_request(
            session,
            admin_id=author,
            subject=subject,
            entity_id=entity_id,
            action=DecisionAction.APPROVE,
            reason=None,
        )


async def pending_module(api, make_committed):
    owner, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher)
    await make_committed.version(module)
    submitted = await api.request(
        "POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=owner
    )
    assert submitted.status_code == 202, submitted.text
    return owner, module, submitted.json()["workflow_id"]


async def requests_of(committed, action: str, module_id: int) -> list[AuditLogEntry]:
    async with committed() as session:
        rows = await session.execute(
            select(AuditLogEntry)
            .where(AuditLogEntry.action == action, AuditLogEntry.entity_id == str(module_id))
            .order_by(AuditLogEntry.id)
        )
        return list(rows.scalars())


@pytest.mark.workflow
async def test_forged_module_decisions_are_refused_and_the_api_still_decides(
    committed_api, make_committed, committed, worker, temporal_dev
):
    api, client = committed_api, temporal_dev.client
    admin = await make_committed.admin()
    owner, module, workflow_id = await pending_module(api, make_committed)
    _, other_publisher = await make_committed.publisher()
    other = await make_committed.module(other_publisher)

    # What used to approve the module: a role claimed in the payload.
    claimed = {"action": "approve", "reason": None, "admin_id": admin.id, "admin_role": "admin"}
    assert (await refusal(client, workflow_id, claimed)).type == "decision_reference_required"
    assert (await refusal(client, workflow_id, claimed | {"audit_id": 1})).type == (
        "decision_reference_required"
    )

    no_row = {"admin_id": admin.id, "audit_id": 2_000_000_000}
    assert (await refusal(client, workflow_id, no_row)).type == "decision_reference_unknown"

    for_other = await decision_request(committed, admin.id, DecisionSubject.MODULE, other.id)
    forged = {"admin_id": admin.id, "audit_id": for_other}
    assert (await refusal(client, workflow_id, forged)).type == "decision_reference_mismatch"

    by_publisher = await decision_request(committed, owner.id, DecisionSubject.MODULE, module.id)
    forged = {"admin_id": owner.id, "audit_id": by_publisher}
    assert (await refusal(client, workflow_id, forged)).type == "decision_reference_not_admin"
    forged = {"admin_id": admin.id, "audit_id": by_publisher}
    assert (await refusal(client, workflow_id, forged)).type == "decision_reference_mismatch"

    former = await make_committed.admin()
    by_former = await decision_request(committed, former.id, DecisionSubject.MODULE, module.id)
    async with committed.begin() as session:
        await session.execute(update(User).where(User.id == former.id).values(is_active=False))
    forged = {"admin_id": former.id, "audit_id": by_former}
    assert (await refusal(client, workflow_id, forged)).type == "decision_reference_not_admin"

    old = await decision_request(committed, admin.id, DecisionSubject.MODULE, module.id)
    async with committed.begin() as session:
        await session.execute(
            update(AuditLogEntry)
            .where(AuditLogEntry.id == old)
            .values(created_at=datetime.now(UTC) - DECISION_REQUEST_MAX_AGE - timedelta(minutes=1))
        )
    forged = {"admin_id": admin.id, "audit_id": old}
    assert (await refusal(client, workflow_id, forged)).type == "decision_reference_stale"

    # Nothing changed: the module waits, the review waits, nothing was decided.
    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert (stored.status, stored.reviewed_by) == (ModuleStatus.PENDING, None)
    progress = await client.get_workflow_handle(workflow_id).query(processes.ModuleReview.PROGRESS)
    assert progress["state"] == ReviewState.WAITING
    assert await requests_of(committed, "module.approve", module.id) == []

    # The API's path: the request is recorded, referenced and accepted.
    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["module"]["status"] == "published"
    [decided] = await requests_of(committed, "module.approve", module.id)
    assert decided.actor_id == admin.id


@pytest.mark.workflow
async def test_a_used_reference_is_refused_by_the_next_review(
    committed_api, make_committed, committed, worker, temporal_dev
):
    api, client = committed_api, temporal_dev.client
    admin = await make_committed.admin()
    owner, module, workflow_id = await pending_module(api, make_committed)
    rejected = await api.request(
        "POST",
        f"/api/v1/admin/marketplace/modules/{module.id}/reject",
        as_user=admin,
        json={"reason": "No screenshots."},
    )
    assert rejected.status_code == 200, rejected.text
    [used] = await requests_of(committed, "module.decision_requested", module.id)
    assert used.changes == {"action": "reject", "reason": "No screenshots."}

    resubmitted = await api.request(
        "POST", f"/api/v1/publisher/modules/{module.id}/submit", as_user=owner
    )
    assert resubmitted.status_code == 202, resubmitted.text
    replayed = {"admin_id": admin.id, "audit_id": used.id}
    assert (await refusal(client, workflow_id, replayed)).type == "decision_reference_used"
    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert stored.status == ModuleStatus.PENDING

    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module.id}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["module"]["status"] == "published"


@pytest.mark.workflow
async def test_forged_version_decisions_are_refused_and_the_api_still_decides(
    committed_api, make_committed, committed, worker, temporal_dev, osv
):
    api, client = committed_api, temporal_dev.client
    owner, _ = await make_committed.publisher()
    listing = await sample_listing(api, owner)
    admin = await make_committed.admin()
    osv.mode = "down"  # the audit cannot run: the version waits for an admin
    uploaded = await api.request(
        "POST",
        f"/api/v1/publisher/modules/{listing['id']}/versions",
        as_user=owner,
        files={"file": ("package.zip", archives.sample_zip(), "application/zip")},
    )
    assert uploaded.status_code == 202, uploaded.text
    accepted = uploaded.json()
    version_id, workflow_id = accepted["version"]["id"], accepted["workflow_id"]

    async def held():
        row = await make_committed.reload(ModuleVersion, version_id)
        return row.status == "manual_review"

    assert await eventually(held)

    claimed = {"approve": True, "reason": None, "admin_id": admin.id, "admin_role": "admin"}
    assert (await refusal(client, workflow_id, claimed)).type == "decision_reference_required"
    for_module = await decision_request(committed, admin.id, DecisionSubject.MODULE, listing["id"])
    forged = {"admin_id": admin.id, "audit_id": for_module}
    assert (await refusal(client, workflow_id, forged)).type == "decision_reference_mismatch"
    assert (await make_committed.reload(ModuleVersion, version_id)).status == "manual_review"

    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/versions/{version_id}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] in ("processing", "published")
    result = await client.get_workflow_handle(workflow_id).result()
    assert result["status"] == "published"
