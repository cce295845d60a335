"""Analytics rules: reporting periods and their buckets, zero-filled time series, exact
money and rating figures, and reading a request's tracking context.

**Periods** are in UTC and end now:

- ``day``: the last 24 hours, in 24 hourly buckets; the last bucket is the current hour.
- ``week``: the last 7 days, in daily buckets; the last bucket is today.
- ``month``: the last 30 days, in daily buckets; the last bucket is today.
- ``custom``: ``from`` to ``to``, both dates included, in daily buckets; at most
  ``MAX_CUSTOM_DAYS`` days, between ``EARLIEST_DATE`` and ``LATEST_DATE``.

A period covers ``[start, end)``; a bucket is named by its start. ``from``/``to`` are only
for ``custom`` and required there.

**Tracking** counts per UTC day, so neither repeated calls nor made-up session ids
inflate the figures:

- A **view** counts once per (module, viewer, day). A signed-in viewer is their user; an
  anonymous one is their session (the caller's ``X-Session-Id`` when it is a valid one,
  else a hash of IP and user agent), and one client address counts at most
  ``ANONYMOUS_VIEWS_PER_ADDRESS`` anonymous views of a module per day, however many
  sessions it names.
- A **download** counts only when a file is fetched (a download answered as a redirect to
  the file, or one of our download links followed), never when a link is only handed out
  (``?redirect=false``), and once per (version, downloader, day): the user the link was
  made for, else the client address.

Request text is stored bounded and without control characters; a country comes from a
two-letter header only.
"""

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from domain.errors import DomainError
from domain.money import CENT, to_cents

T = TypeVar("T")

MAX_CUSTOM_DAYS = 366
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(9000, 12, 31)
ANONYMOUS_VIEWS_PER_ADDRESS = 5
"""Anonymous views of one module counted per client address per UTC day (several people
behind one address still count, a client rotating ``X-Session-Id`` only up to this)."""
STATS_CURRENCY = "USD"
"""``PublisherStats.total_revenue`` has no currency column: it holds net earnings in this
currency only (the ledger's other currencies are in the revenue endpoints)."""
STATS_RECENT_DAYS = 30
TOP_MODULES = 10

