"""Version ingestion: an upload starts the pipeline; admins decide on versions it holds."""

from domain import processes
from domain.errors import Conflict
from domain.ingest import IngestProgress, IngestRequest, VersionDecision
from domain.versions import VersionStatus
from integrations.temporal.front_door import TemporalFrontDoor


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
    workflows: TemporalFrontDoor, workflow_id: str, decision: VersionDecision
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
