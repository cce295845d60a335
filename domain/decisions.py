"""Admin decisions sent to workflows: a reference the workflow checks, never a claim.

An admin's approval or rejection reaches a workflow (module review, a version held by the
pipeline, a listing revision) as a Temporal update. Anyone who can reach the Temporal
frontend or UI can send an update, so its payload proves nothing. The API therefore records
the decision request in the audit log first (who, on what, which action, the reason) and
the update carries only a reference to that row: the admin's user id and the row's id.
Before acting, the workflow has an activity read the row back and check it with
``check_decision_request``: the row exists, is a decision request on this very subject,
was written by that user, who is an active admin now, is recent, and was not used by
another update before. The decision the workflow acts on (action, reason) is the one read
from the row, not anything in the payload.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.access import Role
from domain.errors import DomainError, ErrorKind

DECISION_REQUEST_MAX_AGE = timedelta(minutes=15)
"""A decision request is sent to its workflow right after it is recorded; an older unused
one (the send failed, the admin tried again) is not accepted any more."""
CLAIMANT_MAX = 300


class DecisionSubject(StrEnum):
    """What a decision is about: the audit row's ``entity_type``."""

    MODULE = "module"
    VERSION = "version"
    LISTING_REVISION = "listing_revision"

    @property
    def request_action(self) -> str:
        """The audit action of a decision request on this kind of subject."""
        return f"{self.value}.decision_requested"


class DecisionAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class DecisionReference(BaseModel):
    """The whole payload of a decision update."""

    model_config = ConfigDict(extra="forbid")

    admin_id: int
    audit_id: int


class DecisionCheck(BaseModel):
    """What the verifying activity is asked: does ``reference`` decide ``subject``
    ``entity_id``, for the update ``claimant`` (workflow id, run id, update id)?"""

    reference: DecisionReference
    subject: DecisionSubject
    entity_id: int
    claimant: str


class VerifiedDecision(BaseModel):
    """A decision read from its verified audit row."""

    action: DecisionAction
    reason: str | None = None
    admin_id: int


class RecordedRequest(BaseModel):
    """The audit row a reference names, as the database has it now."""

    action: str
    entity_type: str
    entity_id: str
    actor_id: int | None
    actor_role: str | None
    actor_active: bool
    changes: dict[str, Any]
    created_at: datetime
    claimed_by: str | None
    """The update that used the row already, if one did."""


class DecisionRefused(DomainError):
    kind = ErrorKind.FORBIDDEN


REFUSAL_CODES = frozenset(
    {
        "decision_reference_unknown",
        "decision_reference_mismatch",
        "decision_reference_not_admin",
        "decision_reference_stale",
        "decision_reference_used",
    }
)


def request_changes(action: DecisionAction, reason: str | None) -> dict[str, Any]:
    """What the API records in the decision request's audit row."""
    return {"action": action.value, "reason": reason}


def check_decision_request(
    recorded: RecordedRequest | None, check: DecisionCheck, now: datetime
) -> VerifiedDecision:
    """The decision the reference stands for, or ``DecisionRefused`` with the reason."""
    reference = check.reference
    if recorded is None:
        raise DecisionRefused(
            "decision_reference_unknown", f"no decision request {reference.audit_id} is recorded"
        )
    if (
        recorded.action != check.subject.request_action
        or recorded.entity_type != check.subject.value
        or recorded.entity_id != str(check.entity_id)
        or recorded.actor_id != reference.admin_id
    ):
        raise DecisionRefused(
            "decision_reference_mismatch",
            f"decision request {reference.audit_id} is not a request by user "
            f"{reference.admin_id} to decide {check.subject.value} {check.entity_id}",
        )
    if recorded.actor_role != Role.ADMIN or not recorded.actor_active:
        raise DecisionRefused(
            "decision_reference_not_admin",
            f"user {reference.admin_id} is not an active admin",
        )
    if recorded.claimed_by is not None and recorded.claimed_by != check.claimant:
        raise DecisionRefused(
            "decision_reference_used", f"decision request {reference.audit_id} was used already"
        )
    if recorded.claimed_by is None and now - recorded.created_at > DECISION_REQUEST_MAX_AGE:
        raise DecisionRefused(
            "decision_reference_stale",
            f"decision request {reference.audit_id} is too old; decide again",
        )
    try:
        action = DecisionAction(str(recorded.changes.get("action")))
    except ValueError:
        raise DecisionRefused(
            "decision_reference_mismatch",
            f"decision request {reference.audit_id} names no decision",
        ) from None
    reason = recorded.changes.get("reason")
    return VerifiedDecision(
        action=action,
        reason=reason if isinstance(reason, str) else None,
        admin_id=reference.admin_id,
    )
