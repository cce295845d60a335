"""Authorization matrix, downloads, signed file links and the signing keys, of the released
module and (``UNPUBLISHED_DOWNLOADS``) of the unpublished draft: the effect of every
allowed cell of these routes. The table (and every refused cell) is in
``test_authorization_matrix``; the world the cells run in, built once for this module
with each cell in a savepoint of it, in ``tests.authorization_world``. Beside
test_downloads_api.py.
"""

from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from integrations.signing import verify_with_public_pem
from models import ModuleDownload, ModuleVersion
from models.module import MarketplaceModule
from tests.authorization_fixtures import *  # noqa: F403  (the cells' fixtures)
from tests.authorization_world import (
    CELL_ARGS,
    DL,
    FETCH,
    FILES,
    Check,
    D,
    cells,
    reload,
    signed_link,
)
from tests.test_authorization_matrix import MATRIX, UNPUBLISHED_DOWNLOADS


async def check_download(r, w, role, env):
    """The link (a redirect, or JSON) names the version asked for and its hash and
    signature, leads to its bytes without any credential, and the download is counted
    once, for the caller (the redirect when it is answered, a JSON link when followed)."""
    _, _, tail = r.request.url.path.partition("/modules/")
    slug, _, number = tail.partition("/download")
    module = {w.released.slug: w.released, w.draft.slug: w.draft}[slug]
    number = number.lstrip("/") or ("1.2.0" if module is w.released else "0.9.0")
    archive, version = w.archives[number], w.versions[number]
    if r.status_code == 307:
        assert r.headers["cache-control"] == "no-store"
        link = {
            "url": r.headers["location"],
            "version": r.headers["x-module-version"],
            "sha256": r.headers["x-checksum-sha256"],
            "signature": r.headers["x-signature"],
            "signature_key_id": r.headers["x-signature-key-id"],
        }
    else:
        link = r.json()
        assert link["size"] == len(archive.data) and link["expires_in_seconds"] > 0
    assert link["version"] == number
    assert (link["sha256"], link["signature"], link["signature_key_id"]) == (
        archive.sha256,
        archive.signature,
        archive.key_id,
    )
    url = link["url"]
    for _ in range(3):  # a JSON link is ours: following it is the download, then the file
        parts = urlsplit(url)
        fetched = await env.api.request("GET", f"{parts.path}?{parts.query}")
        if fetched.status_code != 307:
            break
        url = fetched.headers["location"]
    assert fetched.status_code == 200 and fetched.content == archive.data, fetched.text
    async with env.make.sessions() as session:
        users = await session.scalars(
            select(ModuleDownload.user_id).where(ModuleDownload.version_id == version.id)
        )
        assert list(users) == [w.callers[role].id if w.callers[role] else None]
    assert (await reload(env, MarketplaceModule, module.id)).download_count == 1
    assert (await reload(env, ModuleVersion, version.id)).download_count == 1


async def check_file_served(r, w, role, env):
    """A valid link gives anyone the bytes; no credential makes up for a tampered one."""
    archive = w.archives["1.2.0"]
    assert r.content == archive.data and r.headers["content-type"] == "application/zip"
    name = archive.key.rsplit("/", 1)[-1]
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    path, _, query = w.files_link.partition("?")
    valid = dict(parse_qsl(query))
    another = dict(parse_qsl(signed_link(env.storage, w.archives["1.1.0"]).partition("?")[2]))
    for forged in (
        {**valid, "signature": valid["signature"][::-1]},
        {**valid, "expires": str(int(valid["expires"]) + 3600)},
        another,  # signed, but for another archive
    ):
        refused = await env.api.request("GET", path, as_user=w.callers[role], params=forged)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "download_link_invalid"


async def check_download_link_followed(r, w, role, env):
    """Following our link counts the download once, for whom it was made (nobody: the
    client address), and leads to the file; no credential makes up for a tampered link."""
    archive, version = w.archives["1.2.0"], w.versions["1.2.0"]
    assert r.headers["x-checksum-sha256"] == archive.sha256
    parts = urlsplit(r.headers["location"])
    assert parts.path.startswith(FILES.removesuffix("{key:path}"))
    served = await env.api.request("GET", f"{parts.path}?{parts.query}")
    assert served.status_code == 200 and served.content == archive.data
    async with env.make.sessions() as session:
        counted = list(
            await session.execute(
                select(ModuleDownload.user_id, ModuleDownload.ip_address).where(
                    ModuleDownload.version_id == version.id
                )
            )
        )
    assert [tuple(row) for row in counted] == [(None, "127.0.0.1")]
    path, _, query = w.fetch_link.partition("?")
    valid = dict(parse_qsl(query))
    caller = w.callers[role]
    for forged in (
        {**valid, "signature": valid["signature"][::-1]},
        {**valid, "expires": str(int(valid["expires"]) + 3600)},
        {**valid, "user": str(caller.id if caller else 1)},  # claiming it for someone
    ):
        refused = await env.api.request("GET", path, as_user=caller, params=forged)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "download_link_invalid"
    assert (await reload(env, ModuleVersion, version.id)).download_count == 1


async def check_signing_keys(r, w, role, env):
    """The key that signed the archives is listed, and its public key verifies them."""
    assert "PRIVATE" not in r.text
    archive = w.archives["1.2.0"]
    key = {k["key_id"]: k for k in r.json()}[archive.key_id]
    assert key["status"] == "current" and key["algorithm"] == "ecdsa-p256-sha256"
    stored = env.storage.path_for(archive.key)
    assert verify_with_public_pem(stored, archive.signature, key["public_key_pem"])


CHECKS: dict[tuple[str, str], Check] = {
    ("GET", DL): check_download,
    ("GET", DL + "/{version}"): check_download,
    ("GET", FILES): check_file_served,
    ("GET", FETCH): check_download_link_followed,
    ("GET", D + "/signing-keys"): check_signing_keys,
}


@pytest.mark.parametrize(CELL_ARGS, list(cells(MATRIX, allowed=True, routes=CHECKS)))
async def test_access(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)])


@pytest.mark.parametrize(CELL_ARGS, list(cells(UNPUBLISHED_DOWNLOADS, allowed=True, routes=CHECKS)))
async def test_download_of_an_unpublished_module(cell, method, path, role, expected):
    await cell.ask(method, path, role, expected, CHECKS[(method, path)], downloads_of="draft")
