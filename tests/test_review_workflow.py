"""The module review workflow on the time-skipping server: days pass in seconds."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.review import ApplyDecisionInput
from cli import embedded
from domain.decisions import DecisionCheck, DecisionReference, VerifiedDecision
from domain.modules import ModuleStatus
from domain.review import (
    DecisionAction,
    ReviewDecision,
    ReviewOutcome,
    ReviewReminder,
    ReviewRequest,
    ReviewState,
)
from workflows.module_review import ModuleReviewWorkflow

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
async def env():
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=embedded.venv_executable("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


class FakeReviewActivities:
    """Stand-ins recording what the workflow asked for; the module is pending unless
    ``archived`` says the publisher withdrew it meanwhile. A decision request is looked up
    in ``requests`` by audit id (what the API would have recorded); the real check against
    the database is in tests/test_decision_requests.py."""

    def __init__(self, archived: bool = False) -> None:
        self.archived = archived
        self.requests: dict[int, VerifiedDecision] = {}
        self.checks: list[DecisionCheck] = []
        self.decision_gate: asyncio.Event | None = None
        self.reminders: list[ReviewReminder] = []
        self.decisions: list[ApplyDecisionInput] = []
        self.notified: list[ReviewOutcome] = []
        self.indexed: list[int] = []

    def all(self):
        @activity.defn(name="review.verify_decision")
        async def verify_decision(check: DecisionCheck) -> VerifiedDecision:
            self.checks.append(check)
            found = self.requests.get(check.reference.audit_id)
            if found is None:
                raise ApplicationError(
                    "no such request", type="decision_reference_unknown", non_retryable=True
                )
            return found

        @activity.defn(name="review.apply_decision")
        async def apply_decision(request: ApplyDecisionInput) -> ReviewOutcome:
            self.decisions.append(request)
            if self.decision_gate is not None:
                await self.decision_gate.wait()
            if self.archived:
                return ReviewOutcome(module_id=request.module_id, status=ModuleStatus.ARCHIVED)
            return ReviewOutcome(
                module_id=request.module_id,
                status=request.resulting_status,
                reason=request.reason,
                decided_by=request.admin_id,
            )

        @activity.defn(name="review.notify_publisher")
        async def notify_publisher(outcome: ReviewOutcome) -> None:
            self.notified.append(outcome)

        @activity.defn(name="review.remind_admins")
        async def remind_admins(reminder: ReviewReminder) -> None:
            self.reminders.append(reminder)

        @activity.defn(name="search.index_module")
        async def index_module(module_id: int) -> None:
            self.indexed.append(module_id)

        return [verify_decision, apply_decision, notify_publisher, remind_admins, index_module]

    def decision(self, action=DecisionAction.APPROVE, reason=None) -> DecisionReference:
        """A reference to a decision request recorded for ``action``."""
        audit_id = len(self.requests) + 1
        self.requests[audit_id] = VerifiedDecision(action=action, reason=reason, admin_id=1)
        return DecisionReference(admin_id=1, audit_id=audit_id)


def request(reminder_days: float = 3) -> ReviewRequest:
    return ReviewRequest(
        module_id=7,
        slug=f"mod-{uuid.uuid4().hex[:8]}",
        display_name="Module",
        publisher_email="pub@example.com",
        reminder_after_seconds=timedelta(days=reminder_days).total_seconds(),
        escalate_after_reminders=2,
    )


async def start(env, fakes: FakeReviewActivities, req: ReviewRequest):
    queue = f"review-{uuid.uuid4().hex}"
    worker = Worker(
        env.client, task_queue=queue, workflows=[ModuleReviewWorkflow], activities=fakes.all()
    )
    handle = await env.client.start_workflow(
        ModuleReviewWorkflow.run, req, id=f"review-{req.slug}", task_queue=queue
    )
    return worker, handle


async def test_reminds_after_three_days_escalates_then_publishes_on_approval(env):
    fakes = FakeReviewActivities()
    worker, handle = await start(env, fakes, request())
    async with worker:
        await env.sleep(2 * DAY)
        assert fakes.reminders == []
        await env.sleep(1 * DAY + timedelta(minutes=1))
        progress = await handle.query(ModuleReviewWorkflow.progress)
        assert progress.reminders_sent == 1 and not progress.escalated
        assert [r.reminder_number for r in fakes.reminders] == [1]
        assert fakes.reminders[0].escalated is False

        await env.sleep(3 * DAY)
        assert [r.escalated for r in fakes.reminders] == [False, True]
        assert (await handle.query(ModuleReviewWorkflow.progress)).state is ReviewState.WAITING

        outcome = await handle.execute_update(ModuleReviewWorkflow.decide, fakes.decision())
        assert outcome.status is ModuleStatus.PUBLISHED
        result = await handle.result()
    assert result.status is ModuleStatus.PUBLISHED
    assert len(fakes.decisions) == 1
    assert [n.status for n in fakes.notified] == [ModuleStatus.PUBLISHED]
    assert fakes.indexed == [7], "an approved module is put in the search index"


async def test_rejection_carries_its_reason_to_the_publisher(env):
    fakes = FakeReviewActivities()
    worker, handle = await start(env, fakes, request())
    async with worker:
        outcome = await handle.execute_update(
            ModuleReviewWorkflow.decide,
            fakes.decision(DecisionAction.REJECT, reason="  Missing screenshots  "),
        )
        await handle.result()
    assert outcome.status is ModuleStatus.REJECTED
    assert outcome.reason == "Missing screenshots"
    assert fakes.notified[0].reason == "Missing screenshots"


async def refused(handle, dec) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(ModuleReviewWorkflow.decide, dec)
    assert isinstance(failure.value.cause, ApplicationError)
    return failure.value.cause


async def test_decisions_without_a_verified_reference_are_refused(env):
    fakes = FakeReviewActivities()
    worker, handle = await start(env, fakes, request())
    async with worker:
        claimed = ReviewDecision(action=DecisionAction.APPROVE, admin_id=1)
        assert (await refused(handle, claimed)).type == "decision_reference_required"
        unknown = DecisionReference(admin_id=1, audit_id=999)
        assert (await refused(handle, unknown)).type == "decision_reference_unknown"
        first = await handle.execute_update(ModuleReviewWorkflow.decide, fakes.decision())
        assert first.status is ModuleStatus.PUBLISHED
        await handle.result()
    assert len(fakes.decisions) == 1, "the refused decisions never reached an activity"
    assert [c.reference.audit_id for c in fakes.checks] == [999, 1]


async def test_second_decision_while_first_is_applied_is_refused(env):
    fakes = FakeReviewActivities()
    fakes.decision_gate = asyncio.Event()
    worker, handle = await start(env, fakes, request())
    async with worker:
        first = await handle.start_update(
            ModuleReviewWorkflow.decide,
            fakes.decision(),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        second = await refused(handle, fakes.decision(DecisionAction.REJECT, reason="too late"))
        assert second.type == "already_decided"
        fakes.decision_gate.set()
        assert (await first.result()).status is ModuleStatus.PUBLISHED
        result = await handle.result()
    assert result.status is ModuleStatus.PUBLISHED
    assert [d.action for d in fakes.decisions] == [DecisionAction.APPROVE]


async def test_archiving_withdraws_the_review_and_refuses_decisions(env):
    fakes = FakeReviewActivities(archived=True)
    worker, handle = await start(env, fakes, request())
    async with worker:
        await handle.signal(ModuleReviewWorkflow.withdraw)
        result = await handle.result()
    assert result.status is ModuleStatus.ARCHIVED
    assert fakes.decisions == [] and fakes.notified == []


async def test_decision_racing_an_archive_is_refused_not_recorded(env):
    fakes = FakeReviewActivities(archived=True)
    worker, handle = await start(env, fakes, request())
    async with worker:
        error = await refused(handle, fakes.decision())
        assert error.type == "review_withdrawn"
        result = await handle.result()
    assert result.status is ModuleStatus.ARCHIVED
    assert fakes.notified == []


async def test_recorded_history_replays_deterministically(env):
    fakes = FakeReviewActivities()
    worker, handle = await start(env, fakes, request(reminder_days=1))
    async with worker:
        await env.sleep(DAY + timedelta(minutes=1))
        await handle.execute_update(ModuleReviewWorkflow.decide, fakes.decision())
        await handle.result()
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[ModuleReviewWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
