"""Version ingestion: check, scan, sign, store, index and publish an uploaded archive."""

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.packages import PackageActivities
    from activities.search_index import SearchIndexActivities
    from domain import processes
    from domain.decisions import DecisionAction, DecisionReference, DecisionSubject
    from domain.ingest import IngestProgress, IngestRequest, PublishOutcome, VersionDecision
    from domain.versions import PipelineStep, Reason, ScanVerdict, VersionStatus
    from workflows.activity_options import ActivityOptions
    from workflows.decisions import reference_required, verified_decision
    from workflows.module_review import MODULE_SLUG, ModuleReviewWorkflow

RETRIES = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
)


def quick_step(request: IngestRequest) -> ActivityOptions:
    """Options of a quick step, with the timeouts the run was started with."""
    return {
        "start_to_close_timeout": timedelta(seconds=request.timeouts.step_seconds),
        "retry_policy": RETRIES,
    }


def long_step(request: IngestRequest) -> ActivityOptions:
    """Options of the scan: a long, heartbeating step."""
    return {
        "start_to_close_timeout": timedelta(seconds=request.timeouts.scan_seconds),
        "heartbeat_timeout": timedelta(seconds=request.timeouts.scan_heartbeat_seconds),
        "retry_policy": RETRIES,
    }


@workflow.defn(name=processes.VersionIngestion.TYPE)
class VersionIngestionWorkflow:
    @workflow.init
    def __init__(self, request: IngestRequest) -> None:
        self.request = request
        self.step = PipelineStep.RECEIVED
        self.status = VersionStatus.PROCESSING
        self.reasons: list[Reason] = []
        self.started_at = workflow.now()
        self.decision: VersionDecision | None = None

    @workflow.run
    async def run(self, request: IngestRequest) -> PublishOutcome | None:
        checks = [
            (PipelineStep.ARCHIVE, PackageActivities.check_archive),
            (PipelineStep.MANIFEST, PackageActivities.check_manifest),
            (PipelineStep.HASH, PackageActivities.hash_archive),
        ]
        for step, check in checks:
            self.step = step
            outcome = await workflow.execute_activity_method(check, request, **quick_step(request))
            if not outcome.passed:
                await self._reject(outcome.reasons)
                return None

        self.step = PipelineStep.SCAN
        scan = await workflow.execute_activity_method(
            PackageActivities.scan, request, **long_step(request)
        )
        if scan.verdict is ScanVerdict.REJECT:
            await self._reject(scan.reasons)
            return None
        if scan.verdict is ScanVerdict.REVIEW and not await self._approved_by_admin(scan.reasons):
            await self._reject(self.reasons)
            return None

        for step, activity_method in [
            (PipelineStep.SIGN, PackageActivities.sign),
            (PipelineStep.STORE, PackageActivities.store),
        ]:
            self.step = step
            await workflow.execute_activity_method(activity_method, request, **quick_step(request))
        self.step = PipelineStep.PUBLISH
        published = await workflow.execute_activity_method(
            PackageActivities.publish, request, **quick_step(request)
        )
        self.step = PipelineStep.INDEX
        await workflow.execute_activity_method(
            SearchIndexActivities.index_module, request.module_id, **quick_step(request)
        )
        self.status = published.status
        if published.module_needs_review:
            await self._start_module_review()
        await workflow.execute_activity_method(
            PackageActivities.notify, args=[request, []], **quick_step(request)
        )
        self.step = PipelineStep.DONE
        await workflow.wait_condition(workflow.all_handlers_finished)
        return published

    async def _approved_by_admin(self, reasons: list[Reason]) -> bool:
        """Hold the version for a person; True when an admin lets it through."""
        self.step = PipelineStep.MANUAL_REVIEW
        self.status = VersionStatus.MANUAL_REVIEW
        self.reasons = reasons
        await workflow.execute_activity_method(
            PackageActivities.hold_for_review,
            args=[self.request, reasons],
            **quick_step(self.request),
        )
        await workflow.wait_condition(lambda: self.decision is not None)
        assert self.decision is not None
        if workflow.patched("record-version-decision"):
            await workflow.execute_activity_method(
                PackageActivities.record_review_decision,
                args=[self.request, self.decision],
                **quick_step(self.request),
            )
        if self.decision.approve:
            self.status = VersionStatus.PROCESSING
            return True
        self.reasons = [
            *reasons,
            Reason(
                code="rejected_by_admin",
                detail=self.decision.reason or "rejected in manual review",
                step=PipelineStep.MANUAL_REVIEW,
            ),
        ]
        return False

    async def _reject(self, reasons: list[Reason]) -> None:
        self.reasons = reasons
        await workflow.execute_activity_method(
            PackageActivities.reject, args=[self.request, reasons], **quick_step(self.request)
        )
        await workflow.execute_activity_method(
            PackageActivities.notify, args=[self.request, reasons], **quick_step(self.request)
        )
        self.status = VersionStatus.REJECTED
        self.step = PipelineStep.DONE
        await workflow.wait_condition(workflow.all_handlers_finished)
        return None

    async def _start_module_review(self) -> None:
        review = await workflow.execute_activity_method(
            PackageActivities.start_module_review, self.request, **quick_step(self.request)
        )
        if review is None:
            return
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                ModuleReviewWorkflow.run,
                review,
                id=processes.ModuleReview.workflow_id(review.slug),
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(MODULE_SLUG, review.slug)]
                ),
            )

    @workflow.update(name=processes.VersionIngestion.DECIDE)
    async def decide(self, decision: DecisionReference | VersionDecision) -> VersionStatus:
        """An admin's decision: a reference to the decision request the API recorded,
        checked (and claimed) against the database before anything changes. A plain
        ``VersionDecision`` only comes from histories of runs decided before references
        (the validator refuses it live), so which path a run takes is in its history."""
        if isinstance(decision, DecisionReference):
            verified = await verified_decision(
                decision, DecisionSubject.VERSION, self.request.version_id
            )
            self._check_waiting()
            approve = verified.action is DecisionAction.APPROVE
            if not approve and not (verified.reason or "").strip():
                raise ApplicationError("a rejection needs a reason", type="reason_required")
            self.decision = VersionDecision(
                approve=approve, reason=verified.reason, admin_id=verified.admin_id
            )
        else:
            self.decision = decision
        await workflow.wait_condition(lambda: self.status is not VersionStatus.MANUAL_REVIEW)
        return self.status

    @decide.validator
    def validate_decide(self, decision: DecisionReference | VersionDecision) -> None:
        if not isinstance(decision, DecisionReference):
            raise reference_required()
        self._check_waiting()

    def _check_waiting(self) -> None:
        if self.step is not PipelineStep.MANUAL_REVIEW or self.decision is not None:
            raise ApplicationError(
                "this version is not waiting for a manual review", type="not_in_manual_review"
            )

    @workflow.query(name=processes.VersionIngestion.PROGRESS)
    def progress(self) -> IngestProgress:
        return IngestProgress(
            step=self.step, status=self.status, reasons=self.reasons, started_at=self.started_at
        )