TEXT_MAX = 500
IP_MAX = 45
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
COUNTRY_PATTERN = re.compile(r"[A-Za-z]{2}")
COUNTRY_HEADERS = ("cf-ipcountry", "x-country-code")
UNKNOWN_COUNTRY = "XX"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PeriodName(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CUSTOM = "custom"


class BucketSize(StrEnum):
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self is BucketSize.HOUR else timedelta(days=1)


class StatsPeriod(StrEnum):
    """The rows ``PublisherStats`` keeps per publisher."""

    ALL = "all"
    RECENT = "30d"


@dataclass(frozen=True)
class Period:
    name: PeriodName
    start: datetime
    """Inclusive, UTC."""
    end: datetime
    """Exclusive, UTC."""
    bucket: BucketSize

    def buckets(self) -> list[datetime]:
        step = self.bucket.step
        count = (self.end - self.start) // step
        return [self.start + i * step for i in range(count)]

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def floor_to(instant: datetime, bucket: BucketSize) -> datetime:
    """The start of the bucket holding ``instant`` (UTC)."""
    utc = instant.astimezone(UTC)
    if bucket is BucketSize.HOUR:
        return utc.replace(minute=0, second=0, microsecond=0)
    return _midnight(utc.date())


def resolve_period(
    name: PeriodName | str,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
) -> Period:
    """The period a dashboard asked for, or a ``DomainError`` saying what is wrong."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        name = PeriodName(name)
    except ValueError:
        choices = ", ".join(p.value for p in PeriodName)
        raise DomainError("invalid_period", f"period is one of {choices}") from None
    if name is not PeriodName.CUSTOM:
        if start is not None or end is not None:
            raise DomainError("period_bounds_unexpected", "from and to go with period=custom only")
        if name is PeriodName.DAY:
            last = floor_to(now, BucketSize.HOUR)
            return Period(
                name, last - timedelta(hours=23), last + timedelta(hours=1), BucketSize.HOUR
            )
        days = 7 if name is PeriodName.WEEK else 30
        today = floor_to(now, BucketSize.DAY)
        return Period(
            name, today - timedelta(days=days - 1), today + timedelta(days=1), BucketSize.DAY
        )
    if start is None or end is None:
        raise DomainError("period_bounds_required", "period=custom needs both from and to")
    for bound in (start, end):
        if not EARLIEST_DATE <= bound <= LATEST_DATE:
            raise DomainError(
                "invalid_period_range",
                f"dates must be between {EARLIEST_DATE} and {LATEST_DATE}",
            )
    if start > end:
        raise DomainError("invalid_period_range", "from must not be after to")
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise DomainError(
            "period_too_long", f"a custom period spans at most {MAX_CUSTOM_DAYS} days"
        )
    return Period(name, _midnight(start), _midnight(end) + timedelta(days=1), BucketSize.DAY)


def fill_series(
    period: Period, values: Mapping[datetime, T], zero: Callable[[], T]
) -> list[tuple[datetime, T]]:
    """One entry per bucket of the period, in order: the value found for the bucket, else
    ``zero()``. Keys are compared as instants, whatever their time zone; a key that is no
    bucket start of the period is ignored."""
    by_instant = {key.astimezone(UTC): value for key, value in values.items()}
    return [
        (start, by_instant[start] if start in by_instant else zero()) for start in period.buckets()
    ]


# --- figures ---------------------------------------------------------------------------------


def money(amount: Decimal | int | None) -> Decimal:
    """A sum of ledger amounts as reported: to the cent, ``0.00`` for none. Ledger amounts
    are stored in cents, so their sums are exact and this never rounds."""
    if amount is None:
        return Decimal("0.00")
    return Decimal(amount).quantize(CENT)


def mean_rating(rating_sum: int | None, count: int | None) -> Decimal | None:
    """The average of ``count`` ratings summing to ``rating_sum``, to 0.01 (half up);
    None when there are none."""
    if not count:
        return None
    return to_cents(Decimal(rating_sum or 0) / Decimal(count))


def currencies_of(rows: Iterable[str]) -> list[str]:
    """The distinct currencies, sorted, so every series lists them in the same order."""
    return sorted(set(rows))


# --- tracking context ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    user_agent: str | None
    referrer: str | None
    country_code: str | None
    session_id: str


def clean_text(value: str | None, limit: int = TEXT_MAX) -> str | None:
    """Header text fit to store: control characters dropped, trimmed, at most ``limit``
    characters; None when nothing is left."""
    if value is None:
        return None
    cleaned = _CONTROL.sub("", value).strip()[:limit].strip()
    return cleaned or None


def client_ip(host: str | None) -> str | None:
    """The client's address in its normal form, or None when it is not an IP address."""
    if not host:
        return None
    try:
        normal = str(ipaddress.ip_address(host.strip()))
    except ValueError:
        return None
    return normal if len(normal) <= IP_MAX else None


def country_code(headers: Mapping[str, str]) -> str | None:
    """The first country header present, when it holds two letters (upper-cased);
    Cloudflare's ``XX`` (unknown) and anything else give None."""
    for name in COUNTRY_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        value = value.strip()
        if COUNTRY_PATTERN.fullmatch(value) and value.upper() != UNKNOWN_COUNTRY:
            return value.upper()
        return None
    return None


def session_id(
    given: str | None, ip: str | None, user_agent: str | None, user_id: int | None
) -> str:
    """The caller's ``X-Session-Id`` when valid (1-64 of ``[A-Za-z0-9_-]``), else a hash
    of what identifies the caller: IP, user agent and, when signed in, the user."""
    if given is not None and SESSION_ID_PATTERN.fullmatch(given):
        return given
    basis = "\n".join((ip or "", user_agent or "", str(user_id) if user_id else ""))
    return hashlib.sha256(basis.encode()).hexdigest()


def request_context(
    *, client_host: str | None, headers: Mapping[str, str], user_id: int | None
) -> RequestContext:
    """What tracking stores about a request. ``headers`` is looked up by lower-case name
    (Starlette's headers are case-insensitive)."""
    ip = client_ip(client_host)
    agent = clean_text(headers.get("user-agent"))
    return RequestContext(
        ip_address=ip,
        user_agent=agent,
        referrer=clean_text(headers.get("referer")),
        country_code=country_code(headers),
        session_id=session_id(headers.get("x-session-id"), ip, agent, user_id),
    )
