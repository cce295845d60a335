"""Authorization matrix, the publisher's profile, modules and versions: the effect of every
allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_publisher_api.py.
"""

import contextlib
import hashlib

import pytest

from models import ModuleVersion
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.user import User
from tests import archives
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    Check,
    M,
    P,
    V,
    cells,
    reload,
)
from tests.test_authorization_matrix import MATRIX


async def check_publisher_registered(r, w, role, env):
    assert r.json()["display_name"].startswith("Matrix ")
    user = await reload(env, User, w.callers[role].id)
    assert user.role == ("admin" if role == "admin" else "publisher")


async def check_own_profile(r, w, role, env):
    assert r.json()["id"] == w.publisher_of(role).id


async def check_profile_updated(r, w, role, env):
    assert r.json()["id"] == w.publisher_of(role).id
    stored = await reload(env, Publisher, w.publisher_of(role).id)
    assert stored.bio == r.json()["bio"] and stored.bio.startswith("bio ")
    untouched = "other_publisher" if role == "owner" else "owner"
    assert (await reload(env, Publisher, w.publisher_of(untouched).id)).bio is None


async def check_verification_requested(r, w, role, env):
    assert r.json()["id"] == w.publisher_of(role).id
    assert r.json()["verification_requested_at"] is not None


async def check_module_list(r, w, role, env):
    ids = {m["id"] for m in r.json()["items"]}
    if role == "owner":
        assert ids == {w.draft.id, w.pending.id, w.private.id, w.released.id}
        assert r.json()["total"] == 4
    else:
        assert ids == set() and r.json()["total"] == 0, "another publisher's modules leaked"


async def check_module_created(r, w, role, env):
    assert r.json()["publisher_id"] == w.publisher_of(role).id
    assert r.json()["status"] == "draft"


async def check_module_read(r, w, role, env):
    assert r.json()["id"] == w.draft.id and r.json()["slug"] == w.draft.slug


async def check_module_updated(r, w, role, env):
    stored = await reload(env, MarketplaceModule, w.draft.id)
    assert stored.display_name == r.json()["display_name"]
    assert stored.display_name.startswith("Renamed ")


async def check_module_archived(r, w, role, env):
    assert r.json()["status"] == "archived"
    assert (await reload(env, MarketplaceModule, w.draft.id)).status == "archived"


async def check_submitted(r, w, role, env):
    workflow_id = f"review-{w.draft.slug}"
    try:
        assert r.json()["workflow_id"] == workflow_id
        assert r.json()["module"]["status"] == "pending"
        assert (await reload(env, MarketplaceModule, w.draft.id)).status == "pending"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        # Nobody will ever decide this review: the rows are rolled back.
        with contextlib.suppress(Exception):
            await env.temporal_client.get_workflow_handle(workflow_id).terminate("test done")


async def check_review_status(r, w, role, env):
    body = r.json()
    assert body["module_id"] == w.draft.id and body["status"] == "draft"
    assert body["workflow_id"] == f"review-{w.draft.slug}"


async def check_upload_accepted(r, w, role, env):
    workflow_id = f"ingest-{w.draft.slug}-1.0.0"
    staged = None
    try:
        body = r.json()
        assert body["workflow_id"] == workflow_id
        assert body["status_url"] == f"{M}/{w.draft.id}/versions/1.0.0"
        assert body["version"]["version"] == "1.0.0" and body["version"]["status"] == "processing"
        stored = await reload(env, ModuleVersion, body["version"]["id"])
        staged = stored.zip_file_url
        assert stored.module_id == w.draft.id and stored.uploaded_by == w.callers[role].id
        assert stored.release_notes == "From the matrix"
        sample = archives.sample_zip()
        assert stored.upload_sha256 == hashlib.sha256(sample).hexdigest()
        assert env.storage.path_for(staged).read_bytes() == sample, "the upload is staged"
        description = await env.temporal_client.get_workflow_handle(workflow_id).describe()
        assert description.status.name == "RUNNING"
    finally:
        # No worker serves this app's queue and the rows are rolled back: end the run.
        with contextlib.suppress(Exception):
            await env.temporal_client.get_workflow_handle(workflow_id).terminate("test done")
        if staged is not None:
            env.storage.delete(staged)


async def check_version_list(r, w, role, env):
    assert [v["id"] for v in r.json()] == [w.versions["0.9.0"].id]


async def check_version_read(r, w, role, env):
    body = r.json()
    assert body["id"] == w.versions["0.9.0"].id and body["module_id"] == w.draft.id
    assert body["status"] == "published" and body["sha256"] == w.archives["0.9.0"].sha256


async def check_version_notes(r, w, role, env):
    stored = await reload(env, ModuleVersion, w.versions["0.9.0"].id)
    assert stored.release_notes == r.json()["release_notes"]
    assert stored.release_notes.startswith("Notes ")


async def check_version_deprecated(r, w, role, env):
    assert r.json()["status"] == "deprecated" and r.json()["is_latest"] is False
    stored = await reload(env, ModuleVersion, w.versions["0.9.0"].id)
    assert stored.status == "deprecated" and stored.is_latest is False


CHECKS: dict[tuple[str, str], Check] = {
    ("POST", P + "/register"): check_publisher_registered,
    ("GET", P + "/profile"): check_own_profile,
    ("PUT", P + "/profile"): check_profile_updated,
    ("POST", P + "/verify"): check_verification_requested,
    ("GET", M): check_module_list,
    ("POST", M): check_module_created,
    ("GET", M + "/{module_id}"): check_module_read,
    ("PUT", M + "/{module_id}"): check_module_updated,
    ("DELETE", M + "/{module_id}"): check_module_archived,
    ("POST", M + "/{module_id}/submit"): check_submitted,
    ("GET", M + "/{module_id}/review"): check_review_status,
    ("POST", V): check_upload_accepted,
    ("GET", V): check_version_list,
    ("GET", V + "/{version}"): check_version_read,
    ("PUT", V + "/{version}"): check_version_notes,
    ("DELETE", V + "/{version}"): check_version_deprecated,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])
