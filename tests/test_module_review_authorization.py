"""Authorization matrix, the admins' queues of modules and versions to review, and their
decisions (by the review and ingestion workflows, on committed data with a worker): the
effect of every allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_review_workflow.py and test_ingestion_e2e.py.
"""

import asyncio
import contextlib

import pytest

from domain.modules import ModuleStatus
from integrations.storage import storage_key
from models import ModuleVersion
from models.module import MarketplaceModule
from tests import archives
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    A,
    Check,
    M,
    cells,
)
from tests.factories import unique
from tests.helpers import eventually
from tests.osv_fake import osv_fake
from tests.test_authorization_matrix import MATRIX
from worker import build_worker

WORKER_ROUTES = (A + "/modules/", A + "/versions/", A + "/revisions/")
"""The cells a worker decides, asked first: on committed data, which the module's
world (opened by the first cell after them) would keep them from truncating."""


@pytest.mark.workflow
@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, via_worker=True, under=A + "/modules/")))
async def test_access_decided_by_the_review_workflow(
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
    """Approve/reject really decide: run a worker that sees the committed rows."""
    assert role == "admin", "only an admin's decision should reach the workflow"
    admin = await make_committed.admin()
    _, publisher = await make_committed.publisher()
    pending = await make_committed.module(publisher, ModuleStatus.PENDING)
    await make_committed.version(pending)  # approval needs a version that passed the pipeline
    payload = {"note": "looks good"} if path.endswith("/approve") else {"reason": "no docs"}

    async with build_worker(temporal_dev.client, settings, committed):
        response = await committed_api.request(
            method,
            path.format(module_id=pending.id),
            as_user=admin,
            json=payload,
        )

    assert response.status_code == expected.status, response.text
    resulting = "published" if path.endswith("/approve") else "rejected"
    assert response.json()["module"]["status"] == resulting
    assert response.json()["workflow_id"] == f"review-{pending.slug}"
    stored = await make_committed.reload(MarketplaceModule, pending.id)
    assert stored.status == resulting and stored.reviewed_by == admin.id
    if resulting == "rejected":
        assert stored.rejection_reason == "no docs"


@pytest.mark.workflow
@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, via_worker=True, under=A + "/revisions/")))
async def test_access_decided_by_the_revision_review(
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
    """Approve/reject of a listing revision reach its review workflow, which applies it
    (or not) to the published module."""
    assert role == "admin", "only an admin's decision should reach the workflow"
    admin = await make_committed.admin()
    owner, publisher = await make_committed.publisher()
    module = await make_committed.module(publisher, ModuleStatus.PUBLISHED)
    approve = path.endswith("/approve")
    payload = {"note": "fine"} if approve else {"reason": "misleading"}

    async with build_worker(temporal_dev.client, settings, committed):
        proposed = await committed_api.request(
            "PUT", f"{M}/{module.id}", as_user=owner, json={"description": "New words."}
        )
        assert proposed.status_code == 202, proposed.text
        revision_id = proposed.json()["revision"]["id"]
        response = await committed_api.request(
            method, path.format(revision_id=revision_id), as_user=admin, json=payload
        )

    assert response.status_code == expected.status, response.text
    assert response.json()["revision"]["status"] == ("approved" if approve else "rejected")
    stored = await make_committed.reload(MarketplaceModule, module.id)
    assert stored.description == ("New words." if approve else module.description)


async def held_for_review(api, admin, version_id: int) -> dict:
    """Wait until the admin's queue shows the version (the pipeline has held it)."""

    async def in_queue() -> dict | None:
        queue = await api.request("GET", A + "/pending-versions", as_user=admin)
        assert queue.status_code == 200, queue.text
        return next((v for v in queue.json()["items"] if v["id"] == version_id), None)

    held = await eventually(in_queue)
    assert held, "the pipeline never held the version for review"
    return held


@pytest.mark.workflow
@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, via_worker=True, under=A + "/versions/")))
async def test_access_decided_in_manual_review(
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
    """Approve/reject of a version reach the ingestion workflow that holds it: the sample
    is uploaded to a published module while the vulnerability service is down, so the
    pipeline waits for a person; the admin decides, and the pipeline finishes."""
    assert role == "admin", "only an admin's decision should reach the workflow"
    admin = await make_committed.admin()
    owner, publisher = await make_committed.publisher()
    async with committed() as session:
        module = MarketplaceModule(
            publisher_id=publisher.id,
            technical_name=archives.TECHNICAL_NAME,
            slug=unique("hello"),  # workflow ids, built from it, outlive the rows
            display_name="Hello FastVue",
            short_description="A greeting widget for FastVue dashboards.",
            status=ModuleStatus.PUBLISHED,
        )
        session.add(module)
        await session.commit()
    approve = path.endswith("/approve")
    payload = {"note": "audited by hand"} if approve else {"reason": "no docs"}

    with osv_fake() as osv:
        osv.mode = "down"
        worker_settings = settings.model_copy(update={"osv_url": osv.url})
        async with build_worker(temporal_dev.client, worker_settings, committed):
            uploaded = await committed_api.request(
                "POST",
                f"{M}/{module.id}/versions",
                as_user=owner,
                files={"file": ("package.zip", archives.sample_zip(), "application/zip")},
            )
            assert uploaded.status_code == 202, uploaded.text
            version_id = uploaded.json()["version"]["id"]
            handle = temporal_dev.client.get_workflow_handle(uploaded.json()["workflow_id"])
            try:
                held = await held_for_review(committed_api, admin, version_id)
                response = await committed_api.request(
                    method, path.format(version_id=version_id), as_user=admin, json=payload
                )
                assert response.status_code == expected.status, response.text
                async with asyncio.timeout(60):
                    await handle.result()  # the pipeline ends, either way
            finally:
                with contextlib.suppress(Exception):
                    await handle.terminate("test done")

    assert [r["code"] for r in held["rejection_reasons"]] == ["audit_unavailable"]
    assert response.json()["version"]["id"] == version_id
    stored = await make_committed.reload(ModuleVersion, version_id)
    if approve:
        assert response.json()["status"] == "processing", "approved: the pipeline goes on"
        assert stored.status == "published" and stored.is_latest
        assert stored.rejection_reasons == [], "published: the hold reason is gone"
        assert stored.zip_file_url == storage_key(archives.TECHNICAL_NAME, "1.0.0")
        assert stored.signature and stored.signature_key_id
    else:
        assert response.json()["status"] == "rejected"
        assert response.json()["version"]["status"] == "rejected"
        assert stored.status == "rejected"
        reasons = stored.rejection_reasons
        assert [r["code"] for r in reasons] == ["audit_unavailable", "rejected_by_admin"]
        assert reasons[-1]["detail"] == "no docs"


# --- the cells on the world ---------------------------------------------------------


async def check_pending_queue(r, w, role, env):
    assert [m["id"] for m in r.json()["items"]] == [w.pending.id]


async def check_held_versions(r, w, role, env):
    body = r.json()
    assert [v["id"] for v in body["items"]] == [w.held.id] and body["total"] == 1
    assert [x["code"] for x in body["items"][0]["rejection_reasons"]] == ["audit_unavailable"]


async def check_pending_revisions(r, w, role, env):
    body = r.json()
    assert [v["id"] for v in body["items"]] == [w.revision.id] and body["total"] == 1
    assert body["items"][0]["changed_fields"] == ["description"]
    assert body["items"][0]["live"]["description"] == w.released.description


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", A + "/pending"): check_pending_queue,
    ("GET", A + "/pending-revisions"): check_pending_revisions,
    ("GET", A + "/pending-versions"): check_held_versions,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
