"""The one way the services start, update, signal and query workflows.

Workflows are named by ``domain.processes``; answers are decoded into the types the caller
asks for. Every failure Temporal reports is translated here, once, into the API's error
shape:

- an update the workflow refuses (its validator or handler raises ``ApplicationError``
  with a type) becomes that type as the error code: 403 for a refused decision reference
  (``domain.decisions``), else 409;
- a workflow that is not running (never started, or finished) is ``None`` for queries,
  ``False`` for signals, and the caller's ``when_gone`` error (or ``None``) for updates;
- Temporal itself unreachable or timing out is 503 ``workflow_service_unavailable``;
- an update or query no worker answers within ``answer_timeout`` (the workers are down or
  stuck) is 503 ``workflow_not_answering``: the request ends instead of waiting for ever
  (an update) or for Temporal's own 30 s and a claim that Temporal is unreachable (a
  query). The update may still be applied once a worker runs.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import Enum
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    ScheduleOverlapPolicy,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.decisions import REFUSAL_CODES
from domain.errors import Conflict, DomainError, ErrorKind
from integrations.temporal import MODULE_SLUG

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0
NUDGE_TIMEOUT = 2.0
"""How long a caller waits for a best-effort schedule trigger (``nudge_schedule``)."""
ANSWER_TIMEOUT = timedelta(seconds=60)
"""How long a request waits for a workflow's answer to an update, by default."""
GONE = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
"""How Temporal answers a message to a workflow that does not run (any more)."""
REFUSAL_KINDS = {
    "decision_reference_required": ErrorKind.FORBIDDEN,
    **dict.fromkeys(REFUSAL_CODES, ErrorKind.FORBIDDEN),
}
"""Refusal types that are not a conflict with the workflow's state."""


class TemporalUnavailable(DomainError):
    kind = ErrorKind.UNAVAILABLE


def unavailable(code: str = "workflow_service_unavailable") -> TemporalUnavailable:
    return TemporalUnavailable(code, "the workflow service is not reachable; try again shortly")


