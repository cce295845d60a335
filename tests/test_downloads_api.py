"""Downloading free modules: short-lived signed links, exact versions, what stays hidden."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from domain.modules import ModuleStatus
from integrations.download_links import LinkClaims
from integrations.storage import S3Storage
from models.analytics import ModuleDownload
from models.module import MarketplaceModule, ModuleVersion
from tests.helpers import clear_of_the_turn, replaced_adapters

BYTES = {"1.0.0": b"release one", "0.9.0": b"older release"}


@pytest.fixture
async def catalogue(api, make, db):
    """A published free module with a latest, a deprecated, an in-pipeline and a rejected
    version; the downloadable ones have objects in the app's storage."""
    owner, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    storage = api.http._transport.app.state.adapters.storage
    rows = [
        ("1.0.0", "published", True),
        ("0.9.0", "deprecated", False),
        ("1.1.0", "processing", False),
        ("0.8.0", "rejected", False),
    ]
    async with db() as session:
        for number, status, latest in rows:
            key = f"modules/{module.technical_name}/{number}/{module.technical_name}-{number}.zip"
            data = BYTES.get(number)
            if data is not None:
                path = api.settings.data_dir / f"{number}.zip"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                storage.put_file(key, path)
            session.add(
                ModuleVersion(
                    module_id=module.id,
                    version=number,
                    zip_file_url=key,
                    zip_file_hash=hashlib.sha256(data).hexdigest() if data else None,
                    zip_file_size=len(data) if data else None,
                    signature="c2lnbmF0dXJl" if data else None,
                    signature_key_id="0123456789abcdef" if data else None,
                    status=status,
                    is_latest=latest,
                    published_at=datetime.now(UTC) if data else None,
                )
            )
        await session.commit()
    return owner, module


async def fetch(api, url: str):
    """GET ``url`` on the app, following its redirects (a download link leads to the file)."""
    for _ in range(5):
        parts = urlsplit(url)
        response = await api.request("GET", f"{parts.path}?{parts.query}")
        if response.status_code != 307:
            return response
        url = response.headers["location"]
    raise AssertionError(f"too many redirects from {url}")


async def test_latest_release_redirects_to_a_link_that_serves_the_exact_bytes(api, catalogue, db):
    _, module = catalogue
    response = await api.request("GET", f"/api/v1/marketplace/modules/{module.slug}/download")
    assert response.status_code == 307
    assert response.headers["x-module-version"] == "1.0.0"
    assert response.headers["x-checksum-sha256"] == hashlib.sha256(BYTES["1.0.0"]).hexdigest()
    assert response.headers["x-signature-key-id"] == "0123456789abcdef"
    served = await fetch(api, response.headers["location"])
    assert served.status_code == 200 and served.content == BYTES["1.0.0"]
    assert "attachment" in served.headers["content-disposition"]
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ModuleDownload)) == 1
        stored = await session.get(MarketplaceModule, module.id, populate_existing=True)
        assert stored.download_count == 1


async def test_deprecated_versions_download_by_exact_number_unpublished_ones_never(api, catalogue):
    _, module = catalogue
    base = f"/api/v1/marketplace/modules/{module.slug}/download"
    old = await api.request("GET", f"{base}/0.9.0", params={"redirect": "false"})
    assert old.status_code == 200
    assert (await fetch(api, old.json()["url"])).content == BYTES["0.9.0"]
    for hidden in ("1.1.0", "0.8.0", "9.9.9"):
        response = await api.request("GET", f"{base}/{hidden}")
        assert response.status_code == 404, hidden
        assert response.json()["error"] == "version_not_found"


async def test_a_tampered_or_expired_file_link_is_refused(api, catalogue):
    _, module = catalogue
    link = (
        await api.request("GET", f"/api/v1/marketplace/modules/{module.slug}/download")
    ).headers["location"]
    parts = urlsplit(link)
    assert parts.path.startswith("/api/v1/marketplace/files/")
    query = parse_qs(parts.query)
    expires, signature = query["expires"][0], query["signature"][0]
    forged = "0" * len(signature)
    bad = await api.request("GET", parts.path, params={"expires": expires, "signature": forged})
    assert bad.status_code == 403 and bad.json()["error"] == "download_link_invalid"
    longer = await api.request(
        "GET", parts.path, params={"expires": int(expires) + 3600, "signature": signature}
    )
    assert longer.status_code == 403, "the expiry is part of what is signed"
    storage = api.http._transport.app.state.adapters.storage
    key = parts.path.removeprefix("/api/v1/marketplace/files/")
    past = int(datetime.now(UTC).timestamp()) - 1
    expired = await api.request(
        "GET", parts.path, params={"expires": past, "signature": storage._sign(key, past)}
    )
    assert expired.status_code == 403
    other = await api.request(
        "GET",
        parts.path.replace("1.0.0", "0.9.0"),
        params={"expires": expires, "signature": signature},
    )
    assert other.status_code == 403, "a link opens only the file it was made for"


