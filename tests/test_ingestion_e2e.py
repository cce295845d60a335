"""Version ingestion end to end: multipart upload → Temporal dev server → worker activities
(archive checks, manifest, hash, bandit, pip-audit against a local OSV, ECDSA signing,
storage, index) → Postgres; then download and check the signed statement with openssl."""

import base64
import hashlib
import subprocess
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from domain.module_signature import statement
from models.module import ModuleVersion
from models.platform import AuditLogEntry
from tests import archives
from tests.helpers import eventually, sample_listing
from tests.osv_fake import osv_fake
from worker import build_worker

pytestmark = pytest.mark.workflow

INSECURE_CODE = b"import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def osv():
    with osv_fake() as fake:
        yield fake


@pytest.fixture
async def worker(temporal_dev, settings, committed, osv):
    worker_settings = settings.model_copy(update={"osv_url": osv.url})
    async with build_worker(temporal_dev.client, worker_settings, committed) as running:
        yield running


@pytest.fixture
async def listing(committed_api, make_committed):
    """A publisher and its draft listing for the sample module's technical name; the slug
    is new each time, since workflow ids (built from it) outlive the test's rows."""
    owner, _ = await make_committed.publisher()
    return owner, await sample_listing(committed_api, owner)


async def upload(api, owner, module, data: bytes, **fields):
    return await api.request(
        "POST",
        f"/api/v1/publisher/modules/{module['id']}/versions",
        as_user=owner,
        files={"file": ("package.zip", data, "application/zip")},
        data=fields or None,
    )


async def finish(temporal_dev, accepted) -> None:
    handle = temporal_dev.client.get_workflow_handle(accepted["workflow_id"])
    await handle.result()


async def fetch(api, url: str) -> bytes:
    parts = urlsplit(url)
    response = await api.request("GET", f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    return response.content


async def test_sample_goes_from_upload_to_published_and_verifies_with_openssl(
    committed_api, listing, worker, temporal_dev, make_committed, tmp_path
):
    api = committed_api
    owner, module = listing
    data = archives.sample_zip()
    response = await upload(api, owner, module, data, release_notes="First release")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["workflow_id"] == f"ingest-{module['slug']}-1.0.0"
    assert accepted["version"]["status"] == "processing"
    await finish(temporal_dev, accepted)

    version = (await api.request("GET", accepted["status_url"], as_user=owner)).json()
    assert version["status"] == "published", version
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["size"] == len(data)
    assert version["is_latest"] is True
    assert version["audit_status"] == "clean"
    assert version["release_notes"] == "First release"
    assert version["min_fastvue_version"] == "2.0" and version["max_fastvue_version"] == "3"

    mine = await api.request("GET", f"/api/v1/publisher/modules/{module['id']}", as_user=owner)
    assert mine.json()["status"] == "pending", "a first version sends the draft to review"
    hidden = await api.request("GET", f"/api/v1/marketplace/modules/{module['slug']}/download")
    assert hidden.status_code == 404, "nobody downloads a module before it is approved"

    admin = await make_committed.admin()
    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module['id']}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text

    redirect = await api.request("GET", f"/api/v1/marketplace/modules/{module['slug']}/download")
    assert redirect.status_code == 307
    assert redirect.headers["x-checksum-sha256"] == version["sha256"]
    downloaded = await fetch(api, redirect.headers["location"])
    assert downloaded == data

    # The pipeline signs the statement naming this module, version and hash (format v2),
    # and the version's record shows what was signed.
    text = statement(
        slug=module["slug"],
        technical_name=archives.TECHNICAL_NAME,
        version="1.0.0",
        sha256=version["sha256"],
    )
    assert version["signature_format"] == "fastvue-module-signature/v2"
    assert version["signed_statement"] == text
    assert redirect.headers["x-signature-format"] == "fastvue-module-signature/v2"
    assert redirect.headers["x-signature"] == version["signature"]
    keys = (await api.request("GET", "/api/v1/marketplace/signing-keys")).json()
    key = next(k for k in keys if k["key_id"] == redirect.headers["x-signature-key-id"])
    (tmp_path / "module.zip").write_bytes(downloaded)
    (tmp_path / "statement.txt").write_text(text)
    (tmp_path / "pub.pem").write_text(key["public_key_pem"])
    (tmp_path / "sig.der").write_bytes(base64.b64decode(redirect.headers["x-signature"]))

    def openssl_verifies(message: str) -> bool:
        checked = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", message],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert checked.returncode in (0, 1), checked.stderr
        return checked.returncode == 0 and "Verified OK" in checked.stdout

    assert openssl_verifies("statement.txt")
    assert not openssl_verifies("module.zip"), "no longer a signature of the bytes alone"