class StartPolicy(Enum):
    """What a start does when a run with the same id exists or existed."""

    ONCE = (WorkflowIDConflictPolicy.USE_EXISTING, WorkflowIDReusePolicy.REJECT_DUPLICATE)
    """Join the run in progress; a run that has ended is never started again, so a retried
    request can never repeat a business process (an upload, a checkout, a refund)."""
    JOIN_OR_RESTART = (WorkflowIDConflictPolicy.USE_EXISTING, WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    """Join the run in progress, or start anew after any run that ended (a review of a
    module submitted again, a payout an admin retries)."""
    UNLESS_RAN = (WorkflowIDConflictPolicy.FAIL, WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY)
    """Start only when no run is in progress and none ended well (a month's payouts)."""


class TemporalConnector:
    """A lazily connected client, so the API starts even while Temporal is down."""

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
                    self._client = await asyncio.wait_for(self._connect(), CONNECT_TIMEOUT)
                except Exception as error:
                    raise unavailable() from error
        return self._client

    @classmethod
    def of(cls, client: Client) -> "TemporalConnector":
        async def connected() -> Client:
            return client

        connector = cls(connected)
        connector._client = client
        return connector


def not_answering() -> TemporalUnavailable:
    return TemporalUnavailable(
        "workflow_not_answering", "the workflow did not answer in time; try again shortly"
    )


def refusal(error: WorkflowUpdateFailedError) -> DomainError:
    """The workflow's own reason for refusing an update, as an API error."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type:
        kind = REFUSAL_KINDS.get(cause.type, ErrorKind.CONFLICT)
        return DomainError(cause.type, cause.message, kind)
    return Conflict("update_refused", str(error))


class TemporalFrontDoor:
    def __init__(
        self,
        connector: TemporalConnector,
        task_queue: str,
        answer_timeout: timedelta = ANSWER_TIMEOUT,
    ) -> None:
        self.connector = connector
        self.task_queue = task_queue
        self.answer_timeout = answer_timeout

    async def _answer(self, call: Awaitable[T]) -> T:
        """The workflow's answer to an update or query, waited for ``answer_timeout`` at
        most."""
        try:
            return await asyncio.wait_for(call, self.answer_timeout.total_seconds())
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # the client turns the cancelled wait into the latter
            raise not_answering() from None

    async def client(self) -> Client:
        return await self.connector.client()

    async def start(
        self,
        workflow: str,
        arg: Any,
        *,
        workflow_id: str,
        policy: StartPolicy = StartPolicy.ONCE,
        module_slug: str | None = None,
        **options: Any,
    ) -> bool:
        """Start ``workflow`` under ``workflow_id``. False when the policy refused because
        of an earlier or running run; True when a run is now going (this one, or the one it
        joined)."""
        client = await self.client()
        conflict, reuse = policy.value
        try:
            await client.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=conflict,
                id_reuse_policy=reuse,
                search_attributes=_attributes(module_slug),
                **options,
            )
        except WorkflowAlreadyStartedError:
            return False
        except RPCError as error:
            raise unavailable() from error
        return True

    async def update(
        self,
        workflow_id: str,
        update: str,
        arg: Any = None,
        *,
        result_type: type[T],
        when_gone: DomainError | None = None,
    ) -> T | None:
        """Send an update and wait for its answer. A workflow that is not running raises
        ``when_gone``, or answers None when that is not given."""
        handle = (await self.client()).get_workflow_handle(workflow_id)
        args = [] if arg is None else [arg]
        try:
            return await self._answer(
                handle.execute_update(update, args=args, result_type=result_type)
            )
        except WorkflowUpdateFailedError as error:
            raise refusal(error) from error
        except RPCError as error:
            if error.status in GONE:
                if when_gone is not None:
                    raise when_gone from error
                return None
            raise unavailable() from error

    async def update_with_start(
        self,
        workflow: str,
        arg: Any,
        *,
        workflow_id: str,
        update: str,
        update_arg: Any,
        result_type: type[T],
        module_slug: str | None = None,
    ) -> T:
        """Send an update to the run in progress, starting the workflow first if none is."""
        conflict, reuse = StartPolicy.JOIN_OR_RESTART.value
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            workflow,
            arg,
            id=workflow_id,
            task_queue=self.task_queue,
            id_conflict_policy=conflict,
            id_reuse_policy=reuse,
            search_attributes=_attributes(module_slug),
        )
        client = await self.client()
        try:
            return await self._answer(
                client.execute_update_with_start_workflow(
                    update, update_arg, start_workflow_operation=start, result_type=result_type
                )
            )
        except TemporalUnavailable:
            # The call given up on leaves the start's outcome unread: read it, or asyncio
            # logs "Future exception was never retrieved" (it is settled by now; should it
            # not be, the wait cancels it).
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(start.workflow_handle(), 1)
            raise
        except WorkflowUpdateFailedError as error:
            raise refusal(error) from error
        except RPCError as error:
            raise unavailable() from error

    async def signal(self, workflow_id: str, signal: str, arg: Any = None) -> bool:
        """Send a signal; False when the workflow does not run."""
        handle = (await self.client()).get_workflow_handle(workflow_id)
        try:
            await handle.signal(signal, args=[] if arg is None else [arg])
        except RPCError as error:
            if error.status in GONE:
                return False
            raise unavailable() from error
        return True

    async def query(self, workflow_id: str, query: str, *, result_type: type[T]) -> T | None:
        """Ask a workflow (running or closed) where it stands; None when there is none."""
        handle = (await self.client()).get_workflow_handle(workflow_id)
        try:
            return await self._answer(handle.query(query, result_type=result_type))
        except RPCError as error:
            if error.status in GONE:
                return None
            if error.status is RPCStatusCode.DEADLINE_EXCEEDED:
                raise not_answering() from error
            raise unavailable() from error

    async def wait_closed(self, workflow_id: str, timeout: timedelta) -> bool:
        """Let a running workflow end, up to ``timeout``; True when none runs (any more)."""
        handle = (await self.client()).get_workflow_handle(workflow_id)
        try:
            described = await handle.describe()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return True
            raise unavailable() from error
        if described.status is not WorkflowExecutionStatus.RUNNING:
            return True
        try:
            await asyncio.wait_for(handle.result(), timeout=timeout.total_seconds())
        except TimeoutError:
            return False
        except WorkflowFailureError:
            pass
        return True

    async def nudge_schedule(self, schedule_id: str) -> bool:
        """Run a schedule's action now rather than at its next time (skipped while a run
        is going), for work someone is waiting for. Best effort: False when Temporal or
        the schedule is not there, and the schedule's own timer does it later."""

        async def trigger() -> None:
            client = await self.client()
            await client.get_schedule_handle(schedule_id).trigger(
                overlap=ScheduleOverlapPolicy.SKIP
            )

        try:
            await asyncio.wait_for(trigger(), NUDGE_TIMEOUT)
        except (RPCError, TemporalUnavailable, TimeoutError):
            return False
        return True


def _attributes(module_slug: str | None) -> TypedSearchAttributes | None:
    if module_slug is None:
        return None
    return TypedSearchAttributes([SearchAttributePair(MODULE_SLUG, module_slug)])
