"""``domain/analytics.py`` table by table: periods and their buckets, bad periods, series
filling, exact figures, and reading a request's tracking context (hostile headers too)."""

import hashlib
import ipaddress
import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.analytics import (
    MAX_CUSTOM_DAYS,
    BucketSize,
    PeriodName,
    clean_text,
    client_ip,
    country_code,
    fill_series,
    floor_to,
    mean_rating,
    money,
    request_context,
    resolve_period,
    session_id,
)
from domain.errors import DomainError

NOW = datetime(2025, 3, 10, 14, 37, 12, 5, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "bounds", "start", "end", "bucket", "buckets"),
    [
        ("day", (None, None), at(2025, 3, 9, 15), at(2025, 3, 10, 15), BucketSize.HOUR, 24),
        ("week", (None, None), at(2025, 3, 4), at(2025, 3, 11), BucketSize.DAY, 7),
        ("month", (None, None), at(2025, 2, 9), at(2025, 3, 11), BucketSize.DAY, 30),
        (
            "custom",
            (date(2025, 1, 1), date(2025, 1, 1)),
            at(2025, 1, 1),
            at(2025, 1, 2),
            BucketSize.DAY,
            1,
        ),
        (
            "custom",
            (date(2024, 1, 1), date(2024, 12, 31)),
            at(2024, 1, 1),
            at(2025, 1, 1),
            BucketSize.DAY,
            366,
        ),
        (
            "custom",
            (date(2025, 3, 1), date(2025, 3, 31)),
            at(2025, 3, 1),
            at(2025, 4, 1),
            BucketSize.DAY,
            31,
        ),
    ],
)
def test_periods_end_now_in_utc_with_their_buckets(name, bounds, start, end, bucket, buckets):
    period = resolve_period(name, NOW, *bounds)
    assert (period.start, period.end, period.bucket) == (start, end, bucket)
    starts = period.buckets()
    assert len(starts) == buckets
    assert starts[0] == start and starts[-1] + bucket.step == end
    assert all(b - a == bucket.step for a, b in itertools.pairwise(starts))


def test_now_in_another_zone_is_the_same_instant():
    elsewhere = NOW.astimezone(timezone(timedelta(hours=-11)))
    assert resolve_period("week", elsewhere) == resolve_period("week", NOW)
    assert resolve_period("day", elsewhere).end == at(2025, 3, 10, 15)


def test_the_current_bucket_holds_now():
    for name in ("day", "week", "month"):
        period = resolve_period(name, NOW)
        assert period.contains(NOW) and not period.contains(period.end)
        assert period.buckets()[-1] == floor_to(NOW, period.bucket)


@pytest.mark.parametrize(
    ("name", "bounds", "code"),
    [
        ("year", (None, None), "invalid_period"),
        ("", (None, None), "invalid_period"),
        ("custom", (None, None), "period_bounds_required"),
        ("custom", (date(2025, 1, 1), None), "period_bounds_required"),
        ("custom", (None, date(2025, 1, 1)), "period_bounds_required"),
        ("week", (date(2025, 1, 1), date(2025, 1, 2)), "period_bounds_unexpected"),
        ("day", (None, date(2025, 1, 2)), "period_bounds_unexpected"),
        ("custom", (date(2025, 1, 2), date(2025, 1, 1)), "invalid_period_range"),
        ("custom", (date(2024, 1, 1), date(2025, 1, 1)), "period_too_long"),
        ("custom", (date(1, 1, 1), date(1, 1, 2)), "invalid_period_range"),
        ("custom", (date(9999, 12, 30), date(9999, 12, 31)), "invalid_period_range"),
        ("custom", (date(1969, 12, 31), date(1970, 1, 1)), "invalid_period_range"),
    ],
)
def test_bad_periods_are_refused_with_their_code(name, bounds, code):
    with pytest.raises(DomainError) as refused:
        resolve_period(name, NOW, *bounds)
    assert refused.value.code == code


def test_the_longest_custom_period_is_accepted_one_more_day_is_not():
    first = date(2020, 1, 1)
    assert len(resolve_period("custom", NOW, first, first + (MAX_CUSTOM_DAYS - 1) * D).buckets())
    with pytest.raises(DomainError):
        resolve_period("custom", NOW, first, first + MAX_CUSTOM_DAYS * D)


def test_a_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        resolve_period(PeriodName.WEEK, NOW.replace(tzinfo=None))


def test_series_are_zero_filled_in_order_whatever_the_zone_of_the_keys():
    period = resolve_period("custom", NOW, date(2025, 1, 1), date(2025, 1, 4))
    plus_two = timezone(timedelta(hours=2))
    values = {
        at(2025, 1, 3).astimezone(plus_two): 7,
        at(2025, 1, 1): 2,
        at(2024, 12, 31): 99,  # outside the period
        at(2025, 1, 2, 5): 99,  # not a bucket start
    }
    assert fill_series(period, values, int) == [
        (at(2025, 1, 1), 2),
        (at(2025, 1, 2), 0),
        (at(2025, 1, 3), 7),
        (at(2025, 1, 4), 0),
    ]