async def test_a_repeated_upload_is_the_same_version_and_a_changed_one_is_refused(
    committed_api, listing, worker, temporal_dev
):
    api = committed_api
    owner, module = listing
    data = archives.sample_zip()
    first = (await upload(api, owner, module, data)).json()
    again = await upload(api, owner, module, data)
    assert again.status_code == 202
    assert again.json()["version"]["id"] == first["version"]["id"]
    await finish(temporal_dev, first)
    changed = archives.build_zip(
        [*archives.package_entries(), archives.Entry("hello_fastvue/extra.txt", b"more")]
    )
    refused = await upload(api, owner, module, changed)
    assert refused.status_code == 409
    assert refused.json()["error"] == "version_already_used"


async def rejection_code(api, owner, module, data, temporal_dev) -> str:
    response = await upload(api, owner, module, data)
    if response.status_code != 202:
        assert 400 <= response.status_code < 500, response.text
        return response.json()["error"]
    accepted = response.json()
    await finish(temporal_dev, accepted)
    version = (await api.request("GET", accepted["status_url"], as_user=owner)).json()
    assert version["status"] == "rejected", version
    return version["rejection_reasons"][0]["code"]


def with_insecure_code() -> bytes:
    return archives.build_zip(
        [*archives.package_entries(), archives.Entry("hello_fastvue/tools.py", INSECURE_CODE)]
    )


def with_vulnerable_dependency() -> bytes:
    manifest = archives.sample_manifest() | {"external_dependencies": {"insecure-package": ">=1.0"}}
    return archives.build_zip(archives.package_entries(manifest=manifest))


HOSTILE = [
    ("zip-slip", archives.zip_slip, "path_traversal"),
    ("absolute-path", archives.absolute_path, "absolute_path"),
    ("symlink", archives.symlink_entry, "symlink"),
    ("ratio-bomb", archives.ratio_bomb, "compression_ratio_exceeded"),
    ("declared-size-bomb", archives.declared_size_bomb, "too_large_uncompressed"),
    ("too-many-entries", archives.too_many_entries, "too_many_entries"),
    ("not-a-zip", archives.not_a_zip, "not_a_zip"),
    ("unicode-path-extra", archives.unicode_path_extra, "unicode_extra_field"),
    ("unicode-path-local-only", archives.unicode_path_extra_local_only, "unicode_extra_field"),
    ("nested-zip", archives.nested_archive("vendor.zip"), "nested_archive"),
    ("zip-named-txt", archives.disguised_nested_archive, "nested_archive"),
    ("shell-script", archives.disallowed_file_type, "disallowed_file_type"),
    ("truncated", archives.truncated_zip, "corrupt_archive"),
    ("missing-manifest", archives.missing_manifest, "manifest_missing"),
    ("malformed-manifest", archives.malformed_manifest, "manifest_not_json"),
    ("name-mismatch", archives.wrong_technical_name_manifest, "technical_name_mismatch"),
    ("non-semver", archives.non_semver_manifest, "version_not_semver"),
    ("insecure-code", with_insecure_code, "insecure_code"),
    ("vulnerable-dependency", with_vulnerable_dependency, "vulnerable_dependency"),
]


