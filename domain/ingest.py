"""Messages of the version ingestion workflow."""

from datetime import datetime

from pydantic import BaseModel, Field

from domain.versions import PipelineStep, Reason, ScanVerdict, VersionStatus


class IngestTimeouts(BaseModel):
    """How long the pipeline's steps may take before they are tried again (on another
    worker, if this one died). They travel in the request, set from the settings when the
    upload starts the run, so the workflow stays deterministic; the defaults are what runs
    started before the timeouts were carried replay with."""

    step_seconds: float = 120.0
    """Each quick step (checks, signing, storing, publishing, indexing, mails)."""
    scan_seconds: float = 900.0
    """The scan, a long subprocess."""
    scan_heartbeat_seconds: float = 12.0
    """The scan heartbeats every few seconds; silence this long means its worker died."""


class IngestRequest(BaseModel):
    version_id: int
    module_id: int
    module_slug: str
    technical_name: str
    version: str
    staging_key: str
    upload_sha256: str
    uploaded_by: int
    timeouts: IngestTimeouts = IngestTimeouts()


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
    """A decision the pipeline acts on, read from its verified decision request
    (``domain.decisions``). Runs decided before decisions were references got this as the
    update's payload (with an ``admin_role``, ignored); only their replays still do."""

    approve: bool
    reason: str | None = Field(default=None, max_length=2000)
    admin_id: int


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
