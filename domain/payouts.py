"""Monthly payouts: which month, what a publisher is owed, and what becomes of it.

Pure rules; the caller reads the ledger and the publisher, passes them in, and stores what
comes back.

**The ledger** (``marketplace_earnings``) already holds each amount exactly: a sale entry
per paid order line (gross = the line after its discount and before tax, commission at the
publisher's rate then, rounded half up per line, net = gross - commission) and a negative
reversal per refund. A payout never recomputes a commission: its platform fee is the sum of
the entries' commissions, so it is what each line's invoice-time split said, to the cent.

**A month's payout** for a publisher takes every entry of theirs not yet paid out that
occurred before the month's end (UTC), so whatever earlier months left unpaid is carried in
automatically. For each currency: gross = sum of gross (sales minus refund reversals),
platform fee = sum of commissions, net = gross - fee, exactly; ``carried_in`` is the part of
the net that occurred before the month began.

**One currency per payout.** Orders are priced in the module's currency, so a publisher may
hold entries in several. The payout row is unique per publisher and period and has one
currency, so a month pays one of them: among the currencies whose net reaches the minimum
(and is above zero), the one whose oldest unpaid entry is oldest (ties: the currency code).
The others stay unpaid and are carried over; since a paid currency's oldest entry becomes
recent, every payable currency is paid within as many months as the publisher has
currencies. The minimum is the same number in every currency.

**Outcomes**: a suspended publisher's payout is *held* (recorded, nothing transferred, the
entries stay unpaid for a later month); a net at or below zero (refunds exceeding sales) or
below the minimum is *carried over* (recorded the same way); otherwise the payout is
*pending* and takes its entries, then goes processing → completed, or failed.
"""

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain.errors import DomainError
from domain.money import CENT

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MIN_YEAR = 2000
STRIPE_ACCOUNT_PATTERN = r"^acct_[A-Za-z0-9]{1,95}$"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP CSV injection)."""


class PayoutStatus(StrEnum):
    PENDING = "pending"
    """Recorded with its entries; the transfer has not started."""
    PROCESSING = "processing"
    """Transfer under way, or a manual payout waiting for an admin to pay it."""
    COMPLETED = "completed"
    FAILED = "failed"
    """The transfer was refused or never confirmed; the entries stay with it for a retry."""
    CARRIED_OVER = "carried_over"
    """Below the minimum, or nothing owed: recorded, nothing paid, entries left unpaid."""
    HELD = "held"
    """The publisher is suspended: recorded, nothing paid, entries left unpaid."""


class TransferStatus(StrEnum):
    PAID = "paid"
    PENDING = "pending"
    """The provider accepted it and settles it later: ``check`` again."""
    MANUAL = "manual"
    """Nothing sent: an admin pays it and marks it paid."""


class PayoutMethod(StrEnum):
    STRIPE = "stripe"
    PAYPAL = "paypal"
    MANUAL = "manual"


# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month in UTC."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        """``YYYY-MM``; ``invalid_period`` for anything else or a year before 2000."""
        if not isinstance(text, str) or not re.fullmatch(PERIOD_PATTERN, text):
            raise DomainError("invalid_period", "a period is a month written YYYY-MM")
        year, month = int(text[:4]), int(text[5:])
        if year < MIN_YEAR:
            raise DomainError("invalid_period", f"periods start in {MIN_YEAR}")
        return cls(year, month)

    @classmethod
    def containing(cls, instant: datetime) -> "Period":
        utc = instant.astimezone(UTC)
        return cls(utc.year, utc.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """Stored as the payout's ``period_end``: the month's last day, inclusive."""
        return self.next().first_day - timedelta(days=1)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first_day, time(), UTC)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the month: entries strictly before it belong to it."""
        return self.next().starts_at

    def next(self) -> "Period":
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return self.label


def period_before(instant: datetime) -> Period:
    """The month a run started at ``instant`` pays: the one before (the schedule fires at
    02:00 UTC on the 1st)."""
    return Period.containing(instant).previous()


def check_closed(period: Period, now: datetime) -> None:
    """Only a month that has ended can be paid: later entries could still land in it."""
    if period >= Period.containing(now):
        raise DomainError(
            "period_not_closed", f"{period.label} has not ended yet; pay a month once it is over"
        )


# --- totals and the decision ---------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    kind: str
    """sale | refund"""
    gross: Decimal
    commission: Decimal
    net: Decimal
    currency: str
    occurred_at: datetime


@dataclass(frozen=True)
class CurrencyTotals:
    """A publisher's unpaid entries in one currency, up to a period's end."""

    currency: str
    gross: Decimal
    commission: Decimal
    net: Decimal
    entries: int
    oldest: datetime
    carried_in: Decimal
    """Net of the entries that occurred before the period began."""