def test_zero_is_a_fresh_value_per_bucket():
    period = resolve_period("custom", NOW, date(2025, 1, 1), date(2025, 1, 2))
    first, second = (value for _, value in fill_series(period, {}, dict))
    assert first == {} and first is not second


@pytest.mark.parametrize(
    ("total", "count", "mean"),
    [
        (0, 0, None),
        (None, None, None),
        (5, 1, Decimal("5.00")),
        (9, 2, Decimal("4.50")),
        (2, 3, Decimal("0.67")),
        (13, 3, Decimal("4.33")),
        (1, 8, Decimal("0.13")),  # 0.125 rounds half up
        (29, 8, Decimal("3.63")),  # 3.625
        (500, 100, Decimal("5.00")),
    ],
)
def test_mean_rating_to_the_cent_half_up(total, count, mean):
    assert mean_rating(total, count) == mean
    if mean is not None:
        assert str(mean_rating(total, count)).count(".") == 1


@pytest.mark.parametrize(
    ("amount", "text"),
    [(None, "0.00"), (0, "0.00"), (Decimal("12.5"), "12.50"), (Decimal("-3.10"), "-3.10")],
)
def test_money_is_to_the_cent(amount, text):
    assert str(money(amount)) == text


# --- tracking context ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "stored"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:203.0.113.9", str(ipaddress.ip_address("::ffff:203.0.113.9"))),
        ("testclient", None),
        ("", None),
        (None, None),
        ("1.2.3.4; DROP TABLE", None),
        ("fe80::1%" + "x" * 60, None),
    ],
)
def test_client_ip_is_an_ip_address_or_nothing(host, stored):
    assert client_ip(host) == stored


@pytest.mark.parametrize(
    ("headers", "country"),
    [
        ({"cf-ipcountry": "DE"}, "DE"),
        ({"cf-ipcountry": "de"}, "DE"),
        ({"x-country-code": " fr "}, "FR"),
        ({"cf-ipcountry": "XX"}, None),
        ({"cf-ipcountry": "T1"}, None),
        ({"cf-ipcountry": "DEU"}, None),
        ({"cf-ipcountry": "D"}, None),
        ({"cf-ipcountry": "ÄÖ"}, None),
        ({"cf-ipcountry": "D\x00"}, None),
        ({"cf-ipcountry": "bad", "x-country-code": "FR"}, None),
        ({"x-country-code": "FR", "other": "US"}, "FR"),
        ({}, None),
    ],
)
def test_country_comes_from_a_two_letter_header_only(headers, country):
    assert country_code(headers) == country


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("Mozilla/5.0", "Mozilla/5.0"),
        ("a\x00b\nc\x7fd", "abcd"),
        ("x" * 600, "x" * 500),
        ("é" * 501, "é" * 500),
    ],
)
def test_header_text_is_bounded_and_without_control_characters(value, cleaned):
    assert clean_text(value) == cleaned


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-DEF_123", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("has space", False),
        ("semi;colon", False),
        ("ünï", False),
        ("a\x00", False),
        (None, False),
    ],
)
def test_a_session_header_is_kept_only_when_valid(given, kept):
    sid = session_id(given, "203.0.113.9", "agent", None)
    assert (sid == given) is kept
    assert len(sid) <= 64


def test_without_a_session_header_the_session_is_who_calls_and_how():
    base = session_id(None, "203.0.113.9", "agent", None)
    assert base == hashlib.sha256(b"203.0.113.9\nagent\n").hexdigest()
    assert base == session_id("not valid!", "203.0.113.9", "agent", None)
    assert base != session_id(None, "203.0.113.10", "agent", None)
    assert base != session_id(None, "203.0.113.9", "other agent", None)
    assert base != session_id(None, "203.0.113.9", "agent", 7)
    assert session_id(None, "203.0.113.9", "agent", 7) != session_id(
        None, "203.0.113.9", "agent", 8
    )


def test_request_context_reads_every_field():
    context = request_context(
        client_host="198.51.100.4",
        headers={
            "user-agent": "marketplace-cli/1.0",
            "referer": "https://example.com/search?q=charts",
            "cf-ipcountry": "nl",
            "x-session-id": "tab-42",
        },
        user_id=3,
    )
    assert context.ip_address == "198.51.100.4"
    assert context.user_agent == "marketplace-cli/1.0"
    assert context.referrer == "https://example.com/search?q=charts"
    assert context.country_code == "NL"
    assert context.session_id == "tab-42"
    bare = request_context(client_host=None, headers={}, user_id=None)
    assert (bare.ip_address, bare.user_agent, bare.referrer, bare.country_code) == (None,) * 4
    assert len(bare.session_id) == 64