async def test_a_tampered_or_expired_download_link_is_refused_and_counts_nothing(
    api, make, catalogue, db
):
    """The JSON answer's link is ours: every part of it is signed (version, user, license,
    expiry), and a refused one neither counts nor leads to the file."""
    _, module = catalogue
    reader = await make.user()
    answer = await api.request(
        "GET",
        f"/api/v1/marketplace/modules/{module.slug}/download",
        as_user=reader,
        params={"redirect": "false"},
    )
    parts = urlsplit(answer.json()["url"])
    assert parts.path.startswith("/api/v1/marketplace/fetch/")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["user"] == str(reader.id)
    other_version = await _version_id(db, module, "0.9.0")
    past = int(datetime.now(UTC).timestamp()) - 1
    links = api.http._transport.app.state.adapters.download_links
    expired = links.url(
        LinkClaims(int(parts.path.rsplit("/", 1)[1]), reader.id, None),
        now=datetime.now(UTC) - timedelta(hours=1),
        expires_in=timedelta(minutes=5),
    )
    for path, params in [
        (parts.path, query | {"signature": "0" * 64}),
        (parts.path, query | {"expires": str(int(query["expires"]) + 3600)}),
        (parts.path, query | {"user": "0"}),
        (parts.path, query | {"license": "7"}),
        (f"/api/v1/marketplace/fetch/{other_version}", query),
        (parts.path, query | {"expires": str(past)}),
        (urlsplit(expired).path, {k: v[0] for k, v in parse_qs(urlsplit(expired).query).items()}),
    ]:
        refused = await api.request("GET", path, params=params)
        assert refused.status_code == 403, (path, params)
        assert refused.json()["error"] == "download_link_invalid"
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(ModuleDownload)) == 0

    followed = await fetch(api, answer.json()["url"])
    assert followed.status_code == 200 and followed.content == BYTES["1.0.0"]
    async with db() as session:
        [row] = (await session.execute(select(ModuleDownload))).scalars()
        assert row.user_id == reader.id, "counted for the user the link was made for"


async def _version_id(db, module, number: str) -> int:
    async with db() as session:
        return await session.scalar(
            select(ModuleVersion.id).where(
                ModuleVersion.module_id == module.id, ModuleVersion.version == number
            )
        )


async def test_unpublished_modules_are_hidden_and_paid_ones_need_a_license(
    api, make, catalogue, db
):
    owner, module = catalogue
    async with db() as session:
        row = await session.get(MarketplaceModule, module.id)
        row.status = ModuleStatus.PENDING
        await session.commit()
    url = f"/api/v1/marketplace/modules/{module.slug}/download"
    assert (await api.request("GET", url)).status_code == 404
    assert (await api.request("GET", url, as_user=owner)).status_code == 307
    async with db() as session:
        row = await session.get(MarketplaceModule, module.id)
        row.status = ModuleStatus.PUBLISHED
        row.license_type = "paid"
        row.price = Decimal("10.00")
        await session.commit()
    consumer = await make.user()
    paid = await api.request("GET", url, as_user=consumer)
    assert paid.status_code == 403 and paid.json()["error"] == "license_required"
    assert (await api.request("GET", url, as_user=owner)).status_code == 307


# --- S3: the file comes from the object store, the count from our link ----------------------


@pytest.fixture
def s3_storage():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    storage = S3Storage(client, f"archives-{uuid.uuid4().hex[:12]}")
    storage.ensure_bucket()
    yield storage
    server.stop()


async def test_with_s3_a_download_counts_when_our_link_is_followed_not_when_minted(
    api, make, db, s3_storage, tmp_path
):
    """Object-store links are presigned and never pass through the API, so the count is
    taken on our own link's hop: minting links counts nothing, following one counts once
    a day per user and redirects to the presigned URL, which serves the bytes."""
    await clear_of_the_turn(timedelta(days=1), margin=60)
    _, publisher = await make.publisher()
    module = await make.module(publisher, status=ModuleStatus.PUBLISHED)
    data = b"stored in S3"
    key = f"modules/{module.technical_name}/1.0.0/{module.technical_name}-1.0.0.zip"
    (tmp_path / "a.zip").write_bytes(data)
    s3_storage.put_file(key, tmp_path / "a.zip")
    async with db() as session:
        session.add(
            ModuleVersion(
                module_id=module.id,
                version="1.0.0",
                zip_file_url=key,
                zip_file_hash=hashlib.sha256(data).hexdigest(),
                zip_file_size=len(data),
                signature="c2lnbmF0dXJl",
                signature_key_id="0123456789abcdef",
                status="published",
                is_latest=True,
                published_at=datetime.now(UTC),
            )
        )
        await session.commit()
    first, second = await make.user(), await make.user()
    url = f"/api/v1/marketplace/modules/{module.slug}/download"
    app = api.http._transport.app

    async def downloads() -> int:
        async with db() as session:
            return await session.scalar(
                select(func.count())
                .select_from(ModuleDownload)
                .where(ModuleDownload.module_id == module.id)
            )

    with replaced_adapters(app, storage=s3_storage):
        links = []
        for _ in range(20):
            minted = await api.request("GET", url, as_user=first, params={"redirect": "false"})
            assert minted.status_code == 200, minted.text
            links.append(minted.json()["url"])
        assert await downloads() == 0

        for link in links[:2]:
            parts = urlsplit(link)
            hop = await api.request("GET", f"{parts.path}?{parts.query}")
            assert hop.status_code == 307
            presigned = hop.headers["location"]
            assert presigned.startswith(s3_storage.client.meta.endpoint_url)
            async with httpx.AsyncClient() as outside:
                assert (await outside.get(presigned)).content == data
        assert await downloads() == 1, "the same user twice the same day"

        direct = await api.request("GET", url, as_user=second)
        assert direct.status_code == 307
        assert direct.headers["location"].startswith(s3_storage.client.meta.endpoint_url)
        assert await downloads() == 2, "another user"