@pytest.mark.parametrize(
    ("build", "code"), [(b, c) for _, b, c in HOSTILE], ids=[i for i, _, _ in HOSTILE]
)
async def test_hostile_archives_are_rejected_with_their_own_reason(
    committed_api, listing, worker, temporal_dev, committed, build, code
):
    owner, module = listing
    assert await rejection_code(committed_api, owner, module, build(), temporal_dev) == code
    async with committed() as session:
        published = await session.scalar(
            select(func.count())
            .select_from(ModuleVersion)
            .where(ModuleVersion.status == "published")
        )
    assert published == 0


async def test_an_unreachable_audit_holds_the_version_until_an_admin_lets_it_through(
    committed_api, listing, worker, temporal_dev, make_committed, committed, osv
):
    api = committed_api
    owner, module = listing
    osv.mode = "down"
    accepted = (await upload(api, owner, module, archives.sample_zip())).json()
    admin = await make_committed.admin()

    async def held():
        queue = await api.request(
            "GET", "/api/v1/admin/marketplace/pending-versions", as_user=admin
        )
        return queue.json()["items"]

    items = await eventually(held)
    assert [i["id"] for i in items] == [accepted["version"]["id"]]
    assert [r["code"] for r in items[0]["rejection_reasons"]] == ["audit_unavailable"]
    mine = (await api.request("GET", accepted["status_url"], as_user=owner)).json()
    assert mine["status"] == "manual_review" and mine["progress"]["step"] == "manual_review"

    approved = await api.request(
        "POST",
        f"/api/v1/admin/marketplace/versions/{accepted['version']['id']}/approve",
        as_user=admin,
        json={"note": "the dependency is fine"},
    )
    assert approved.status_code == 200, approved.text
    await finish(temporal_dev, accepted)
    final = (await api.request("GET", accepted["status_url"], as_user=owner)).json()
    assert final["status"] == "published"
    assert final["rejection_reasons"] == [], "the hold reason does not outlive the approval"
    async with committed() as session:
        stored = await session.get(ModuleVersion, accepted["version"]["id"])
        assert stored.rejection_reasons == []
        actors = (
            (
                await session.execute(
                    select(AuditLogEntry.actor_id).where(
                        AuditLogEntry.action == "version.review_approve"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert actors == [admin.id]


async def test_an_update_publishes_alone_unless_it_adds_something_then_it_is_held(
    committed_api, listing, worker, temporal_dev, make_committed
):
    api = committed_api
    owner, module = listing
    admin = await make_committed.admin()

    def release(version: str, **changes) -> bytes:
        manifest = archives.sample_manifest() | {"version": version, **changes}
        return archives.build_zip(archives.package_entries(manifest=manifest))

    async def ingest(data: bytes) -> dict:
        response = await upload(api, owner, module, data)
        assert response.status_code == 202, response.text
        return response.json()

    first = await ingest(release("1.0.0"))
    await finish(temporal_dev, first)
    approved = await api.request(
        "POST", f"/api/v1/admin/marketplace/modules/{module['id']}/approve", as_user=admin
    )
    assert approved.status_code == 200, approved.text

    clean = await ingest(release("1.1.0"))
    await finish(temporal_dev, clean)
    status = (await api.request("GET", clean["status_url"], as_user=owner)).json()
    assert status["status"] == "published", status

    deps = archives.sample_manifest()["external_dependencies"] | {"anyio": ">=4.0"}
    grown = await ingest(release("1.2.0", external_dependencies=deps))

    async def held():
        mine = (await api.request("GET", grown["status_url"], as_user=owner)).json()
        return mine if mine["status"] == "manual_review" else None

    mine = await eventually(held)
    assert mine, "1.2.0 adds a dependency and waits for an admin"
    assert [r["code"] for r in mine["rejection_reasons"]] == ["new_dependency"]
    assert mine["rejection_reasons"][0]["data"] == {"dependencies": ["python:anyio"]}
