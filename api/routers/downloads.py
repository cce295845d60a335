"""Downloading module archives: short-lived signed links, with the hash and signature to
check what arrives; and the public signing keys to check it with."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse

from api.deps import MaybePrincipal, SessionDep, SettingsDep, SigningKeysDep, StorageDep
from api.params import SlugPath
from api.schemas.downloads import DownloadLink, SigningKey
from api.schemas.versions import VERSION_PATTERN
from api.tracking import context_of
from domain.access import Scope
from services import downloads

router = APIRouter(prefix="/api/v1/marketplace", tags=["downloads"])


async def _link(
    request: Request,
    slug: str,
    number: str | None,
    principal: MaybePrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> DownloadLink:
    user_id = principal.user.id if principal else None
    link = await downloads.download_link(
        session,
        slug,
        number,
        user_id=user_id,
        is_admin=principal is not None and Scope.ADMIN in principal.scopes,
        context=context_of(request, user_id),
        storage=storage,
        settings=settings,
    )
    return DownloadLink(
        url=link.url,
        version=link.version,
        sha256=link.sha256,
        size=link.size,
        signature=link.signature,
        signature_key_id=link.signature_key_id,
        expires_in_seconds=link.expires_in_seconds,
    )


def _respond(link: DownloadLink, redirect: bool) -> DownloadLink | RedirectResponse:
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
    storage: StorageDep,
    redirect: Annotated[bool, Query(description="false answers the link as JSON")] = True,
) -> DownloadLink | RedirectResponse:
    """The latest release: a redirect to a short-lived link; the hash and ECDSA signature
    come in ``X-Checksum-SHA256``, ``X-Signature`` and ``X-Signature-Key-Id``."""
    link = await _link(request, slug, None, principal, session, settings, storage)
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
    storage: StorageDep,
    redirect: Annotated[bool, Query(description="false answers the link as JSON")] = True,
) -> DownloadLink | RedirectResponse:
    """An exact version, deprecated ones included."""
    link = await _link(request, slug, version, principal, session, settings, storage)
    return _respond(link, redirect)


@router.get("/files/{key:path}", include_in_schema=False)
async def serve_local_file(
    key: str,
    storage: StorageDep,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(max_length=128)],
) -> StreamingResponse:
    """Where local-storage download links point: valid only with an unexpired signature."""
    file = downloads.stored_file(storage, key, expires, signature)
    return StreamingResponse(
        file.chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{file.name}"',
            "Content-Length": str(file.size),
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/signing-keys", response_model=list[SigningKey])
async def signing_keys(keys: SigningKeysDep) -> list[SigningKey]:
    """Public keys that sign module archives, current and retired, by key id."""
    return [
        SigningKey(key_id=info.key_id, status=info.status, public_key_pem=info.pem)
        for info in downloads.signing_keys(keys)
    ]
