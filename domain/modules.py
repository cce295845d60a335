"""Module listing rules: statuses, allowed transitions and pricing consistency."""

from decimal import Decimal
from enum import StrEnum

from domain.errors import Conflict, DomainError
from domain.money import to_cents


class ModuleStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class LicenseType(StrEnum):
    FREE = "free"
    PAID = "paid"
    SUBSCRIPTION = "subscription"
    TRIAL = "trial"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    UNLISTED = "unlisted"


class SubscriptionPeriod(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"


CURRENCIES = frozenset({"USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY"})
MAX_PRICE = Decimal("100000.00")
MAX_TRIAL_DAYS = 90


def check_pricing(
    license_type: LicenseType,
    price: Decimal | None,
    currency: str,
    subscription_period: SubscriptionPeriod | None,
    trial_days: int | None,
) -> Decimal | None:
    """Validate a listing's pricing as a whole; returns the price rounded to cents."""
    if currency not in CURRENCIES:
        raise DomainError("unsupported_currency", f"currency must be one of {sorted(CURRENCIES)}")
    if license_type is LicenseType.FREE:
        if price not in (None, Decimal(0)):
            raise DomainError("free_module_has_price", "a free module cannot have a price")
        if subscription_period is not None or trial_days is not None:
            raise DomainError(
                "free_module_has_billing", "a free module has no subscription period or trial"
            )
        return None
    if price is None or price <= 0:
        raise DomainError("price_required", f"a {license_type} module needs a price above zero")
    if price > MAX_PRICE:
        raise DomainError("price_too_high", f"price cannot exceed {MAX_PRICE}")
    if price != to_cents(price):
        raise DomainError("price_precision", "price has more than two decimals")
    if license_type is LicenseType.PAID:
        if subscription_period is not None or trial_days is not None:
            raise DomainError(
                "paid_module_has_billing",
                "a one-time purchase has no subscription period or trial",
            )
        return price
    if subscription_period is None:
        raise DomainError(
            "subscription_period_required", f"a {license_type} module needs a subscription period"
        )
    if license_type is LicenseType.TRIAL and trial_days is None:
        raise DomainError("trial_days_required", "a trial module needs trial_days")
    if trial_days is not None and not 1 <= trial_days <= MAX_TRIAL_DAYS:
        raise DomainError("trial_days_range", f"trial_days must be between 1 and {MAX_TRIAL_DAYS}")
    return price


def check_editable(status: ModuleStatus) -> None:
    """A listing under review or archived is frozen."""
    if status is ModuleStatus.PENDING:
        raise Conflict("module_under_review", "the module is waiting for review and cannot change")
    if status is ModuleStatus.ARCHIVED:
        raise Conflict("module_archived", "the module is archived")


def check_slug_change(status: ModuleStatus, *, has_versions: bool = False) -> None:
    """The slug names the module in URLs, workflow ids and its versions' signed statements
    (``domain.module_signature``), so it is fixed after the draft, and as soon as a version
    was uploaded."""
    if status is not ModuleStatus.DRAFT:
        raise Conflict("slug_frozen", "the slug can only change while the module is a draft")
    if has_versions:
        raise Conflict(
            "slug_frozen",
            "the slug is fixed once a version was uploaded: its signature names the module",
        )


def submission_is_retry(status: ModuleStatus) -> bool:
    """Whether a submit is allowed; True when it repeats one already accepted."""
    if status is ModuleStatus.PENDING:
        return True
    if status in (ModuleStatus.DRAFT, ModuleStatus.REJECTED):
        return False
    if status is ModuleStatus.ARCHIVED:
        raise Conflict("module_archived", "an archived module cannot be submitted")
    raise Conflict("module_already_published", "the module is already published")
