"""Reviews of modules: what a review must hold, who may review, vote and report, what
counts as a verified purchase, and how the average rating is rounded."""

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.errors import DomainError, Forbidden

MIN_RATING, MAX_RATING = 1, 5
TITLE_MAX = 200
CONTENT_MAX = 10_000
RESPONSE_MAX = 5_000
DETAILS_MAX = 2_000
NOTE_MAX = 2_000
CONTENT_REQUIRED_AT_OR_BELOW = 3
"""A rating this low must say why, so the publisher can act on it."""

RATING_QUANTUM = Decimal("0.01")
ANONYMOUS = "Anonymous"
_EMAIL_LIKE = re.compile(r"\S@\S")


class ReviewStatus(StrEnum):
    """``published`` reviews are listed and counted; ``hidden`` ones (by a moderator) are
    neither. A report does not change the status: it waits in the moderation queue."""

    PUBLISHED = "published"
    HIDDEN = "hidden"


class Vote(StrEnum):
    HELPFUL = "helpful"
    NOT_HELPFUL = "not_helpful"


class ReportReason(StrEnum):
    SPAM = "spam"
    INAPPROPRIATE = "inappropriate"
    FAKE = "fake"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class ReportStatus(StrEnum):
    PENDING = "pending"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class ReviewSort(StrEnum):
    NEWEST = "newest"
    HELPFUL = "helpful"
    RATING_HIGH = "rating_high"
    RATING_LOW = "rating_low"


def check_review(rating: int, content: str | None) -> None:
    """A rating in range; a low one needs words (blank text counts as none)."""
    if not MIN_RATING <= rating <= MAX_RATING:
        raise DomainError("invalid_rating", f"the rating is {MIN_RATING} to {MAX_RATING}")
    if rating <= CONTENT_REQUIRED_AT_OR_BELOW and not (content and content.strip()):
        raise DomainError(
            "content_required",
            f"a rating of {CONTENT_REQUIRED_AT_OR_BELOW} or less needs a written review",
        )


def check_reviewer(reviewer_user_id: int, publisher_user_id: int) -> None:
    """A publisher does not rate its own module."""
    if reviewer_user_id == publisher_user_id:
        raise Forbidden("own_module", "you cannot review your own module")


def check_not_author(caller_user_id: int, author_user_id: int) -> None:
    """Nobody votes on or reports their own review."""
    if caller_user_id == author_user_id:
        raise Forbidden("own_review", "this is your own review")


def check_report(reason: ReportReason, details: str | None) -> None:
    if reason is ReportReason.OTHER and not (details and details.strip()):
        raise DomainError("details_required", "say what is wrong when the reason is 'other'")


def counts_as_purchase(license_type: str, status: str) -> bool:
    """A license that is or was in good standing: active, expired or cancelled. A revoked
    license (refunded or taken back) does not count, nor a trial never paid for (a trial
    that converts becomes a subscription license)."""
    return status != "revoked" and license_type != "trial"


def verified_purchase(licenses: Iterable[tuple[str, str]]) -> bool:
    """Whether any of the reviewer's (license_type, status) licenses of the module counts."""
    return any(counts_as_purchase(kind, status) for kind, status in licenses)


def average_rating(ratings: Iterable[int]) -> Decimal | None:
    """The mean, rounded half up to 2 decimals; None without ratings. The database computes
    the same with ``round(avg(rating), 2)`` (numeric rounds half away from zero, which for
    ratings, all positive, is half up); this is the reference the tests compare it with."""
    values = list(ratings)
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(
        RATING_QUANTUM, rounding=ROUND_HALF_UP
    )


def display_name(full_name: str | None) -> str:
    """What the public sees of a reviewer: the name they gave, never an address. A name
    that looks like an email (some people type theirs there) shows as anonymous."""
    name = " ".join((full_name or "").split())
    if not name or _EMAIL_LIKE.search(name):
        return ANONYMOUS
    return name
