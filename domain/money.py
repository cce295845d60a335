"""Money: exact decimals with one rounding rule for the whole system."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_UP


def to_cents(amount: Decimal | int | str) -> Decimal:
    """Quantize to cents with the platform's single rounding rule (half up)."""
    return Decimal(amount).quantize(CENT, rounding=ROUNDING)
