"""Object storage for module archives.

The embedded default keeps files under a local directory and hands out HMAC-signed,
expiring download URLs that our own files route checks (``verify_download``). Production
uses S3 or MinIO through boto3 with presigned URLs, so downloads never pass through the API.

Keys are a restricted alphabet of ``/``-separated segments (see ``validate_key``), checked by
both backends: one rule for both means a key that works locally also works on S3, and a key
can never name anything outside the storage root.
"""

import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote, urlencode

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from integrations.private_files import private_directory

CHUNK_SIZE = 1024 * 1024
FILES_ROUTE = "/api/v1/marketplace/files/"
MAX_PRESIGN = timedelta(days=7)  # the longest a SigV4 presigned URL may live
SHA256_METADATA = "sha256"

_SEGMENT = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,254}")
_MAX_KEY_LENGTH = 1024


class ObjectNotFoundError(LookupError):
    """The key names no stored object."""


class ObjectStorage(Protocol):
    def put_file(self, key: str, path: Path, content_type: str = "application/zip") -> None:
        """Store the file under ``key``. Idempotent: the same bytes again change nothing;
        different bytes replace the object."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None:
        """Size in bytes, or None when there is no such object."""

    def download_url(self, key: str, *, expires_in: timedelta, filename: str) -> str:
        """A short-lived URL that downloads the object as an attachment."""

    def open_stream(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; raises ObjectNotFoundError at once if absent."""

    def delete(self, key: str) -> None:
        """Remove the object; deleting an absent key is not an error."""


def storage_key(technical_name: str, version: str) -> str:
    """Where a module version's archive lives, e.g.
    ``modules/hello_fastvue/1.2.0/hello_fastvue-1.2.0.zip``."""
    return validate_key(f"modules/{technical_name}/{version}/{technical_name}-{version}.zip")


def validate_key(key: str) -> str:
    """Return ``key`` if it is ``/``-separated segments of ``[A-Za-z0-9._+-]``, none empty
    and none starting with a dot; raise ValueError otherwise.

    That refuses ``..``, ``.``, absolute paths, backslashes, drive letters, control
    characters and hidden names (the local backend's temporary files start with a dot,
    so they can never collide with a key).
    """
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"invalid storage key: {key!r}")
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def attachment_disposition(filename: str) -> str:
    """A ``Content-Disposition: attachment`` value that cannot break out of the header:
    an ASCII fallback name plus the exact name RFC 6266 style when it differs."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())
    fallback = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip(".") or "download"
    if fallback == name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _check_lifetime(expires_in: timedelta, maximum: timedelta | None = None) -> int:
    seconds = int(expires_in.total_seconds())
    if seconds <= 0:
        raise ValueError("expires_in must be at least one second")
    if maximum is not None and expires_in > maximum:
        raise ValueError(f"expires_in must be at most {maximum}")
    return seconds


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class LocalStorage:
    """Files under ``root``; the API's files route serves them after ``verify_download``.

    ``content_type`` is not recorded: the files route serves every archive as a zip, and
    names the download after the key's last segment (the URL signs only key and expiry).
    """

    def __init__(self, root: Path, public_base_url: str, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the download URL secret must be at least 32 bytes")
        self.root = root
        self.public_base_url = public_base_url.rstrip("/")
        self._secret = secret

    def path_for(self, key: str) -> Path:
        """The file for ``key``, refusing any key (or symlink inside root) that leads out."""
        validate_key(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"storage key leaves the storage root: {key!r}")
        return path

    def put_file(self, key: str, path: Path, content_type: str = "application/zip") -> None:
        target = self.path_for(key)
        if (
            target.is_file()
            and target.stat().st_size == path.stat().st_size
            and _file_sha256(target) == _file_sha256(path)
        ):
            return
        self._private_folders(target.parent)
        # Same directory, so the rename is atomic: readers see the old file or the new one.
        # NamedTemporaryFile creates it with mkstemp, so it is 0600 from the start.
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as temporary:
            try:
                with path.open("rb") as source:
                    while chunk := source.read(CHUNK_SIZE):
                        temporary.write(chunk)
                temporary.flush()
                os.fsync(temporary.fileno())
            except BaseException:
                Path(temporary.name).unlink(missing_ok=True)
                raise
        os.replace(temporary.name, target)

    def _private_folders(self, folder: Path) -> None:
        """``folder`` and each one between it and the root made 0700 (the root too)."""
        root = self.root.resolve()
        private_directory(root)
        for level in reversed(folder.relative_to(root).parents[:-1]):
            private_directory(root / level)
        private_directory(folder)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int | None:
        path = self.path_for(key)
        return path.stat().st_size if path.is_file() else None

    def download_url(self, key: str, *, expires_in: timedelta, filename: str) -> str:
        validate_key(key)
        expires = int(datetime.now(UTC).timestamp()) + _check_lifetime(expires_in)
        query = urlencode({"expires": expires, "signature": self._sign(key, expires)})
        return f"{self.public_base_url}{FILES_ROUTE}{quote(key, safe='/')}?{query}"

    def verify_download(self, key: str, expires: int, signature: str, now: datetime) -> bool:
        """True when ``signature`` is ours for this key and expiry and ``now`` is not past
        the expiry (``now`` must be timezone-aware)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        try:
            validate_key(key)
        except ValueError:
            return False
        if now.timestamp() > expires:
            return False
        expected = self._sign(key, expires).encode()
        return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))

    def open_stream(self, key: str) -> Iterator[bytes]:
        try:
            source = self.path_for(key).open("rb")
        except (FileNotFoundError, IsADirectoryError) as error:
            raise ObjectNotFoundError(key) from error
        return _chunks(source)

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def _sign(self, key: str, expires: int) -> str:
        # A newline cannot occur in a valid key, so "key\nexpires" is unambiguous.
        message = f"{key}\n{int(expires)}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    with source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk


