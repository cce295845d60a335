"""A lazily connected Temporal client, so the API starts even while Temporal is down."""

import asyncio
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.errors import DomainError, ErrorKind
from settings import Settings


class TemporalUnavailable(DomainError):
    kind = ErrorKind.UNAVAILABLE


class TemporalConnector:
    def __init__(self, connect: Callable[[], Awaitable[Client]]) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(self._connect(), timeout=5)
                except Exception as error:
                    raise TemporalUnavailable(
                        "workflow_service_unavailable",
                        "the workflow service is not reachable; try again shortly",
                    ) from error
        return self._client

    @classmethod
    def of(cls, client: Client) -> "TemporalConnector":
        connector = cls(lambda: asyncio.sleep(0, client))
        connector._client = client
        return connector


async def start_once(
    client: Client, run, arg, workflow_id: str, settings: Settings, **options
) -> str:
    """Start the workflow, or find it running; a finished run is never started again, so a
    retried request can never repeat a business process."""
    try:
        await client.start_workflow(
            run,
            arg,
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            **options,
        )
    except WorkflowAlreadyStartedError:
        pass
    return workflow_id
