"""Request and response shapes of reviews, shared by the public, publisher and admin
routers. A reviewer appears by display name only: never by email."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field

from api.schemas import Flag, Int, MultiLine, Page, SingleLine, Strict
from domain.reviews import (
    CONTENT_MAX,
    DETAILS_MAX,
    MAX_RATING,
    MIN_RATING,
    NOTE_MAX,
    RESPONSE_MAX,
    TITLE_MAX,
    ReportReason,
    ReportStatus,
    ReviewStatus,
    Vote,
    display_name,
)
from services.review_moderation import ReportRow
from services.reviews import ReviewRow

Rating = Annotated[Int, Field(ge=MIN_RATING, le=MAX_RATING)]


class ReviewIn(Strict):
    """A review, whole: PUT replaces every field. ``content`` is required for a rating of
    3 or less (``content_required``)."""

    rating: Rating
    title: SingleLine | None = Field(default=None, max_length=TITLE_MAX)
    content: MultiLine | None = Field(default=None, max_length=CONTENT_MAX)

    def cleaned(self) -> tuple[int, str | None, str | None]:
        """Blank text is no text."""
        return self.rating, self.title or None, self.content or None


class VoteIn(Strict):
    vote: Vote


class ReportIn(Strict):
    reason: ReportReason
    details: MultiLine | None = Field(
        default=None, max_length=DETAILS_MAX, description="required for 'other'"
    )


class ResponseIn(Strict):
    response: MultiLine = Field(min_length=1, max_length=RESPONSE_MAX)


class HideIn(Strict):
    note: MultiLine = Field(min_length=1, max_length=NOTE_MAX)


class NoteIn(Strict):
    note: MultiLine | None = Field(default=None, max_length=NOTE_MAX)


class ResolveIn(NoteIn):
    hide: Flag = Field(default=False, description="also hide the review; needs a note")


class PublisherResponse(BaseModel):
    response: str
    responded_at: datetime | None = Field(description="when the publisher first responded")


class ReviewOut(BaseModel):
    id: int
    module_id: int
    module_slug: str
    rating: int
    title: str | None
    content: str | None
    reviewer_name: str
    verified_purchase: bool
    version: str | None = Field(description="the latest published version when written")
    helpful_count: int
    not_helpful_count: int
    status: ReviewStatus
    publisher_response: PublisherResponse | None
    created_at: datetime
    updated_at: datetime = Field(description="last change of the review or its response")

    @classmethod
    def of(cls, row: ReviewRow, **extra: Any) -> Self:
        review = row.review
        response = None
        if review.publisher_response is not None:
            response = PublisherResponse(
                response=review.publisher_response, responded_at=review.publisher_responded_at
            )
        return cls(
            id=review.id,
            module_id=review.module_id,
            module_slug=row.module_slug,
            rating=review.rating,
            title=review.title,
            content=review.content,
            reviewer_name=display_name(row.reviewer_name),
            verified_purchase=review.verified_purchase,
            version=row.version,
            helpful_count=review.helpful_count,
            not_helpful_count=review.not_helpful_count,
            status=ReviewStatus(review.status),
            publisher_response=response,
            created_at=review.created_at,
            updated_at=review.updated_at,
            **extra,
        )


class ReviewPage(Page[ReviewOut]):
    rating_average: Decimal | None = Field(description="over published reviews, 2 decimals")
    rating_count: int
    rating_distribution: dict[str, int] = Field(
        description='published reviews per rating, "1" to "5" (every key present)'
    )


class VoteOut(BaseModel):
    review_id: int
    vote: Vote | None = Field(description="your vote now; null after removing it")
    helpful_count: int
    not_helpful_count: int


class ReportOut(BaseModel):
    id: int
    review_id: int
    reason: ReportReason
    details: str | None
    status: ReportStatus
    created_at: datetime

    model_config = {"from_attributes": True}


class ModeratedReviewOut(ReviewOut):
    """A review as moderators see it."""

    user_id: int
    moderation_note: str | None
    moderated_by: int | None
    moderated_at: datetime | None

    @classmethod
    def of(cls, row: ReviewRow, **extra: Any) -> Self:
        review = row.review
        return super().of(
            row,
            user_id=review.user_id,
            moderation_note=review.moderation_note,
            moderated_by=review.moderated_by,
            moderated_at=review.moderated_at,
            **extra,
        )


class ReportDetailOut(ReportOut):
    reporter_id: int
    resolved_by: int | None
    resolution_note: str | None
    resolved_at: datetime | None
    review: ModeratedReviewOut
    pending_reports: int = Field(description="pending reports of this review")

    @classmethod
    def of(cls, row: ReportRow) -> "ReportDetailOut":
        report = row.report
        return cls(
            id=report.id,
            review_id=report.review_id,
            reason=ReportReason(report.reason),
            details=report.details,
            status=ReportStatus(report.status),
            created_at=report.created_at,
            reporter_id=report.reporter_id,
            resolved_by=report.resolved_by,
            resolution_note=report.resolution_note,
            resolved_at=report.resolved_at,
            review=ModeratedReviewOut.of(row.review),
            pending_reports=row.pending_reports,
        )
