"""Downloading module archives: who may have which version (a license must cover it), a
short-lived signed link with the hash and signature to check what arrives, the local
store's signed file serving, and the public keys that check the archives.

A download counts when a file is fetched, never when a link is only handed out: asking
with a redirect (``fetch_now``) counts and answers the stored file's URL; asking for the
link as JSON counts nothing and answers one of our own signed links
(``integrations.download_links``), which counts when it is followed (``fetch``). Both go
through ``services.tracking.track_download`` (once per version, downloader and UTC day)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.analytics import RequestContext
from domain.errors import DomainError, ErrorKind, Forbidden, NotFound, Unauthenticated
from domain.licensing import LicenseStatus, license_covers_version
from domain.module_signature import SignatureFormat
from domain.modules import LicenseType, ModuleStatus, Visibility
from integrations.download_links import DownloadLinks, LinkClaims
from integrations.signing import KeyRing, PublicKeyInfo
from integrations.storage import LocalStorage, ObjectStorage, validate_key
from models.module import MarketplaceModule, ModuleVersion
from models.publisher import Publisher
from models.repositories import downloads
from services.tracking import track_download
from settings import Settings


@dataclass(frozen=True)
class Link:
    """Where to fetch a version's archive, until ``expires_in_seconds`` pass, and how to
    check it (SHA-256 and the ECDSA signature by ``signature_key_id`` of
    ``signed_statement``, or of the hash alone for ``archive-sha256/v1``)."""

    url: str
    version: str
    sha256: str
    size: int
    signature: str
    signature_key_id: str
    signature_format: SignatureFormat
    signed_statement: str | None
    expires_in_seconds: int


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int | None
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class _Granted:
    module: MarketplaceModule
    version: ModuleVersion
    license_id: int | None


async def _grant(
    session: AsyncSession, slug: str, number: str | None, user_id: int | None, is_admin: bool
) -> _Granted:
    """Version ``number`` (None: the latest release) of the module, when the caller
    ``user_id`` (None: anonymous) may download it; 404/401/403 otherwise."""
    found = await downloads.module_by_slug(session, slug)
    if found is None:
        raise NotFound("module_not_found", "no such module")
    module, publisher = found
    is_owner = user_id is not None and user_id == publisher.user_id
    visible = module.status == ModuleStatus.PUBLISHED and (
        module.visibility != Visibility.PRIVATE and publisher.status != "suspended"
    )
    if not (
        visible
        or is_owner
        or is_admin
        or await _bought_before_suspension(session, user_id, module, publisher)
    ):
        raise NotFound("module_not_found", "no such module")
    version = await downloads.downloadable_version(session, module.id, number)
    if version is None or version.zip_file_hash is None or version.signature is None:
        raise NotFound("version_not_found", "no downloadable version by that number")
    license_id = None
    if module.license_type != LicenseType.FREE and not (is_owner or is_admin):
        license_id = await _covering_license(session, user_id, module.id, version)
    return _Granted(module, version, license_id)


def _file_url(
    storage: ObjectStorage, module: MarketplaceModule, version: ModuleVersion, settings: Settings
) -> str:
    filename = f"{module.technical_name}-{version.version}.zip"
    return storage.download_url(
        version.zip_file_url, expires_in=settings.download_url_ttl, filename=filename
    )


def _link(url: str, version: ModuleVersion, settings: Settings) -> Link:
    return Link(
        url=url,
        version=version.version,
        sha256=version.zip_file_hash or "",
        size=version.zip_file_size or 0,
        signature=version.signature or "",
        signature_key_id=version.signature_key_id or "",
        signature_format=SignatureFormat(version.signature_format),
        signed_statement=version.signed_statement,
        expires_in_seconds=int(settings.download_url_ttl.total_seconds()),
    )


async def download_link(
    session: AsyncSession,
    slug: str,
    number: str | None,
    *,
    user_id: int | None,
    is_admin: bool,
    links: DownloadLinks,
    settings: Settings,
) -> Link:
    """A link to version ``number`` (None: the latest release) for the caller ``user_id``
    (None: anonymous), to follow later: one of our signed download links, which counts
    the download when it is followed. Handing it out counts nothing."""
    granted = await _grant(session, slug, number, user_id, is_admin)
    claims = LinkClaims(granted.version.id, user_id, granted.license_id)
    url = links.url(claims, now=datetime.now(UTC), expires_in=settings.download_url_ttl)
    return _link(url, granted.version, settings)


async def fetch_now(
    session: AsyncSession,
    slug: str,
    number: str | None,
    *,
    user_id: int | None,
    is_admin: bool,
    context: RequestContext,
    storage: ObjectStorage,
    settings: Settings,
) -> Link:
    """The download itself, answered as a redirect: the stored file's short-lived URL;
    the download is counted (once per version, downloader and day)."""
    granted = await _grant(session, slug, number, user_id, is_admin)
    url = _file_url(storage, granted.module, granted.version, settings)
    await track_download(
        session,
        context,
        module_id=granted.module.id,
        version_id=granted.version.id,
        user_id=user_id,
        license_id=granted.license_id,
    )
    await session.commit()
    return _link(url, granted.version, settings)


async def fetch(
    session: AsyncSession,
    version_id: int,
    *,
    user: int,
    license: int,
    expires: int,
    signature: str,
    context: RequestContext,
    links: DownloadLinks,
    storage: ObjectStorage,
    settings: Settings,
) -> Link:
    """One of our download links followed: valid only with an unexpired signature, for a
    version still downloadable; counts the download for the user the link was made for
    (else the client address) and answers the stored file's short-lived URL."""
    claims = links.verify(
        version_id,
        user=user,
        license=license,
        expires=expires,
        signature=signature,
        now=datetime.now(UTC),
    )
    if claims is None:
        raise DomainError(
            "download_link_invalid",
            "the link is invalid or expired; ask for a new one",
            kind=ErrorKind.FORBIDDEN,
        )
    found = await downloads.downloadable_by_id(session, version_id)
    if found is None:
        raise NotFound("version_not_found", "no downloadable version by that number")
    module, version = found
    url = _file_url(storage, module, version, settings)
    await track_download(
        session,
        context,
        module_id=module.id,
        version_id=version.id,
        user_id=claims.user_id,
        license_id=claims.license_id,
    )
    await session.commit()
    return _link(url, version, settings)


