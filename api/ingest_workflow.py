"""Starting and talking to the version ingestion workflow from the API."""

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.temporal import start_once
from domain.errors import Conflict, Forbidden
from domain.ingest import IngestProgress, IngestRequest, VersionDecision
from domain.versions import VersionStatus, ingest_workflow_id
from settings import Settings
from workflows.module_review import MODULE_SLUG
from workflows.version_ingestion import VersionIngestionWorkflow


async def start_ingestion(client: Client, request: IngestRequest, settings: Settings) -> str:
    """Start the pipeline, or find it running. A finished run is never started again."""
    return await start_once(
        client,
        VersionIngestionWorkflow.run,
        request,
        ingest_workflow_id(request.module_slug, request.version),
        settings,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(MODULE_SLUG, request.module_slug)]
        ),
    )


async def progress(client: Client, workflow_id: str) -> IngestProgress | None:
    try:
        return await client.get_workflow_handle(workflow_id).query(
            VersionIngestionWorkflow.progress
        )
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return None
        raise


async def decide(client: Client, workflow_id: str, decision: VersionDecision) -> VersionStatus:
    try:
        return await client.get_workflow_handle(workflow_id).execute_update(
            VersionIngestionWorkflow.decide, decision
        )
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and cause.type:
            kind = Forbidden if cause.type == "admin_required" else Conflict
            raise kind(cause.type, cause.message) from error
        raise
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise Conflict("not_in_manual_review", "no pipeline waits for this version") from error
        raise
