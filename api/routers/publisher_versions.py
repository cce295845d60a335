"""A publisher's module versions: upload (which starts the pipeline), list, read, edit
notes, deprecate."""

import asyncio
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from api.deps import (
    ActivePublisherDep,
    ReleaseReaderDep,
    SessionDep,
    SettingsDep,
    UploaderDep,
    WorkflowsDep,
)
from api.package_peek import peek_version
from api.params import IdPath
from api.routers.version_schemas import (
    NOTES_MAX,
    VERSION_PATTERN,
    UploadAccepted,
    VersionDetailOut,
    VersionNotesIn,
    VersionOut,
)
from api.uploads import receive_package
from domain import processes
from domain.errors import Conflict, DomainError, NotFound
from domain.ingest import IngestRequest
from domain.modules import ModuleStatus
from domain.versions import VersionStatus
from models.module import ModuleVersion
from models.repositories import audit, versions
from services import ingestion
from services.ownership import own_module

router = APIRouter(prefix="/api/v1/publisher/modules/{module_id}/versions", tags=["versions"])
UPLOAD_PATH = r"^/api/v1/publisher/modules/\d+/versions$"
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN)]
IN_PIPELINE = (VersionStatus.PROCESSING, VersionStatus.MANUAL_REVIEW)


def _request(version: ModuleVersion, module, staging_key: str) -> IngestRequest:
    return IngestRequest(
        version_id=version.id,
        module_id=module.id,
        module_slug=module.slug,
        technical_name=module.technical_name,
        version=version.version,
        staging_key=staging_key,
        upload_sha256=version.upload_sha256,
        uploaded_by=version.uploaded_by,
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=UploadAccepted)
async def upload_version(
    module_id: IdPath,
    request: Request,
    publisher: UploaderDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
):
    """Upload a package (multipart, part ``file``; optional ``release_notes`` and
    ``changelog``). The pipeline runs in the background: poll ``status_url``."""
    module = await own_module(session, publisher, module_id)
    if module.status == ModuleStatus.ARCHIVED:
        raise Conflict("module_archived", "the module is archived")
    upload = await receive_package(
        request, max_bytes=settings.max_upload_bytes, into=settings.upload_dir
    )
    try:
        for name in ("release_notes", "changelog"):
            if len(upload.fields.get(name, "")) > NOTES_MAX:
                raise DomainError("field_too_long", f"{name} holds at most {NOTES_MAX} characters")
        number = await asyncio.to_thread(
            peek_version, upload.path, module.technical_name, 64 * 1024
        )
        existing = await versions.find_version(session, module.id, number)
        if existing is not None:
            return await _repeat_upload(existing, module, upload, settings, temporal)
        staging_key = f"staging/{module.id}/{uuid.uuid4().hex}.zip"
        version = await versions.create_version(
            session,
            ModuleVersion(
                module_id=module.id,
                version=number,
                zip_file_url=staging_key,
                upload_sha256=upload.sha256,
                uploaded_by=publisher.user_id,
                status=VersionStatus.PROCESSING,
                pipeline_step="received",
                release_notes=upload.fields.get("release_notes") or None,
                changelog=upload.fields.get("changelog") or None,
                workflow_id=processes.VersionIngestion.workflow_id(module.slug, number),
            ),
        )
        await asyncio.to_thread(
            request.app.state.adapters.storage.put_file, staging_key, upload.path
        )
        await audit.record(
            session,
            actor_id=publisher.user_id,
            action="version.upload",
            entity_type="version",
            entity_id=version.id,
            changes={"version": number, "sha256": upload.sha256, "size": upload.size},
        )
        await session.commit()
    finally:
        upload.discard()
    workflow_id = await ingestion.start_ingestion(temporal, _request(version, module, staging_key))
    await session.refresh(version)
    return _accepted(version, workflow_id)


async def _repeat_upload(existing, module, upload, settings, temporal):
    """The same bytes sent again (a client retry) find the first upload's run."""
    if existing.upload_sha256 != upload.sha256:
        raise Conflict(
            "version_already_used",
            f"version {existing.version} exists; versions numbers are never reused",
        )
    if existing.status in IN_PIPELINE:
        await ingestion.start_ingestion(temporal, _request(existing, module, existing.zip_file_url))
    return _accepted(existing, existing.workflow_id)


def _accepted(version: ModuleVersion, workflow_id: str) -> UploadAccepted:
    return UploadAccepted(
        version=VersionOut.model_validate(version),
        workflow_id=workflow_id,
        status_url=f"/api/v1/publisher/modules/{version.module_id}/versions/{version.version}",
    )


@router.get("", response_model=list[VersionOut])
async def list_module_versions(module_id: IdPath, publisher: ReleaseReaderDep, session: SessionDep):
    module = await own_module(session, publisher, module_id)
    return await versions.list_versions(session, module.id)


async def _own_version(session, publisher, module_id: int, number: str, *, lock=False):
    module = await own_module(session, publisher, module_id, lock=lock)
    version = await versions.find_version(session, module.id, number)
    if version is None:
        raise NotFound("version_not_found", f"no version {number} of this module")
    return module, version


@router.get("/{version}", response_model=VersionDetailOut)
async def get_module_version(
    module_id: IdPath,
    version: VersionPath,
    publisher: ReleaseReaderDep,
    session: SessionDep,
    temporal: WorkflowsDep,
):
    """The version with its reasons and findings, plus the live step while it runs."""
    _, row = await _own_version(session, publisher, module_id, version)
    detail = VersionDetailOut.model_validate(row)
    if row.status in IN_PIPELINE and row.workflow_id:
        detail.progress = await ingestion.progress(temporal, row.workflow_id)
    return detail


@router.put("/{version}", response_model=VersionOut)
async def update_version_notes(
    module_id: IdPath,
    version: VersionPath,
    body: VersionNotesIn,
    publisher: ActivePublisherDep,
    session: SessionDep,
):
    _, row = await _own_version(session, publisher, module_id, version)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(row, field, value)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="version.update",
        entity_type="version",
        entity_id=row.id,
        changes=changes,
    )
    await session.flush()
    await session.refresh(row)
    return row


@router.delete("/{version}", response_model=VersionOut)
async def deprecate_version(
    module_id: IdPath,
    version: VersionPath,
    publisher: ActivePublisherDep,
    session: SessionDep,
):
    """Deprecate: still downloadable by exact version, no longer offered as latest."""
    module, row = await _own_version(session, publisher, module_id, version, lock=True)
    if row.status == VersionStatus.DEPRECATED:
        return row
    if row.status != VersionStatus.PUBLISHED:
        raise Conflict(
            "version_not_published", f"only a published version can be deprecated ({row.status})"
        )
    row.status = VersionStatus.DEPRECATED
    await session.flush()
    await versions.recompute_latest(session, module.id)
    await audit.record(
        session,
        actor_id=publisher.user_id,
        action="version.deprecate",
        entity_type="version",
        entity_id=row.id,
    )
    await session.refresh(row)
    return row
