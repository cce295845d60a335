"""Object storage: the local directory backend (key confinement, signed expiring URLs) and
the S3 backend against a real moto server over HTTP."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from integrations.storage import (
    LocalStorage,
    ObjectNotFoundError,
    S3Storage,
    attachment_disposition,
    build_storage,
    storage_key,
)

SECRET = b"s" * 32
BASE_URL = "https://market.example"
KEY = storage_key("hello_fastvue", "1.2.0")

HOSTILE_KEYS = [
    "../outside.zip",
    "modules/../../outside.zip",
    "modules/..",
    "/etc/passwd",
    "modules\\..\\outside.zip",
    "..\\outside.zip",
    "C:/outside.zip",
    "modules//x.zip",
    "modules/./x.zip",
    "modules/x.zip/",
    ".hidden",
    "modules/x\x00.zip",
    "modules/x\n.zip",
    "",
    "a" * 300,  # one segment too long
    "/".join(["a" * 200] * 6),  # whole key too long
]


def _archive(tmp_path: Path, content: bytes, name: str = "upload.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _query(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=True)
    return parts.path, int(query["expires"][0]), query["signature"][0]


@pytest.fixture
def local(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage", BASE_URL + "/", SECRET)


def test_storage_key_layout():
    assert KEY == "modules/hello_fastvue/1.2.0/hello_fastvue-1.2.0.zip"
    assert storage_key("m", "1.0.0-rc.1+build.5").endswith("/m-1.0.0-rc.1+build.5.zip")
    with pytest.raises(ValueError):
        storage_key("../evil", "1.0.0")


def test_local_put_is_idempotent_and_replaces_changed_bytes(local, tmp_path):
    source = _archive(tmp_path, b"PK archive bytes")
    local.put_file(KEY, source)
    stored = local.path_for(KEY)
    first = stored.stat()

    local.put_file(KEY, source)

    assert stored.stat().st_ino == first.st_ino  # not rewritten
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]  # no temp leftovers
    assert local.exists(KEY) and local.size(KEY) == len(b"PK archive bytes")

    local.put_file(KEY, _archive(tmp_path, b"PK other bytes!!", "other.zip"))  # same size
    assert stored.read_bytes() == b"PK other bytes!!"
    assert [p.name for p in stored.parent.iterdir()] == [stored.name]


def test_local_stream_and_delete(local, tmp_path, monkeypatch):
    monkeypatch.setattr("integrations.storage.CHUNK_SIZE", 4)
    local.put_file(KEY, _archive(tmp_path, b"0123456789"))

    assert list(local.open_stream(KEY)) == [b"0123", b"4567", b"89"]

    local.delete(KEY)
    local.delete(KEY)  # absent is fine
    assert not local.exists(KEY) and local.size(KEY) is None
    with pytest.raises(ObjectNotFoundError):
        local.open_stream(KEY)
    with pytest.raises(ObjectNotFoundError):
        local.open_stream("modules")  # a directory is not an object


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_local_refuses_keys_that_could_escape(local, tmp_path, key):
    source = _archive(tmp_path, b"x")
    for call in (
        lambda: local.path_for(key),
        lambda: local.put_file(key, source),
        lambda: local.exists(key),
        lambda: local.delete(key),
        lambda: local.download_url(key, expires_in=timedelta(minutes=5), filename="x.zip"),
    ):
        with pytest.raises(ValueError):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.zip"]


def test_local_refuses_a_symlink_out_of_the_root(local, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    local.root.mkdir()
    (local.root / "modules").symlink_to(outside)

    with pytest.raises(ValueError, match="leaves the storage root"):
        local.put_file(KEY, _archive(tmp_path, b"x"))
    assert list(outside.iterdir()) == []


def test_local_signed_url_verifies_and_tampering_is_refused(local):
    before = int(datetime.now(UTC).timestamp())
    url = local.download_url(KEY, expires_in=timedelta(minutes=10), filename="hello.zip")
    path, expires, signature = _query(url)

    assert url.startswith(f"{BASE_URL}/api/v1/marketplace/files/")
    assert unquote(path.removeprefix("/api/v1/marketplace/files/")) == KEY
    assert before + 600 <= expires <= before + 601

    now = datetime.now(UTC)
    assert local.verify_download(KEY, expires, signature, now)

    other_key = storage_key("hello_fastvue", "1.2.1")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not local.verify_download(other_key, expires, signature, now)
    assert not local.verify_download(KEY, expires + 3600, signature, now)
    assert not local.verify_download(KEY, expires, flipped, now)
    assert not local.verify_download(KEY, expires, signature.upper(), now)
    assert not local.verify_download(KEY, expires, "", now)
    assert not local.verify_download(KEY, expires, "é" * 64, now)
    assert not local.verify_download("../" + KEY, expires, signature, now)

    other_secret = LocalStorage(local.root, BASE_URL, b"t" * 32)
    assert not other_secret.verify_download(KEY, expires, signature, now)


def test_local_signed_url_expires(local):
    url = local.download_url(KEY, expires_in=timedelta(seconds=30), filename="hello.zip")
    _, expires, signature = _query(url)
    at_expiry = datetime.fromtimestamp(expires, UTC)

    assert local.verify_download(KEY, expires, signature, at_expiry)
    assert not local.verify_download(KEY, expires, signature, at_expiry + timedelta(seconds=1))
    with pytest.raises(ValueError, match="timezone"):
        local.verify_download(KEY, expires, signature, datetime.now())
    with pytest.raises(ValueError):
        local.download_url(KEY, expires_in=timedelta(0), filename="x.zip")


def test_local_refuses_a_short_secret(tmp_path):
    with pytest.raises(ValueError, match="32 bytes"):
        LocalStorage(tmp_path, BASE_URL, b"short")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("hello-1.2.0.zip", 'attachment; filename="hello-1.2.0.zip"'),
        (
            'a"b\r\nSet-Cookie: x.zip',
            'attachment; filename="a_bSet-Cookie__x.zip"; '
            "filename*=UTF-8''a%22bSet-Cookie%3A%20x.zip",
        ),
        ("../../été.zip", "attachment; filename=\"_t_.zip\"; filename*=UTF-8''%C3%A9t%C3%A9.zip"),
    ],
)
def test_attachment_disposition_cannot_break_the_header(filename, expected):
    assert attachment_disposition(filename) == expected


# --- S3 against a real moto server ---------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(endpoint: str, region: str = "us-east-1"):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


class _CountingClient:
    """The real client, counting the uploads that actually happen."""

    def __init__(self, client) -> None:
        self._client = client
        self.uploads = 0

    def upload_file(self, *args, **kwargs):
        self.uploads += 1
        return self._client.upload_file(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.fixture
def s3(moto_endpoint):
    client = _CountingClient(_client(moto_endpoint))
    storage = S3Storage(client, f"archives-{uuid.uuid4().hex[:12]}")
    storage.ensure_bucket()
    return storage


def _object_keys(storage: S3Storage) -> list[str]:
    listing = storage.client.list_objects_v2(Bucket=storage.bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_s3_put_is_idempotent(s3, tmp_path):
    content = b"PK" + bytes(range(256)) * 10
    source = _archive(tmp_path, content)

    s3.put_file(KEY, source)
    s3.put_file(KEY, source)

    assert s3.client.uploads == 1
    assert _object_keys(s3) == [KEY]
    head = s3.client.head_object(Bucket=s3.bucket, Key=KEY)
    assert head["ContentType"] == "application/zip"
    assert len(head["Metadata"]["sha256"]) == 64

    changed = _archive(tmp_path, content[::-1], "changed.zip")  # same size, other bytes
    s3.put_file(KEY, changed)
    assert s3.client.uploads == 2
    assert b"".join(s3.open_stream(KEY)) == content[::-1]


def test_s3_exists_size_stream_and_delete(s3, tmp_path):
    assert not s3.exists(KEY) and s3.size(KEY) is None
    s3.put_file(KEY, _archive(tmp_path, b"0123456789"))

    assert s3.exists(KEY) and s3.size(KEY) == 10
    assert b"".join(s3.open_stream(KEY)) == b"0123456789"

    s3.delete(KEY)
    s3.delete(KEY)
    assert not s3.exists(KEY) and s3.size(KEY) is None
    assert _object_keys(s3) == []
    with pytest.raises(ObjectNotFoundError):
        s3.open_stream(KEY)


def test_s3_presigned_url_downloads_the_exact_bytes(s3, tmp_path):
    content = b"PK\x03\x04" + uuid.uuid4().bytes * 100
    s3.put_file(KEY, _archive(tmp_path, content))

    url = s3.download_url(KEY, expires_in=timedelta(minutes=5), filename="hello-1.2.0.zip")
    response = httpx.get(url, trust_env=False)

    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-disposition"] == 'attachment; filename="hello-1.2.0.zip"'
    assert "X-Amz-Expires=300" in url

    with pytest.raises(ValueError):
        s3.download_url(KEY, expires_in=timedelta(days=8), filename="x.zip")


@pytest.mark.parametrize("key", ["../outside.zip", "/abs.zip", "a\\b.zip"])
def test_s3_refuses_hostile_keys(s3, tmp_path, key):
    with pytest.raises(ValueError):
        s3.put_file(key, _archive(tmp_path, b"x"))
    assert _object_keys(s3) == []


def test_s3_ensure_bucket_outside_us_east_1_is_idempotent(moto_endpoint):
    client = _client(moto_endpoint, region="eu-west-1")
    storage = S3Storage(client, f"archives-{uuid.uuid4().hex[:12]}")

    storage.ensure_bucket()
    storage.ensure_bucket()

    assert client.get_bucket_location(Bucket=storage.bucket)["LocationConstraint"] == "eu-west-1"


def test_build_storage_chooses_the_backend(tmp_path, moto_endpoint):
    common = dict(
        data_dir=tmp_path,
        public_base_url=BASE_URL,
        secret=SECRET,
        s3_endpoint_url=moto_endpoint,
        s3_bucket=f"built-{uuid.uuid4().hex[:12]}",
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_region="us-east-1",
    )
    local = build_storage("local", **common)
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "storage"

    remote = build_storage("s3", **common)
    assert isinstance(remote, S3Storage)
    remote.ensure_bucket()
    remote.put_file(KEY, _archive(tmp_path, b"built"))
    assert remote.size(KEY) == 5

    with pytest.raises(ValueError, match="unknown storage backend"):
        build_storage("ftp", **common)
