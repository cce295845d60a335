"""A publisher's module versions: upload (which starts the pipeline), list, read, edit
notes, deprecate."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from api.deps import (
    ActivePublisherDep,
    ReleaseReaderDep,
    SessionDep,
    SettingsDep,
    StorageDep,
    UploaderDep,
    WorkflowsDep,
)
from api.package_peek import peek_version
from api.params import IdPath
from api.schemas.versions import (
    NOTES_MAX,
    VERSION_PATTERN,
    ModuleVersionOut,
    UploadAccepted,
    VersionDetailOut,
    VersionNotesIn,
)
from api.uploads import FormLimits, receive_package
from domain.errors import DomainError
from models.module import ModuleVersion
from services import publishing
from services.publishing import ReceivedPackage, UploadStarted

router = APIRouter(prefix="/api/v1/publisher/modules/{module_id}/versions", tags=["versions"])
UPLOAD_PATH = r"^/api/v1/publisher/modules/\d+/versions$"
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN)]
MANIFEST_PEEK_BYTES = 64 * 1024


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The package: a zip with its manifest",
                        },
                        "release_notes": {"type": "string", "maxLength": NOTES_MAX},
                        "changelog": {"type": "string", "maxLength": NOTES_MAX},
                    },
                }
            }
        },
    }
}
"""The upload's body, for the OpenAPI document: it is read by streaming (``receive_package``),
not by a parameter the framework would document."""


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadAccepted,
    openapi_extra=UPLOAD_BODY,
)
async def upload_version(
    module_id: IdPath,
    request: Request,
    publisher: UploaderDep,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    temporal: WorkflowsDep,
) -> UploadAccepted:
    """Upload a package (multipart, part ``file``; optional ``release_notes`` and
    ``changelog``). The pipeline runs in the background: poll ``status_url``."""
    module = await publishing.module_for_upload(session, publisher, module_id)
    upload = await receive_package(
        request,
        max_bytes=settings.max_upload_bytes,
        limits=FormLimits(
            parts=settings.upload_max_parts, text_bytes=settings.upload_max_text_bytes
        ),
        into=settings.upload_dir,
    )
    try:
        for name in ("release_notes", "changelog"):
            if len(upload.fields.get(name, "")) > NOTES_MAX:
                raise DomainError("field_too_long", f"{name} holds at most {NOTES_MAX} characters")
        number = await asyncio.to_thread(
            peek_version, upload.path, module.technical_name, MANIFEST_PEEK_BYTES
        )
        started = await publishing.upload_version(
            session,
            publisher,
            module,
            ReceivedPackage(
                path=upload.path,
                sha256=upload.sha256,
                size=upload.size,
                version=number,
                release_notes=upload.fields.get("release_notes"),
                changelog=upload.fields.get("changelog"),
            ),
            storage=storage,
            workflows=temporal,
            settings=settings,
        )
    finally:
        upload.discard()
    return _accepted(started)


def _accepted(started: UploadStarted) -> UploadAccepted:
    version = started.version
    return UploadAccepted(
        version=ModuleVersionOut.model_validate(version),
        workflow_id=started.workflow_id,
        status_url=f"/api/v1/publisher/modules/{version.module_id}/versions/{version.version}",
    )


@router.get("", response_model=list[ModuleVersionOut])
async def list_module_versions(
    module_id: IdPath, publisher: ReleaseReaderDep, session: SessionDep
) -> list[ModuleVersion]:
    return await publishing.list_versions(session, publisher, module_id)


@router.get("/{version}", response_model=VersionDetailOut)
async def get_module_version(
    module_id: IdPath,
    version: VersionPath,
    publisher: ReleaseReaderDep,
    session: SessionDep,
    temporal: WorkflowsDep,
) -> VersionDetailOut:
    """The version with its reasons and findings, plus the live step while it runs."""
    row, progress = await publishing.version_details(
        session, publisher, module_id, version, workflows=temporal
    )
    detail = VersionDetailOut.model_validate(row)
    if progress is not None:
        detail.progress = progress
    return detail


@router.put("/{version}", response_model=ModuleVersionOut)
async def update_version_notes(
    module_id: IdPath,
    version: VersionPath,
    body: VersionNotesIn,
    publisher: ActivePublisherDep,
    session: SessionDep,
) -> ModuleVersion:
    return await publishing.update_version_notes(
        session, publisher, module_id, version, body.model_dump(exclude_unset=True)
    )


@router.delete("/{version}", response_model=ModuleVersionOut)
async def deprecate_version(
    module_id: IdPath,
    version: VersionPath,
    publisher: ActivePublisherDep,
    session: SessionDep,
) -> ModuleVersion:
    """Deprecate: still downloadable by exact version, no longer offered as latest."""
    return await publishing.deprecate_version(session, publisher, module_id, version)
