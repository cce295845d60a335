"""Downloading module archives: short-lived signed links, with the hash and signature to
check what arrives; and the public signing keys to check it with."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel

from api.deps import MaybePrincipal, SessionDep, SettingsDep
from api.params import SlugPath
from api.schemas.versions import VERSION_PATTERN
from api.tracking import context_of
from domain.access import Scope
from domain.errors import DomainError, ErrorKind, Forbidden, NotFound, Unauthenticated
from domain.licensing import LicenseStatus, license_covers_version
from domain.modules import LicenseType, ModuleStatus, Visibility
from integrations.storage import LocalStorage, validate_key
from models.repositories import downloads
from services.tracking import track_download

router = APIRouter(prefix="/api/v1/marketplace", tags=["downloads"])


class DownloadLink(BaseModel):
    url: str
    version: str
    sha256: str
    size: int
    signature: str
    signature_key_id: str
    expires_in_seconds: int


class SigningKey(BaseModel):
    key_id: str
    algorithm: str = "ecdsa-p256-sha256"
    status: str
    public_key_pem: str


async def _link(request, slug, number, principal, session, settings) -> DownloadLink:
    found = await downloads.module_by_slug(session, slug)
    if found is None:
        raise NotFound("module_not_found", "no such module")
    module, publisher = found
    is_owner = principal is not None and principal.user.id == publisher.user_id
    is_admin = principal is not None and Scope.ADMIN in principal.scopes
    visible = module.status == ModuleStatus.PUBLISHED and (
        module.visibility != Visibility.PRIVATE and publisher.status != "suspended"
    )
    if not (
        visible
        or is_owner
        or is_admin
        or await _bought_before_suspension(session, principal, module, publisher)
    ):
        raise NotFound("module_not_found", "no such module")
    version = await downloads.downloadable_version(session, module.id, number)
    if version is None or version.zip_file_hash is None or version.signature is None:
        raise NotFound("version_not_found", "no downloadable version by that number")
    license_id = None
    if module.license_type != LicenseType.FREE and not (is_owner or is_admin):
        license_id = await _covering_license(session, principal, module.id, version)
    filename = f"{module.technical_name}-{version.version}.zip"
    url = request.app.state.adapters.storage.download_url(
        version.zip_file_url, expires_in=settings.download_url_ttl, filename=filename
    )
    user_id = principal.user.id if principal else None
    await track_download(
        session,
        context_of(request, user_id),
        module_id=module.id,
        version_id=version.id,
        user_id=user_id,
        license_id=license_id,
    )
    return DownloadLink(
        url=url,
        version=version.version,
        sha256=version.zip_file_hash,
        size=version.zip_file_size or 0,
        signature=version.signature,
        signature_key_id=version.signature_key_id or "",
        expires_in_seconds=int(settings.download_url_ttl.total_seconds()),
    )


async def _bought_before_suspension(session, principal, module, publisher) -> bool:
    """A suspended publisher's paid module stays downloadable for those holding a license
    of it (the license check then decides which versions); to everyone else, free modules
    included, it is as absent as in discovery."""
    if (
        publisher.status != "suspended"
        or module.status != ModuleStatus.PUBLISHED
        or module.visibility == Visibility.PRIVATE
        or module.license_type == LicenseType.FREE
        or principal is None
    ):
        return False
    return bool(await downloads.licenses_for(session, principal.user.id, module.id))


async def _covering_license(session, principal, module_id: int, version) -> int:
    """The caller's license that covers this version; 401/403 when there is none."""
    if principal is None:
        raise Unauthenticated(
            "license_required", "sign in with the account that holds a license for this module"
        )
    now = datetime.now(UTC)
    for held in await downloads.licenses_for(session, principal.user.id, module_id):
        if license_covers_version(
            LicenseStatus(held.status), held.expires_at, version.published_at, now
        ):
            return held.id
    raise Forbidden("license_required", "no license of yours covers this version")


def _respond(link: DownloadLink, redirect: bool):
    if not redirect:
        return link
    return RedirectResponse(
        link.url,
        status_code=307,
        headers={
            "X-Module-Version": link.version,
            "X-Checksum-SHA256": link.sha256,
            "X-Signature": link.signature,
            "X-Signature-Key-Id": link.signature_key_id,
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/modules/{slug}/download",
    response_model=DownloadLink,
    responses={307: {"description": "redirect to a short-lived link"}},
)
async def download_latest(
    slug: SlugPath,
    request: Request,
    principal: MaybePrincipal,
    session: SessionDep,
    settings: SettingsDep,
    redirect: Annotated[bool, Query(description="false answers the link as JSON")] = True,
):
    """The latest release: a redirect to a short-lived link; the hash and ECDSA signature
    come in ``X-Checksum-SHA256``, ``X-Signature`` and ``X-Signature-Key-Id``."""
    link = await _link(request, slug, None, principal, session, settings)
    return _respond(link, redirect)


@router.get(
    "/modules/{slug}/download/{version}",
    response_model=DownloadLink,
    responses={307: {"description": "redirect to a short-lived link"}},
)
async def download_version(
    slug: SlugPath,
    version: Annotated[str, Path(pattern=VERSION_PATTERN)],
    request: Request,
    principal: MaybePrincipal,
    session: SessionDep,
    settings: SettingsDep,
    redirect: Annotated[bool, Query(description="false answers the link as JSON")] = True,
):
    """An exact version, deprecated ones included."""
    link = await _link(request, slug, version, principal, session, settings)
    return _respond(link, redirect)


@router.get("/files/{key:path}", include_in_schema=False)
async def serve_local_file(
    key: str,
    request: Request,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(max_length=128)],
):
    """Where local-storage download links point: valid only with an unexpired signature."""
    storage = request.app.state.adapters.storage
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
    name = key.rsplit("/", 1)[-1]
    return StreamingResponse(
        storage.open_stream(key),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(storage.size(key)),
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/signing-keys", response_model=list[SigningKey])
async def signing_keys(request: Request):
    """Public keys that sign module archives, current and retired, by key id."""
    return [
        SigningKey(key_id=info.key_id, status=info.status, public_key_pem=info.pem)
        for info in request.app.state.adapters.signing_keys.public_keys()
    ]