def _cents(value: Decimal, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.quantize(CENT):
        raise DomainError("invalid_ledger", f"{what} is not an exact amount in cents: {value!r}")
    return value.quantize(CENT)


def check_line(line: LedgerLine) -> None:
    """A ledger entry the payout can trust: exact cents, gross == commission + net, sales
    non-negative and refunds non-positive."""
    gross = _cents(line.gross, "gross")
    commission = _cents(line.commission, "commission")
    net = _cents(line.net, "net")
    if gross - commission != net:
        raise DomainError("invalid_ledger", "an entry's net must be its gross minus commission")
    if line.kind == "sale":
        ok = gross >= 0 and commission >= 0 and net >= 0
    elif line.kind == "refund":
        ok = gross <= 0 and commission <= 0 and net <= 0
    else:
        raise DomainError("invalid_ledger", f"unknown entry kind {line.kind!r}")
    if not ok:
        raise DomainError("invalid_ledger", f"a {line.kind} entry has amounts of the wrong sign")


def totals(lines: Iterable[LedgerLine], period: Period) -> dict[str, CurrencyTotals]:
    """Unpaid entries summed per currency for ``period`` (those at or after its end are
    left for later). The reference for what the database sums."""
    sums: dict[str, CurrencyTotals] = {}
    for line in lines:
        check_line(line)
        if line.occurred_at >= period.ends_at:
            continue
        zero = Decimal("0.00")
        entry = sums.get(line.currency) or CurrencyTotals(
            line.currency, zero, zero, zero, 0, line.occurred_at, zero
        )
        sums[line.currency] = CurrencyTotals(
            line.currency,
            gross=entry.gross + line.gross,
            commission=entry.commission + line.commission,
            net=entry.net + line.net,
            entries=entry.entries + 1,
            oldest=min(entry.oldest, line.occurred_at),
            carried_in=entry.carried_in
            + (line.net if line.occurred_at < period.starts_at else zero),
        )
    return dict(sorted(sums.items()))


@dataclass(frozen=True)
class PayoutDecision:
    status: PayoutStatus
    """PENDING (pay it), CARRIED_OVER or HELD."""
    currency: str
    gross: Decimal
    platform_fee: Decimal
    net: Decimal
    carried_in: Decimal
    entries: int
    reason: str | None = None
    """Why nothing is paid: publisher_suspended, nothing_owed, below_minimum."""


def decide(
    by_currency: Mapping[str, CurrencyTotals] | Sequence[CurrencyTotals],
    *,
    minimum: Decimal,
    publisher_status: str,
) -> PayoutDecision | None:
    """What this month does for a publisher; None when nothing is unpaid.

    See the module docstring: the currency paid is the payable one (net >= minimum and
    > 0) whose oldest entry is oldest; with none payable, the one with the oldest entry
    is recorded as carried over. A suspended publisher's payout is held whatever it holds.
    """
    candidates = list(by_currency.values() if isinstance(by_currency, Mapping) else by_currency)
    if not candidates:
        return None
    minimum = _cents(Decimal(minimum), "the payout minimum")
    for entry in candidates:
        gross = _cents(entry.gross, "gross")
        fee = _cents(entry.commission, "commission")
        if gross - fee != _cents(entry.net, "net"):
            raise DomainError("invalid_ledger", f"{entry.currency}: net != gross - commission")
    payable = [t for t in candidates if t.net > 0 and t.net >= minimum]
    chosen = min(payable or candidates, key=lambda t: (t.oldest, t.currency))
    if publisher_status == "suspended":
        status, reason = PayoutStatus.HELD, "publisher_suspended"
    elif not payable:
        status = PayoutStatus.CARRIED_OVER
        reason = "nothing_owed" if chosen.net <= 0 else "below_minimum"
    else:
        status, reason = PayoutStatus.PENDING, None
    return PayoutDecision(
        status=status,
        currency=chosen.currency,
        gross=chosen.gross,
        platform_fee=chosen.commission,
        net=chosen.gross - chosen.commission,
        carried_in=chosen.carried_in,
        entries=chosen.entries,
        reason=reason,
    )


# --- transfers -----------------------------------------------------------------------------


def transfer_key(publisher_id: int, period: Period, refused_attempts: int = 0) -> str:
    """The idempotency key of a payout's transfer: ``payout:{publisher}:{YYYY-MM}``, so any
    retry reaches the provider as the same request. Only after the provider *refused* a
    transfer (no money moved) does an admin's retry get a new key (``…:retry-{n}``): Stripe
    and PayPal replay a refusal for a key they have seen."""
    key = f"payout:{publisher_id}:{period.label}"
    return key if refused_attempts == 0 else f"{key}:retry-{refused_attempts}"


def destination_for(
    method: str, *, stripe_account_id: str | None, paypal_email: str | None
) -> str | None:
    """Where a payout by ``method`` goes; None for manual. ``payout_destination_missing``
    when the publisher has not said where."""
    match PayoutMethod(method):
        case PayoutMethod.STRIPE:
            if not stripe_account_id:
                raise DomainError(
                    "payout_destination_missing", "no Stripe account is connected for payouts"
                )
            return stripe_account_id
        case PayoutMethod.PAYPAL:
            if not paypal_email:
                raise DomainError(
                    "payout_destination_missing", "no PayPal email is set for payouts"
                )
            return paypal_email
        case PayoutMethod.MANUAL:
            return None


def check_settings(method: str, *, stripe_account_id: str | None, paypal_email: str | None) -> None:
    """Payout settings a transfer can use: the chosen method has its destination, and a
    Stripe account id looks like one (``acct_…``)."""
    if stripe_account_id is not None and not re.fullmatch(
        STRIPE_ACCOUNT_PATTERN, stripe_account_id
    ):
        raise DomainError("invalid_stripe_account", "a Stripe account id looks like acct_…")
    try:
        destination_for(method, stripe_account_id=stripe_account_id, paypal_email=paypal_email)
    except DomainError as error:
        code = {"stripe": "stripe_account_required", "paypal": "paypal_email_required"}[method]
        raise DomainError(code, error.detail) from None


def completion_mail(
    *, publisher_name: str, net: Decimal, currency: str, period: Period, reference: str | None
) -> tuple[str, str]:
    """Subject and body of the "payout completed" mail."""
    subject = f"Your {period.label} payout of {net} {currency} has been sent"
    body = (
        f"Hello {publisher_name},\n\n"
        f"your marketplace payout for {period.label} has been sent: {net} {currency}.\n"
        + (f"Reference: {reference}\n" if reference else "")
        + "\nThe orders it covers are listed under Payouts in your publisher dashboard.\n"
    )
    return subject, body


# --- the earnings report -------------------------------------------------------------------

EARNINGS_CSV_COLUMNS = (
    "date",
    "order_number",
    "module",
    "kind",
    "gross",
    "commission",
    "net",
    "currency",
    "payout_id",
)


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a cell starting like a formula gets a leading
    apostrophe. Only for free text (names); amounts are written as numbers."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@dataclass(frozen=True)
class ReportLine:
    occurred_at: datetime
    order_number: str
    module: str
    kind: str
    gross: Decimal
    commission: Decimal
    net: Decimal
    currency: str
    payout_id: int | None


def earnings_csv(lines: Iterable[ReportLine]) -> str:
    """The earnings report: one row per ledger entry, amounts exactly as booked."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EARNINGS_CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            (
                line.occurred_at.astimezone(UTC).date().isoformat(),
                safe_cell(line.order_number),
                safe_cell(line.module),
                line.kind,
                f"{line.gross:.2f}",
                f"{line.commission:.2f}",
                f"{line.net:.2f}",
                line.currency,
                "" if line.payout_id is None else str(line.payout_id),
            )
        )
    return out.getvalue()


class PayoutOptions(BaseModel):
    """Tunables the payout workflows get in their input (from settings), so they stay
    deterministic and tests can make them quick."""

    transfer_attempts: int = 8
    retry_initial_seconds: float = 10.0
    retry_max_seconds: float = 600.0
    poll_interval_seconds: float = 3600.0
    """How often a transfer the provider settles later (PayPal) is looked at again."""
    poll_limit_seconds: float = 31 * 24 * 3600.0
    """After this it is recorded as failed (unconfirmed) for an admin to look at."""
    page_size: int = 100
    activity_timeout_seconds: float = 60.0
    """How long one database step may take before it is tried again (on another worker,
    if this one died)."""
    transfer_timeout_seconds: float = 90.0
    """The same for one call to the provider (a transfer, or reading one back)."""


class MonthlyPayoutsInput(BaseModel):
    period: str | None = None
    """YYYY-MM; None: the month before the scheduled time."""
    after_publisher_id: int = 0
    started: int = 0
    skipped: int = 0
    options: PayoutOptions = PayoutOptions()


class MonthlyPayoutsResult(BaseModel):
    period: str
    started: int
    """Payout workflows this run started."""
    skipped: int
    """Publishers whose payout workflow had already run or was running."""
    already_ran: bool = False
    """The scheduled run found the month already run."""


class PayoutInput(BaseModel):
    """One publisher's payout for one month."""

    publisher_id: int
    period: str
    options: PayoutOptions = PayoutOptions()
