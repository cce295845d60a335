"""Downloading module archives: short-lived signed links, with the hash and signature to
check what arrives; and the public signing keys to check it with. A download counts when
the file is fetched (the redirect, or a JSON link followed), never when a link is handed
out (``services.downloads``)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse

from api.deps import (
    DownloadLinksDep,
    MaybePrincipal,
    SessionDep,
    SettingsDep,
    SigningKeysDep,
    StorageDep,
)
from api.params import SlugPath
from api.schemas.downloads import DownloadLink, SigningKey
from api.schemas.versions import VERSION_PATTERN
from api.tracking import context_of
from domain.access import Scope
from services import downloads

router = APIRouter(prefix="/api/v1/marketplace", tags=["downloads"])


def _shaped(link: downloads.Link) -> DownloadLink:
    return DownloadLink(
        url=link.url,
        version=link.version,
        sha256=link.sha256,
        size=link.size,
        signature=link.signature,
        signature_key_id=link.signature_key_id,
        signature_format=link.signature_format,
        signed_statement=link.signed_statement,
        expires_in_seconds=link.expires_in_seconds,
    )


def _redirect(link: downloads.Link) -> RedirectResponse:
    return RedirectResponse(
        link.url,
        status_code=307,
        headers={
            "X-Module-Version": link.version,
            "X-Checksum-SHA256": link.sha256,
            "X-Signature": link.signature,
            "X-Signature-Key-Id": link.signature_key_id,
            "X-Signature-Format": link.signature_format,
            "Cache-Control": "no-store",
        },
    )


async def _download(
    request: Request,
    slug: str,
    number: str | None,
    principal: MaybePrincipal,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    links: DownloadLinksDep,
    redirect: bool,
) -> DownloadLink | RedirectResponse:
    user_id = principal.user.id if principal else None
    is_admin = principal is not None and Scope.ADMIN in principal.scopes
    if not redirect:
        link = await downloads.download_link(
            session,
            slug,
            number,
            user_id=user_id,
            is_admin=is_admin,
            links=links,
            settings=settings,
        )
        return _shaped(link)
    link = await downloads.fetch_now(
        session,
        slug,
        number,
        user_id=user_id,
        is_admin=is_admin,
        context=context_of(request, user_id),
        storage=storage,
        settings=settings,
    )
    return _redirect(link)


REDIRECT_DESCRIPTION = (
    "false answers a download link as JSON, to follow later (counted when followed); "
    "true (the default) is the download: a redirect to the file, counted"
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
    links: DownloadLinksDep,
    redirect: Annotated[bool, Query(description=REDIRECT_DESCRIPTION)] = True,
) -> DownloadLink | RedirectResponse:
    """The latest release: a redirect to a short-lived link to the file; the hash and ECDSA
    signature come in ``X-Checksum-SHA256``, ``X-Signature``, ``X-Signature-Key-Id`` and
    ``X-Signature-Format`` (what it covers; the statement is in the JSON answer and the
    version's record). Counted once per version, downloader and UTC day."""
    return await _download(
        request, slug, None, principal, session, settings, storage, links, redirect
    )


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
    links: DownloadLinksDep,
    redirect: Annotated[bool, Query(description=REDIRECT_DESCRIPTION)] = True,
) -> DownloadLink | RedirectResponse:
    """An exact version, deprecated ones included."""
    return await _download(
        request, slug, version, principal, session, settings, storage, links, redirect
    )


@router.get("/fetch/{version_id}", include_in_schema=False)
async def follow_download_link(
    version_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    links: DownloadLinksDep,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(max_length=128)],
    user: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    license: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> RedirectResponse:
    """Where ``?redirect=false`` download links point: valid only with an unexpired
    signature; counts the download and redirects to the file."""
    link = await downloads.fetch(
        session,
        version_id,
        user=user,
        license=license,
        expires=expires,
        signature=signature,
        context=context_of(request, user or None),
        links=links,
        storage=storage,
        settings=settings,
    )
    return _redirect(link)


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
