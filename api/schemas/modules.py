"""Module listings: what a publisher sends and reads back, and the review it asks for."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas import InCurrency, Int, Money, MultiLine, RowId, SingleLine, Strict
from api.schemas.publishers import Url
from domain import processes
from domain.listing import RevisionStatus
from domain.modules import LicenseType, ModuleStatus, SubscriptionPeriod, Visibility
from domain.review import ReviewProgress
from domain.slugs import SLUG_MAX, SLUG_PATTERN, TECHNICAL_NAME_MAX, TECHNICAL_NAME_PATTERN

Tag = Annotated[
    SingleLine,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40),
]
Price = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]


class Screenshot(Strict):
    url: Url
    caption: SingleLine | None = Field(default=None, max_length=200)
    order: Int = Field(default=0, ge=0, le=100)


class ModuleFields(Strict):
    """Listing fields a publisher may set; pricing is checked as a whole in domain rules."""

    display_name: SingleLine = Field(min_length=1, max_length=200)
    short_description: SingleLine = Field(min_length=1, max_length=500)
    description: MultiLine | None = Field(default=None, max_length=50_000)
    category_id: RowId | None = None
    license_type: LicenseType = LicenseType.FREE
    price: Price | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    subscription_period: SubscriptionPeriod | None = None
    trial_days: Int | None = Field(default=None, ge=1, le=365)
    icon_url: Url | None = None
    banner_url: Url | None = None
    video_url: Url | None = None
    screenshots: list[Screenshot] = Field(default_factory=list, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    keywords: list[Tag] = Field(default_factory=list, max_length=30)
    visibility: Visibility = Visibility.PUBLIC


class ModuleCreateIn(ModuleFields):
    technical_name: str = Field(max_length=TECHNICAL_NAME_MAX, pattern=TECHNICAL_NAME_PATTERN)
    slug: str | None = Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)


class ModuleUpdateIn(Strict):
    """Every field optional: only those sent change."""

    slug: str | None = Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    display_name: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    short_description: SingleLine | None = Field(default=None, min_length=1, max_length=500)
    description: MultiLine | None = Field(default=None, max_length=50_000)
    category_id: RowId | None = None
    license_type: LicenseType | None = None
    price: Price | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    subscription_period: SubscriptionPeriod | None = None
    trial_days: Int | None = Field(default=None, ge=1, le=365)
    icon_url: Url | None = None
    banner_url: Url | None = None
    video_url: Url | None = None
    screenshots: list[Screenshot] | None = Field(default=None, max_length=20)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    keywords: list[Tag] | None = Field(default=None, max_length=30)
    visibility: Visibility | None = None


class ModuleOut(InCurrency):
    model_config = ConfigDict(from_attributes=True)

    id: int
    publisher_id: int
    technical_name: str
    slug: str
    display_name: str
    short_description: str
    description: str | None
    category_id: int | None
    license_type: LicenseType
    price: Money | None
    currency: str
    subscription_period: SubscriptionPeriod | None
    trial_days: int | None
    icon_url: str | None
    banner_url: str | None
    video_url: str | None
    screenshots: list[dict[str, Any]]
    tags: list[str]
    keywords: list[str]
    visibility: Visibility
    status: ModuleStatus
    featured: bool
    rejection_reason: str | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    archived_at: datetime | None
    download_count: int
    view_count: int
    created_at: datetime
    updated_at: datetime


class SubmissionOut(BaseModel):
    module: ModuleOut
    workflow_id: str
    status_url: str


class ReviewStatusOut(BaseModel):
    module_id: int
    status: ModuleStatus
    rejection_reason: str | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    workflow_id: str
    progress: ReviewProgress | None = Field(
        default=None, description="Live detail from the running review workflow"
    )


# --- listing revisions (domain.listing) --------------------------------------------------


class ListingFieldsOut(BaseModel):
    """A listing's reviewed text and media."""

    model_config = ConfigDict(from_attributes=True)

    display_name: str
    short_description: str
    description: str | None
    category_id: int | None
    icon_url: str | None
    banner_url: str | None
    video_url: str | None
    screenshots: list[dict[str, Any]]
    tags: list[str]
    keywords: list[str]


class ListingChangesOut(BaseModel):
    """The values a revision sets; only the fields in ``changed_fields`` are changed (a
    null there clears the field), the others are null and stay as they are."""

    display_name: str | None = None
    short_description: str | None = None
    description: str | None = None
    category_id: int | None = None
    icon_url: str | None = None
    banner_url: str | None = None
    video_url: str | None = None
    screenshots: list[dict[str, Any]] | None = None
    tags: list[str] | None = None
    keywords: list[str] | None = None


class ListingRevisionOut(BaseModel):
    id: int
    module_id: int
    status: RevisionStatus
    changed_fields: list[str]
    changes: ListingChangesOut
    submitted_at: datetime
    decided_at: datetime | None
    rejection_reason: str | None
    workflow_id: str


class ListingUpdateOut(BaseModel):
    """What a PUT on a published module answers (202) when it changes the listing's text
    or media: the module as buyers still see it, and the revision waiting for review."""

    module: ModuleOut
    revision: ListingRevisionOut
    status_url: str


def revision_out(revision: Any, module_slug: str) -> ListingRevisionOut:
    """A ``models.module.ListingRevision`` as the API shows it."""
    return ListingRevisionOut(
        id=revision.id,
        module_id=revision.module_id,
        status=RevisionStatus(revision.status),
        changed_fields=sorted(revision.changes),
        changes=ListingChangesOut.model_validate(revision.changes),
        submitted_at=revision.created_at,
        decided_at=revision.decided_at,
        rejection_reason=revision.rejection_reason,
        workflow_id=processes.ListingRevisionReview.workflow_id(module_slug, revision.key),
    )
