"""Listing revisions: what a published module shows buyers changes only after review.

A published module's listing text and media (``REVIEWED_FIELDS``) are what buyers read and
search; a publisher's edit of them is kept as a pending revision, the live listing
unchanged, until an admin approves it through the ``ListingRevisionReview`` workflow.
Prices, the license model and the visibility change directly: they are checked by rules
(``domain.modules.check_pricing``), audited, and not free text a reviewer has to read.
Drafts and rejected modules, which nobody but the publisher sees, are edited directly.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.decisions import DecisionAction
from domain.errors import Conflict, Forbidden
from domain.modules import ModuleStatus

REVIEWED_FIELDS = (
    "display_name",
    "short_description",
    "description",
    "category_id",
    "icon_url",
    "banner_url",
    "video_url",
    "screenshots",
    "tags",
    "keywords",
)
"""Listing fields a published module changes only through a reviewed revision."""


class RevisionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    """Replaced by a newer revision, or the module was archived."""


def needs_review(status: ModuleStatus) -> bool:
    """Whether listing edits of a module in ``status`` wait for review (it is public)."""
    return status is ModuleStatus.PUBLISHED


def reviewed_changes(live: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The reviewed fields in ``changes`` that differ from the ``live`` values."""
    return {
        field: changes[field]
        for field in REVIEWED_FIELDS
        if field in changes and changes[field] != live.get(field)
    }


def check_revision_decider(admin_id: int, owner_user_id: int) -> None:
    if admin_id == owner_user_id:
        raise Forbidden("own_module", "an admin cannot decide the review of their own module")


def check_revision_pending(status: RevisionStatus) -> None:
    if status is not RevisionStatus.PENDING:
        raise Conflict("revision_not_pending", f"the revision is {status}, not waiting for review")


class RevisionReviewRequest(BaseModel):
    """What starts a ``ListingRevisionReview`` run."""

    revision_id: int
    module_id: int
    slug: str
    display_name: str
    reminder_after_seconds: float = Field(gt=0)
    escalate_after_reminders: int = Field(ge=1)


class RevisionDecision(BaseModel):
    """A verified decision on a revision, as the applying activity gets it."""

    revision_id: int
    action: DecisionAction
    reason: str | None = None
    admin_id: int


class RevisionOutcome(BaseModel):
    revision_id: int
    module_id: int
    status: RevisionStatus
    reason: str | None = None
    decided_at: datetime | None = None


class RevisionProgress(BaseModel):
    waiting_since: datetime
    reminders_sent: int
    outcome: RevisionOutcome | None = None
