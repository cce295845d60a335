"""Version ingestion: an upload starts the pipeline; admins decide on versions it holds."""

from sqlalchemy.ext.asyncio import AsyncSession

from domain import processes
from domain.decisions import DecisionAction, DecisionReference, DecisionSubject
from domain.errors import Conflict, NotFound
from domain.ingest import IngestProgress, IngestRequest, IngestTimeouts, VersionDecision
from domain.versions import VersionStatus
from integrations.temporal.front_door import TemporalFrontDoor
from models.module import ModuleVersion
from models.repositories import audit, versions
from settings import Settings


def timeouts_from(settings: Settings) -> IngestTimeouts:
    """The pipeline's timeouts a new run is started with."""
    return IngestTimeouts(
        step_seconds=settings.ingestion_step_timeout.total_seconds(),
        scan_seconds=settings.ingestion_scan_timeout.total_seconds(),
        scan_heartbeat_seconds=settings.ingestion_scan_heartbeat.total_seconds(),
    )


def workflow_id_of(request: IngestRequest) -> str:
    return processes.VersionIngestion.workflow_id(request.module_slug, request.version)


async def start_ingestion(workflows: TemporalFrontDoor, request: IngestRequest) -> str:
    """Start the pipeline, or find it running. A finished run is never started again."""
    workflow_id = workflow_id_of(request)
    await workflows.start(
        processes.VersionIngestion.TYPE,
        request,
        workflow_id=workflow_id,
        module_slug=request.module_slug,
    )
    return workflow_id


async def progress(workflows: TemporalFrontDoor, workflow_id: str) -> IngestProgress | None:
    return await workflows.query(
        workflow_id, processes.VersionIngestion.PROGRESS, result_type=IngestProgress
    )


async def decide(
    workflows: TemporalFrontDoor, workflow_id: str, decision: DecisionReference
) -> VersionStatus:
    status = await workflows.update(
        workflow_id,
        processes.VersionIngestion.DECIDE,
        decision,
        result_type=VersionStatus,
        when_gone=Conflict("not_in_manual_review", "no pipeline waits for this version"),
    )
    assert status is not None
    return status


# --- the admins' side ---------------------------------------------------------------------


async def pending_versions(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[ModuleVersion], int]:
    """Versions held for a person (medium findings, audit unavailable), oldest first."""
    return await versions.in_manual_review(session, limit=limit, offset=offset)


async def decide_version(
    session: AsyncSession,
    version_id: int,
    decision: VersionDecision,
    *,
    workflows: TemporalFrontDoor,
) -> tuple[ModuleVersion, VersionStatus]:
    """An admin's decision on a held version, sent to the pipeline that holds it; the
    version as the pipeline left it, and the status the decision gave it.

    The decision is recorded as a decision request in the audit log and committed; the
    update carries only a reference to it, which the pipeline checks against the database
    (``domain.decisions``)."""
    row = await versions.get_version(session, version_id)
    if row is None:
        raise NotFound("version_not_found", "no such version")
    if row.status != VersionStatus.MANUAL_REVIEW or not row.workflow_id:
        raise Conflict("not_in_manual_review", f"the version is {row.status}")
    workflow_id = row.workflow_id
    audit_id = await audit.record_decision_request(
        session,
        admin_id=decision.admin_id,
        subject=DecisionSubject.VERSION,
        entity_id=version_id,
        action=DecisionAction.APPROVE if decision.approve else DecisionAction.REJECT,
        reason=decision.reason,
    )
    # Commit the request before the pipeline reads it, and rather than hold the
    # transaction open while the pipeline decides; the version is read back afterwards.
    await session.commit()
    reference = DecisionReference(admin_id=decision.admin_id, audit_id=audit_id)
    status = await decide(workflows, workflow_id, reference)
    row = await versions.get_version(session, version_id)
    assert row is not None
    await session.refresh(row)
    return row, status
