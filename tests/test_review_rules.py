"""Review rules, table-driven: what a review needs, who may act on it, verified purchase,
the rounding of the average and the name a reviewer shows."""

from decimal import Decimal

import pytest

from domain.errors import DomainError, Forbidden
from domain.reviews import (
    ANONYMOUS,
    ReportReason,
    average_rating,
    check_not_author,
    check_report,
    check_review,
    check_reviewer,
    counts_as_purchase,
    display_name,
    verified_purchase,
)


@pytest.mark.parametrize(
    ("rating", "content", "error"),
    [
        (5, None, None),
        (4, None, None),
        (4, "", None),
        (3, "meh, because of X", None),
        (1, "broke my install", None),
        (3, None, "content_required"),
        (3, "   \n\t", "content_required"),
        (2, "", "content_required"),
        (1, None, "content_required"),
        (0, "text", "invalid_rating"),
        (6, "text", "invalid_rating"),
        (-1, "text", "invalid_rating"),
    ],
)
def test_a_review_needs_a_rating_in_range_and_words_when_low(rating, content, error):
    if error is None:
        check_review(rating, content)
        return
    with pytest.raises(DomainError) as raised:
        check_review(rating, content)
    assert raised.value.code == error


def test_a_publisher_cannot_review_its_own_module():
    check_reviewer(1, 2)
    with pytest.raises(Forbidden) as raised:
        check_reviewer(7, 7)
    assert raised.value.code == "own_module"


def test_nobody_votes_on_or_reports_their_own_review():
    check_not_author(1, 2)
    with pytest.raises(Forbidden) as raised:
        check_not_author(3, 3)
    assert raised.value.code == "own_review"


@pytest.mark.parametrize(
    ("reason", "details", "ok"),
    [
        (ReportReason.SPAM, None, True),
        (ReportReason.FAKE, "", True),
        (ReportReason.OFF_TOPIC, None, True),
        (ReportReason.INAPPROPRIATE, "slurs", True),
        (ReportReason.OTHER, "copied from another module's page", True),
        (ReportReason.OTHER, None, False),
        (ReportReason.OTHER, "  ", False),
    ],
)
def test_a_report_of_other_says_what(reason, details, ok):
    if ok:
        check_report(reason, details)
        return
    with pytest.raises(DomainError) as raised:
        check_report(reason, details)
    assert raised.value.code == "details_required"


@pytest.mark.parametrize(
    ("license_type", "status", "counts"),
    [
        ("purchase", "active", True),
        ("paid", "expired", True),
        ("subscription", "active", True),
        ("subscription", "cancelled", True),
        ("subscription", "expired", True),
        ("free", "active", True),
        ("purchase", "revoked", False),
        ("subscription", "revoked", False),
        ("trial", "active", False),
        ("trial", "expired", False),
    ],
)
def test_what_counts_as_a_purchase(license_type, status, counts):
    assert counts_as_purchase(license_type, status) is counts


@pytest.mark.parametrize(
    ("licenses", "verified"),
    [
        ([], False),
        ([("trial", "expired")], False),
        ([("purchase", "revoked"), ("trial", "active")], False),
        ([("purchase", "revoked"), ("purchase", "active")], True),
        ([("subscription", "cancelled")], True),
    ],
)
def test_verified_purchase_needs_one_license_that_counts(licenses, verified):
    assert verified_purchase(licenses) is verified


@pytest.mark.parametrize(
    ("ratings", "average"),
    [
        ([], None),
        ([5], Decimal("5.00")),
        ([1, 2], Decimal("1.50")),
        ([1, 1, 2], Decimal("1.33")),
        ([1, 2, 2], Decimal("1.67")),
        ([4, 5, 5], Decimal("4.67")),
        # 801 / 200 = 4.005 exactly: half up gives 4.01 (banker's rounding would give 4.00)
        ([5] + [4] * 199, Decimal("4.01")),
        # 841 / 200 = 4.205: half up gives 4.21 (banker's rounding would give 4.20)
        ([5] * 41 + [4] * 159, Decimal("4.21")),
        ([3] * 7, Decimal("3.00")),
    ],
)
def test_the_average_rounds_half_up_to_two_decimals(ratings, average):
    assert average_rating(ratings) == average


def test_the_half_up_cases_really_sit_on_a_half():
    assert Decimal(5 + 4 * 199) / 200 == Decimal("4.005")
    assert Decimal(5 * 41 + 4 * 159) / 200 == Decimal("4.205")


@pytest.mark.parametrize(
    ("full_name", "shown"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("  Ada   Lovelace \n", "Ada Lovelace"),
        (None, ANONYMOUS),
        ("", ANONYMOUS),
        ("   ", ANONYMOUS),
        ("ada@example.com", ANONYMOUS),
        ("Ada (ada@example.com)", ANONYMOUS),
        ("@ada", "@ada"),
    ],
)
def test_a_reviewer_shows_a_name_never_an_address(full_name, shown):
    assert display_name(full_name) == shown