def _is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """An S3 (or MinIO) bucket through a boto3 client.

    Each object carries its SHA-256 as user metadata, so a retried ``put_file`` of the same
    archive is a HEAD request instead of a second upload.
    """

    def __init__(self, client: BaseClient, bucket: str) -> None:
        self.client: Any = client
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (safe to call on every start)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if not _is_missing(error):
                raise
        region = self.client.meta.region_name
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":  # us-east-1 refuses an explicit constraint
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**arguments)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise

    def put_file(self, key: str, path: Path, content_type: str = "application/zip") -> None:
        validate_key(key)
        digest = _file_sha256(path)
        head = self._head(key)
        if (
            head is not None
            and head["ContentLength"] == path.stat().st_size
            and head.get("Metadata", {}).get(SHA256_METADATA) == digest
        ):
            return
        self.client.upload_file(
            str(path),
            self.bucket,
            key,
            ExtraArgs={"ContentType": content_type, "Metadata": {SHA256_METADATA: digest}},
        )

    def exists(self, key: str) -> bool:
        return self._head(validate_key(key)) is not None

    def size(self, key: str) -> int | None:
        head = self._head(validate_key(key))
        return None if head is None else int(head["ContentLength"])

    def download_url(self, key: str, *, expires_in: timedelta, filename: str) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": validate_key(key),
                "ResponseContentDisposition": attachment_disposition(filename),
            },
            ExpiresIn=_check_lifetime(expires_in, MAX_PRESIGN),
        )
        return url

    def open_stream(self, key: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as error:
            if _is_missing(error):
                raise ObjectNotFoundError(key) from error
            raise
        chunks: Iterator[bytes] = response["Body"].iter_chunks(CHUNK_SIZE)
        return chunks

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
            return head
        except ClientError as error:
            if _is_missing(error):
                return None
            raise


def build_storage(
    backend: str,
    *,
    data_dir: Path,
    public_base_url: str,
    secret: bytes,
    s3_endpoint_url: str | None,
    s3_bucket: str,
    s3_access_key: str | None,
    s3_secret_key: str | None,
    s3_region: str,
) -> ObjectStorage:
    """The storage the settings choose: ``local`` (files under ``data_dir/storage``) or
    ``s3``. No I/O happens here; call ``S3Storage.ensure_bucket`` once at startup.

    Without access keys boto3 uses its usual credential chain (environment, instance role).
    With an endpoint URL (MinIO, moto) path-style addressing is used, since such servers
    rarely have a DNS name per bucket.
    """
    if backend == "local":
        return LocalStorage(data_dir / "storage", public_base_url, secret)
    if backend == "s3":
        client = boto3.client(
            "s3",
            endpoint_url=s3_endpoint_url,
            aws_access_key_id=s3_access_key,
            aws_secret_access_key=s3_secret_key,
            region_name=s3_region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if s3_endpoint_url else "auto"},
            ),
        )
        return S3Storage(client, s3_bucket)
    raise ValueError(f"unknown storage backend {backend!r}: expected 'local' or 's3'")
