"""Module versions as their publisher (and the admins) see them: uploads, notes, the
pipeline's findings."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.schemas import MultiLine, Strict
from domain.ingest import IngestProgress
from domain.module_signature import SignatureFormat
from domain.versions import PipelineStep, VersionStatus

VERSION_PATTERN = r"^[0-9A-Za-z.+-]{1,50}$"
VersionText = Annotated[str, StringConstraints(pattern=VERSION_PATTERN)]
NOTES_MAX = 20_000


class ModuleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    module_id: int
    version: str
    status: VersionStatus
    pipeline_step: PipelineStep | None
    is_latest: bool
    is_prerelease: bool
    sha256: str | None = Field(validation_alias="zip_file_hash")
    size: int | None = Field(validation_alias="zip_file_size")
    signature: str | None
    signature_key_id: str | None
    signature_format: SignatureFormat = Field(
        description="What the signature covers: fastvue-module-signature/v2 signs "
        "signed_statement; archive-sha256/v1 (versions signed before statements) the "
        "archive's SHA-256 only"
    )
    signed_statement: str | None = Field(
        description="The exact text (UTF-8) a v2 signature covers: module slug, technical "
        "name, version and the archive's SHA-256; null for v1"
    )
    min_fastvue_version: str | None
    max_fastvue_version: str | None
    release_notes: str | None
    changelog: str | None
    rejection_reasons: list[dict[str, Any]] = Field(
        description="Why the version is rejected or held for review; empty otherwise"
    )
    workflow_id: str | None
    published_at: datetime | None
    created_at: datetime

    @model_validator(mode="after")
    def _reasons_that_stand(self) -> "ModuleVersionOut":
        """A version let through (published, deprecated, or back in processing after an
        approval) shows no reason: rows from before approvals cleared them may keep one."""
        if self.status not in (VersionStatus.REJECTED, VersionStatus.MANUAL_REVIEW):
            self.rejection_reasons = []
        return self


class VersionDetailOut(ModuleVersionOut):
    scan_findings: list[dict[str, Any]]
    audit_status: str | None
    audit_report: dict[str, Any] | None
    progress: IngestProgress | None = Field(
        default=None, description="Live state from the ingestion workflow while it runs"
    )


class UploadAccepted(BaseModel):
    version: ModuleVersionOut
    workflow_id: str
    status_url: str


class VersionNotesIn(Strict):
    release_notes: MultiLine | None = Field(default=None, max_length=NOTES_MAX)
    changelog: MultiLine | None = Field(default=None, max_length=NOTES_MAX)