async def _bought_before_suspension(
    session: AsyncSession, user_id: int | None, module: MarketplaceModule, publisher: Publisher
) -> bool:
    """A suspended publisher's paid module stays downloadable for those holding a license
    of it (the license check then decides which versions); to everyone else, free modules
    included, it is as absent as in discovery."""
    if (
        publisher.status != "suspended"
        or module.status != ModuleStatus.PUBLISHED
        or module.visibility == Visibility.PRIVATE
        or module.license_type == LicenseType.FREE
        or user_id is None
    ):
        return False
    return bool(await downloads.licenses_for(session, user_id, module.id))


async def _covering_license(
    session: AsyncSession, user_id: int | None, module_id: int, version: ModuleVersion
) -> int:
    """The caller's license that covers this version; 401/403 when there is none."""
    if user_id is None:
        raise Unauthenticated(
            "license_required", "sign in with the account that holds a license for this module"
        )
    now = datetime.now(UTC)
    for held in await downloads.licenses_for(session, user_id, module_id):
        if license_covers_version(
            LicenseStatus(held.status), held.expires_at, version.published_at, now
        ):
            return held.id
    raise Forbidden("license_required", "no license of yours covers this version")


def stored_file(storage: ObjectStorage, key: str, expires: int, signature: str) -> StoredFile:
    """The local store's file behind a download link, valid only with an unexpired
    signature (an object store serves its own presigned links)."""
    if not isinstance(storage, LocalStorage):
        raise NotFound("not_found", "files are served by the object store")
    try:
        validate_key(key)
    except ValueError:
        raise NotFound("not_found", "no such file") from None
    if not storage.verify_download(key, expires, signature, datetime.now(UTC)):
        raise DomainError(
            "download_link_invalid",
            "the link is invalid or expired; ask for a new one",
            kind=ErrorKind.FORBIDDEN,
        )
    if not storage.exists(key):
        raise NotFound("not_found", "no such file")
    chunks = storage.open_stream(key)
    return StoredFile(name=key.rsplit("/", 1)[-1], size=storage.size(key), chunks=chunks)


def signing_keys(keys: KeyRing) -> list[PublicKeyInfo]:
    """Public keys that sign module archives, current first, then the retired ones."""
    return keys.public_keys()
