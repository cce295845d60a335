"""A published module's listing changes wait for review; the old text stays live.

The attack: a PUT on a published module changed its description to phishing text and it
stayed published, unreviewed. Now the change is a pending revision (202): the public page
and search keep the old text until an admin approves it through the revision's review
workflow (HTTP API → Temporal dev server → worker → Postgres)."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from domain import processes
from domain.decisions import DecisionAction, DecisionSubject
from domain.listing import REVIEWED_FIELDS, reviewed_changes
from domain.modules import ModuleStatus
from models.module import MarketplaceModule
from models.platform import NotificationOutbox
from models.repositories import audit
from tests.helpers import eventually
from worker import build_worker

PUBLIC = "/api/v1/marketplace/modules"
SEARCH = "/api/v1/marketplace/search"
ADMIN = "/api/v1/admin/marketplace"
PHISHING = "Your license expired: re-enter your card at http://evil.example/verify"


def test_only_changed_reviewed_fields_need_review():
    live = {"display_name": "Shop", "description": "Old", "tags": ["a"], "category_id": None}
    changes = {"display_name": "Shop", "description": "New", "tags": ["a", "b"], "price": "5"}
    assert reviewed_changes(live, changes) == {"description": "New", "tags": ["a", "b"]}
    assert "price" not in REVIEWED_FIELDS and "visibility" not in REVIEWED_FIELDS


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


async def published_module(make_committed):
    owner, publisher = await make_committed.publisher()
    module = await make_committed.module(
        publisher,
        status=ModuleStatus.PUBLISHED,
        description="Adds a loyalty programme to the shop.",
        license_type="paid",
        price=Decimal("10.00"),
    )
    await make_committed.version(module)
    return owner, module


async def public_page(api, module) -> dict:
    page = await api.request("GET", f"{PUBLIC}/{module.slug}")
    assert page.status_code == 200, page.text
    return page.json()


async def found_by(api, words: str) -> list[str]:
    answer = await api.request("GET", SEARCH, params={"q": words})
    assert answer.status_code == 200, answer.text
    return [item["slug"] for item in answer.json()["items"]]


async def propose(api, owner, module, **changes):
    return await api.request(
        "PUT", f"/api/v1/publisher/modules/{module.id}", as_user=owner, json=changes
    )


@pytest.mark.workflow
async def test_a_published_listing_change_waits_for_approval_then_goes_live(
    committed_api, make_committed, worker
):
    api = committed_api
    owner, module = await published_module(make_committed)
    admin = await make_committed.admin()

    changed = await propose(api, owner, module, description=PHISHING, price="12.50")
    assert changed.status_code == 202, changed.text
    body = changed.json()
    assert body["module"]["description"] == "Adds a loyalty programme to the shop."
    assert body["module"]["price"] == "12.50", "prices change at once"
    revision = body["revision"]
    assert (revision["status"], revision["changed_fields"]) == ("pending", ["description"])
    assert revision["changes"]["description"] == PHISHING

    assert (await public_page(api, module))["description"] == (
        "Adds a loyalty programme to the shop."
    )
    assert module.slug not in await found_by(api, "expired card")
    assert module.slug in await found_by(api, "loyalty")
    mine = await api.request("GET", body["status_url"], as_user=owner)
    assert mine.status_code == 200 and mine.json()["id"] == revision["id"]

    queue = await api.request("GET", f"{ADMIN}/pending-revisions", as_user=admin)
    assert queue.status_code == 200, queue.text
    [item] = queue.json()["items"]
    assert item["id"] == revision["id"] and item["module_slug"] == module.slug
    assert item["live"]["description"] == "Adds a loyalty programme to the shop."

    approved = await api.request(
        "POST", f"{ADMIN}/revisions/{revision['id']}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["revision"]["status"] == "approved"
    assert (await public_page(api, module))["description"] == PHISHING
    assert module.slug in await eventually(lambda: found_by(api, "expired card"))
    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert (stored.status, stored.price) == (ModuleStatus.PUBLISHED, Decimal("12.50"))
    queue = await api.request("GET", f"{ADMIN}/pending-revisions", as_user=admin)
    assert queue.json()["total"] == 0


@pytest.mark.workflow
async def test_a_rejected_change_keeps_the_old_text_and_tells_the_publisher_why(
    committed_api, make_committed, committed, worker, temporal_dev
):
    api = committed_api
    owner, module = await published_module(make_committed)
    admin = await make_committed.admin()
    revision = (await propose(api, owner, module, display_name="Free Gift Cards")).json()[
        "revision"
    ]

    # Sent straight to Temporal, a reference to another subject's request is refused.
    async with committed.begin() as session:
        for_module = await audit.record_decision_request(
            session,
            admin_id=admin.id,
            subject=DecisionSubject.MODULE,
            entity_id=module.id,
            action=DecisionAction.APPROVE,
            reason=None,
        )
    handle = temporal_dev.client.get_workflow_handle(revision["workflow_id"])
    with pytest.raises(WorkflowUpdateFailedError) as forged:
        await handle.execute_update(
            processes.ListingRevisionReview.DECIDE, {"admin_id": admin.id, "audit_id": for_module}
        )
    assert forged.value.cause.type == "decision_reference_mismatch"
    assert (await public_page(api, module))["display_name"] == module.display_name

    rejected = await api.request(
        "POST",
        f"{ADMIN}/revisions/{revision['id']}/reject",
        as_user=admin,
        json={"reason": "The name promises something the module does not do."},
    )
    assert rejected.status_code == 200, rejected.text
    assert (await public_page(api, module))["display_name"] == module.display_name
    assert module.slug not in await found_by(api, "gift cards")
    mine = (
        await api.request("GET", f"/api/v1/publisher/modules/{module.id}/revision", as_user=owner)
    ).json()
    assert mine["status"] == "rejected"
    assert mine["rejection_reason"] == "The name promises something the module does not do."

    async def mailed():
        async with committed() as session:
            rows = await session.execute(
                select(NotificationOutbox).where(
                    NotificationOutbox.kind == "listing_revision_rejected"
                )
            )
            return list(rows.scalars())

    [mail] = await eventually(mailed)
    assert mail.to_email == owner.email
    assert "does not do" in mail.body


@pytest.mark.workflow
async def test_a_new_edit_replaces_the_pending_revision(committed_api, make_committed, worker):
    api = committed_api
    owner, module = await published_module(make_committed)
    admin = await make_committed.admin()
    first = (await propose(api, owner, module, description="Version one.")).json()["revision"]
    again = await propose(api, owner, module, description="Version one.")
    assert again.status_code == 202 and again.json()["revision"]["id"] == first["id"]

    second = await propose(api, owner, module, tags=["loyalty"])
    assert second.status_code == 202, second.text
    replacement = second.json()["revision"]
    assert replacement["id"] != first["id"]
    assert replacement["changed_fields"] == ["description", "tags"], "merged over the first"

    stale = await api.request("POST", f"{ADMIN}/revisions/{first['id']}/approve", as_user=admin)
    assert stale.status_code == 409
    assert stale.json()["error"] == "revision_not_pending"
    assert (await public_page(api, module))["description"] == module.description

    approved = await api.request(
        "POST", f"{ADMIN}/revisions/{replacement['id']}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text
    page = await public_page(api, module)
    assert (page["description"], page["tags"]) == ("Version one.", ["loyalty"])


async def test_a_draft_still_changes_at_once(api, make):
    owner, publisher = await make.publisher()
    module = await make.module(publisher)
    changed = await api.request(
        "PUT",
        f"/api/v1/publisher/modules/{module.id}",
        as_user=owner,
        json={"description": "Edited while a draft."},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "Edited while a draft."
    none = await api.request(
        "GET", f"/api/v1/publisher/modules/{module.id}/revision", as_user=owner
    )
    assert none.status_code == 404 and none.json()["error"] == "no_revision"
