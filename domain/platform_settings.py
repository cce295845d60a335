"""Settings admins change at run time: what each one is, its bounds, and its default.

Stored as JSON in ``platform_settings``; a key never written takes its default, which for
the ones mirrored from the environment is the deployment's own setting.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import DomainError

SEVERITIES = ("LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class PlatformSettings:
    """The effective values, typed."""

    commission_rate_percent: Decimal
    """For publishers registering from now on; existing ones keep theirs."""
    payout_minimum: Decimal
    """Below this, a month's net carries over to the next month."""
    tax_rate_percent: Decimal
    refund_window_days: int
    review_reminder_days: int
    scan_reject_severity: str
    scan_review_severity: str

    @property
    def refund_window(self) -> timedelta:
        return timedelta(days=self.refund_window_days)

    @property
    def review_reminder_after(self) -> timedelta:
        return timedelta(days=self.review_reminder_days)


Parser = Callable[[str, Any], Decimal | int | str]
"""Checks a value given for a key and returns it typed, or raises ``invalid_setting``."""


def _decimal(low: Decimal, high: Decimal) -> Callable[[str, Any], Decimal]:
    def parse(key: str, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise DomainError("invalid_setting", f"{key} is a decimal number given as a string")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise DomainError("invalid_setting", f"{key} is a decimal number") from None
        if (
            not number.is_finite()
            or not low <= number <= high
            or number != number.quantize(Decimal("0.01"))
        ):
            raise DomainError(
                "invalid_setting", f"{key} is between {low} and {high}, with two decimals at most"
            )
        return number.quantize(Decimal("0.01"))

    return parse


def _days(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise DomainError("invalid_setting", f"{key} is a whole number from {low} to {high}")
        return value

    return parse


def _severity(key: str, value: Any) -> str:
    if value not in SEVERITIES:
        raise DomainError("invalid_setting", f"{key} is one of {', '.join(SEVERITIES)}")
    return str(value)


@dataclass(frozen=True)
class SettingSpec:
    """What an admin is shown of a key: its kind, what it does, and what it accepts."""

    kind: str
    """``decimal`` (sent as a string), ``days`` (a whole number) or ``severity``."""
    description: str
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    choices: tuple[str, ...] = ()


SPECS = {
    "commission_rate_percent": SettingSpec(
        "decimal",
        "Platform commission, in percent, given to publishers who register from now on; "
        "existing publishers keep their own rate.",
        Decimal("0.00"),
        Decimal("100.00"),
    ),
    "payout_minimum": SettingSpec(
        "decimal",
        "A month's net earnings below this amount carry over to the next month's payout.",
        Decimal("0.00"),
        Decimal("100000.00"),
    ),
    "tax_rate_percent": SettingSpec(
        "decimal",
        "Tax added to carts, checkouts and subscription renewals, in percent.",
        Decimal("0.00"),
        Decimal("100.00"),
    ),
    "refund_window_days": SettingSpec(
        "days", "How many days after payment buyers may refund an order themselves.", 0, 365
    ),
    "review_reminder_days": SettingSpec(
        "days",
        "Days a submitted module waits for a decision before admins are reminded "
        "(for reviews started from now on).",
        1,
        90,
    ),
    "scan_reject_severity": SettingSpec(
        "severity",
        "A code scan finding at this severity or above rejects a version.",
        choices=SEVERITIES,
    ),
    "scan_review_severity": SettingSpec(
        "severity",
        "A code scan finding at this severity or above holds a version for manual review; "
        "at most scan_reject_severity.",
        choices=SEVERITIES,
    ),
}


def _parser(spec: SettingSpec) -> Parser:
    if spec.kind == "decimal":
        assert isinstance(spec.minimum, Decimal) and isinstance(spec.maximum, Decimal)
        return _decimal(spec.minimum, spec.maximum)
    if spec.kind == "days":
        assert isinstance(spec.minimum, int) and isinstance(spec.maximum, int)
        return _days(spec.minimum, spec.maximum)
    return _severity


PARSERS = {key: _parser(spec) for key, spec in SPECS.items()}


def parse_setting(key: str, value: Any) -> Any:
    """The stored form of an admin's value, or ``unknown_setting`` / ``invalid_setting``."""
    parser = PARSERS.get(key)
    if parser is None:
        raise DomainError("unknown_setting", f"{key!r} is not a platform setting")
    return parser(key, value)


def effective(stored: dict[str, Any], defaults: dict[str, Any]) -> PlatformSettings:
    """Stored values over the defaults; a stored value no longer valid falls back too.
    The scan thresholds must keep review at or below reject."""
    values = {key: effective_value(stored, key, defaults[key]) for key in PARSERS}
    values["scan_reject_severity"], values["scan_review_severity"] = scan_thresholds(
        stored, defaults["scan_reject_severity"], defaults["scan_review_severity"]
    )
    return PlatformSettings(**values)


def effective_value(stored: dict[str, Any], key: str, default: Any) -> Any:
    """One key's value: the stored one while it still parses, else ``default``."""
    if key not in stored:
        return default
    try:
        return parse_setting(key, stored[key])
    except DomainError:
        return default


def scan_thresholds(
    stored: dict[str, Any], reject_default: str, review_default: str
) -> tuple[str, str]:
    """The (reject, review) severities in force. They are only ever changed together, so a
    stored pair that puts review above reject is not trusted: both take their defaults."""
    reject = effective_value(stored, "scan_reject_severity", reject_default)
    review = effective_value(stored, "scan_review_severity", review_default)
    try:
        check_scan_thresholds(review, reject)
    except DomainError:
        return reject_default, review_default
    return reject, review


def stored_form(value: Any) -> Any:
    """How a parsed value is kept in the JSON column: decimals as their exact text
    ("20.00"), which ``parse_setting`` reads back to the same value."""
    return str(value) if isinstance(value, Decimal) else value


def check_scan_thresholds(review: str, reject: str) -> None:
    if SEVERITIES.index(review) > SEVERITIES.index(reject):
        raise DomainError(
            "invalid_setting", "scan_review_severity cannot be above scan_reject_severity"
        )
