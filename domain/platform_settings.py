"""Settings admins change at run time: what each one is, its bounds, and its default.

Stored as JSON in ``platform_settings``; a key never written takes its default, which for
the ones mirrored from the environment is the deployment's own setting.
"""

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


def _decimal(low: Decimal, high: Decimal):
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


def _days(low: int, high: int):
    def parse(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise DomainError("invalid_setting", f"{key} is a whole number from {low} to {high}")
        return value

    return parse


def _severity(key: str, value: Any) -> str:
    if value not in SEVERITIES:
        raise DomainError("invalid_setting", f"{key} is one of {', '.join(SEVERITIES)}")
    return value


PARSERS = {
    "commission_rate_percent": _decimal(Decimal(0), Decimal(100)),
    "payout_minimum": _decimal(Decimal(0), Decimal(100000)),
    "tax_rate_percent": _decimal(Decimal(0), Decimal(100)),
    "refund_window_days": _days(0, 365),
    "review_reminder_days": _days(1, 90),
    "scan_reject_severity": _severity,
    "scan_review_severity": _severity,
}


def parse_setting(key: str, value: Any) -> Any:
    """The stored form of an admin's value, or ``unknown_setting`` / ``invalid_setting``."""
    parser = PARSERS.get(key)
    if parser is None:
        raise DomainError("unknown_setting", f"{key!r} is not a platform setting")
    return parser(key, value)


def effective(stored: dict[str, Any], defaults: dict[str, Any]) -> PlatformSettings:
    """Stored values over the defaults; a stored value no longer valid falls back too.
    The scan thresholds must keep review at or below reject."""
    values = dict(defaults)
    for key, raw in stored.items():
        if key in PARSERS:
            try:
                values[key] = parse_setting(key, raw)
            except DomainError:
                continue
    return PlatformSettings(**{key: values[key] for key in PARSERS})


def check_scan_thresholds(review: str, reject: str) -> None:
    if SEVERITIES.index(review) > SEVERITIES.index(reject):
        raise DomainError(
            "invalid_setting", "scan_review_severity cannot be above scan_reject_severity"
        )
