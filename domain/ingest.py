"""Messages of the version ingestion workflow."""

from datetime import datetime

from pydantic import BaseModel, Field

from domain.access import Role
from domain.versions import PipelineStep, Reason, ScanVerdict, VersionStatus


class IngestRequest(BaseModel):
    version_id: int
    module_id: int
    module_slug: str
    technical_name: str
    version: str
    staging_key: str
    upload_sha256: str
    uploaded_by: int


class StepOutcome(BaseModel):
    """What a checking step found; an empty ``reasons`` means it passed."""

    reasons: list[Reason] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


class ScanOutcome(BaseModel):
    verdict: ScanVerdict
    reasons: list[Reason] = Field(default_factory=list)
    findings: int = 0


class VersionDecision(BaseModel):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)
    admin_id: int
    admin_role: Role


class PublishOutcome(BaseModel):
    version_id: int
    status: VersionStatus
    is_latest: bool
    module_needs_review: bool


class IngestProgress(BaseModel):
    step: PipelineStep
    status: VersionStatus
    reasons: list[Reason] = Field(default_factory=list)
    started_at: datetime
