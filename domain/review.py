"""Module review: the messages the review workflow exchanges and its decision rules."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from domain.decisions import DecisionAction as DecisionAction
from domain.errors import Conflict, Forbidden
from domain.modules import ModuleStatus

REASON_MAX = 2000
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX)]


class ReviewState(StrEnum):
    WAITING = "waiting"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


class ReviewRequest(BaseModel):
    module_id: int
    slug: str
    display_name: str
    publisher_email: str
    reminder_after_seconds: float = Field(gt=0)
    escalate_after_reminders: int = Field(ge=1)


class ReviewDecision(BaseModel):
    """A decision the workflow acts on, read from its verified decision request
    (``domain.decisions``). Runs decided before decisions were references got this as the
    update's payload (with an ``admin_role``, ignored); only their replays still do."""

    action: DecisionAction
    reason: Reason | None = None
    admin_id: int

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> "ReviewDecision":
        if not self.reason:
            self.reason = None
        if self.action is DecisionAction.REJECT and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self

    @property
    def resulting_status(self) -> ModuleStatus:
        if self.action is DecisionAction.APPROVE:
            return ModuleStatus.PUBLISHED
        return ModuleStatus.REJECTED


class ReviewOutcome(BaseModel):
    module_id: int
    status: ModuleStatus
    reason: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None


class ReviewReminder(BaseModel):
    module_id: int
    slug: str
    display_name: str
    reminder_number: int
    escalated: bool
    waiting_since: datetime


class ReviewProgress(BaseModel):
    state: ReviewState
    waiting_since: datetime
    reminders_sent: int
    escalated: bool
    outcome: ReviewOutcome | None = None


def check_decision_allowed(state: ReviewState) -> None:
    """Refuse a second decision, or one on a withdrawn module. Whether the admin may
    decide is checked on the decision request (``domain.decisions``)."""
    if state is ReviewState.DECIDED:
        raise Conflict("already_decided", "this module review already has a decision")
    if state is ReviewState.WITHDRAWN:
        raise Conflict("review_withdrawn", "the module was archived while waiting for review")


def check_reviewer(
    decision: ReviewDecision, *, owner_user_id: int, has_downloadable_version: bool
) -> None:
    """Refuse, before it reaches the workflow, a decision by the module's own publisher (an
    admin who also publishes reviews others' modules only), and an approval of a module
    with no version that passed the pipeline (published, buyers would find nothing)."""
    if decision.admin_id == owner_user_id:
        raise Forbidden("own_module", "an admin cannot decide the review of their own module")
    if decision.action is DecisionAction.APPROVE and not has_downloadable_version:
        raise Conflict(
            "no_published_version",
            "the module has no version that passed the pipeline; it cannot be approved yet",
        )


def reminder_is_escalation(reminder_number: int, escalate_after: int) -> bool:
    return reminder_number >= escalate_after
