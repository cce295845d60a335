"""Cart and checkout money: coupons, order totals, tax, publisher earnings and refunds.

Everything here is pure: the caller reads the cart lines, the coupon and the platform's tax
and commission rates, passes them in with the current time, and stores what comes back.

**Amounts** are ``Decimal`` (or ``int``; never ``float``), never negative, and exact in the
order's currency: at most two decimals, none for JPY. Anything else is refused with
``invalid_amount``, never rounded silently. Percentages (tax, commission, percent coupons)
are in [0, 100] with at most two decimals. Every rounding goes through the platform's single
rule, ``domain.money`` (half up): ``to_cents``, or the same rule to whole units for JPY.
Integer minor units exist only at a payment gateway's edge (``to_minor_units``).

**An order** is priced line by line (one line per module, quantity one) and the order's
figures are the sums of its lines', so everything adds up to the cent by construction:

- A line's ``net_of_discount`` = gross - discount, its tax = round(net_of_discount * rate)
  (rate / 100, per line), its total = net_of_discount + tax.
- The order's ``subtotal``, ``discount``, ``tax`` and ``total`` are the sums of the lines'
  gross, discount, tax and total; so ``total == subtotal - discount + tax`` to the cent.
- Free lines (price 0) have zero everything; a coupon never applies to them.

**Coupons** apply to their *eligible* lines: paid lines whose module the coupon names, or
every paid line for a global coupon (``module_ids`` is None).

- percent: each eligible line is discounted by round(gross * value / 100), rounded per line.
- fixed: the discount is min(value, eligible subtotal), so a coupon larger than what it
  applies to brings those lines to zero and never below. It is spread over the eligible
  lines in proportion to their price by largest remainders: each line gets the floor of its
  exact share in minor units, and the minor units left over go one each to the lines with
  the largest remainders (ties: the lower ``module_id``). The line discounts sum exactly to
  the order discount, and none exceeds its line's price.

**Publisher earnings** are computed per line on ``net_of_discount``, the amount after the
discount and before tax: tax is the platform's to remit, never the publisher's income.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum
from typing import ParamSpec, TypeVar

from domain.errors import DomainError
from domain.modules import CURRENCIES, LicenseType
from domain.money import CENT, ROUNDING, to_cents

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})
MAX_AMOUNT = Decimal(10) ** 12
"""Far above any order; keeps every product of an amount and a rate exact in ``Decimal``."""
HUNDRED = Decimal(100)
MAX_FRACTION_DIGITS = 40
_CONTEXT = Context(
    prec=100, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""Arithmetic here never depends on the caller's decimal context: with amounts below
``MAX_AMOUNT`` and fractions of at most ``MAX_FRACTION_DIGITS`` digits, every product is
exact, so the only rounding is the explicit one."""


P = ParamSpec("P")
R = TypeVar("R")


def _exact(function: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(_CONTEXT):
            return function(*args, **kwargs)

    return wrapper


class CouponKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


@dataclass(frozen=True)
class CartLine:
    module_id: int
    publisher_id: int
    unit_price: Decimal
    currency: str
    license_type: LicenseType


@dataclass(frozen=True)
class Coupon:
    code: str
    kind: CouponKind
    value: Decimal
    """Percent in [0, 100] for ``percent``; an amount in ``currency`` for ``fixed``."""
    currency: str | None = None
    """Required for ``fixed``; when set, the coupon applies only to orders in it."""
    starts_at: datetime | None = None
    """Valid from this instant (inclusive); None: from the start."""
    ends_at: datetime | None = None
    """Valid until this instant (exclusive); None: forever."""
    max_redemptions: int | None = None
    redemptions_so_far: int = 0
    module_ids: frozenset[int] | None = None
    """The modules it discounts; None: every paid line (a global coupon)."""
    min_subtotal: Decimal | None = None
    """The least subtotal of the *eligible* lines, in the order's currency."""


@dataclass(frozen=True)
class LineTotals:
    module_id: int
    publisher_id: int
    gross: Decimal
    discount: Decimal
    tax: Decimal
    net_of_discount: Decimal
    """gross - discount: what the buyer pays for the line before tax; earnings start here."""
    total: Decimal
    """net_of_discount + tax."""


@dataclass(frozen=True)
class OrderTotals:
    currency: str
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    lines: tuple[LineTotals, ...]
    coupon_code: str | None = None
    """The coupon applied, if any."""


@dataclass(frozen=True)
class Earnings:
    gross: Decimal
    commission: Decimal
    net: Decimal
    """gross - commission, exactly."""
    currency: str | None = None
    """Decides the rounding unit (whole yen for JPY); None: cents."""


# --- amounts and currencies ----------------------------------------------------------------


def currency_places(currency: str) -> int:
    """Decimal places of a currency's amounts: 0 for JPY, 2 for the others we sell in."""
    if currency not in CURRENCIES:
        raise DomainError("unsupported_currency", f"currency must be one of {sorted(CURRENCIES)}")
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


@_exact
def round_money(amount: Decimal, currency: str | None = None) -> Decimal:
    """The single rounding rule (half up) to the currency's unit; None means cents."""
    if currency is None or currency_places(currency) == 2:
        return to_cents(amount)
    return amount.quantize(Decimal(1), rounding=ROUNDING)


def _quantum(currency: str | None) -> Decimal:
    if currency is None:
        return CENT
    return Decimal(1).scaleb(-currency_places(currency))


def _amount(value: object, what: str, currency: str | None) -> Decimal:
    """A non-negative amount exact in the currency's unit, returned at that unit's scale."""
    quantum = _quantum(currency)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise DomainError("invalid_amount", f"{what} must be a Decimal, not {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise DomainError("invalid_amount", f"{what} must be between 0 and {MAX_AMOUNT}")
    if amount % quantum != 0:
        exponent = quantum.as_tuple().exponent
        assert isinstance(exponent, int)  # a quantum is finite
        places = -exponent
        unit = f"{places} decimals" if places else "no decimals"
        raise DomainError("invalid_amount", f"{what} must have at most {unit} in {currency}")
    return amount.quantize(quantum)


def _percent(value: object, what: str) -> Decimal:
    """A rate in [0, 100] with at most two decimals."""
    rate = _amount(value, what, None)
    if rate > HUNDRED:
        raise DomainError("invalid_amount", f"{what} must be between 0 and 100")
    return rate


def _fraction(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise DomainError("invalid_amount", f"{what} must be a Decimal, not {type(value).__name__}")
    fraction = Decimal(value)
    if not fraction.is_finite() or not 0 <= fraction <= 1:
        raise DomainError("invalid_amount", f"{what} must be between 0 and 1")
    if len(fraction.as_tuple().digits) > MAX_FRACTION_DIGITS:
        raise DomainError(
            "invalid_amount", f"{what} has more than {MAX_FRACTION_DIGITS} significant digits"
        )
    return fraction


@_exact
def to_minor_units(amount: Decimal, currency: str) -> int:
    """An exact amount as the gateway's integer (cents; yen for JPY). Never rounds."""
    places = currency_places(currency)
    return int(_amount(amount, "amount", currency).scaleb(places))


@_exact
def from_minor_units(units: int, currency: str) -> Decimal:
    """A gateway's integer amount back to a Decimal at the currency's scale."""
    places = currency_places(currency)
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise DomainError("invalid_amount", "minor units must be a non-negative integer")
    return _amount(Decimal(units).scaleb(-places), "amount", currency)


# --- lines and coupons ---------------------------------------------------------------------


def _checked_lines(lines: Sequence[CartLine]) -> tuple[str, list[tuple[CartLine, Decimal]]]:
    """The order's currency and each line with its validated price."""
    if not lines:
        raise DomainError("empty_order", "an order needs at least one line")
    currencies = {line.currency for line in lines}
    if len(currencies) > 1:
        raise DomainError(
            "mixed_currencies", f"one currency per order, got {', '.join(sorted(currencies))}"
        )
    currency = lines[0].currency
    currency_places(currency)
    seen: set[int] = set()
    checked = []
    for line in lines:
        if line.module_id in seen:
            raise DomainError("duplicate_line", f"module {line.module_id} is in the order twice")
        seen.add(line.module_id)
        price = _amount(line.unit_price, f"the price of module {line.module_id}", currency)
        if LicenseType(line.license_type) is LicenseType.FREE and price != 0:
            raise DomainError("free_module_has_price", "a free module cannot have a price")
        checked.append((line, price))
    return currency, checked


def _eligible(
    coupon: Coupon, currency: str, lines: list[tuple[CartLine, Decimal]], now: datetime
) -> list[tuple[CartLine, Decimal]]:
    """Validate the coupon against the order; the lines it discounts."""
    _check_definition(coupon, currency)
    coupon_currency = coupon.currency

    if coupon.starts_at is not None and now < coupon.starts_at:
        raise DomainError("coupon_not_started", f"coupon {coupon.code} is not valid yet")
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise DomainError("coupon_expired", f"coupon {coupon.code} has expired")
    if coupon.max_redemptions is not None and coupon.redemptions_so_far >= coupon.max_redemptions:
        raise DomainError("coupon_exhausted", f"coupon {coupon.code} has been used up")
    if coupon_currency is not None and coupon_currency != currency:
        raise DomainError(
            "coupon_currency_mismatch",
            f"coupon {coupon.code} is in {coupon_currency}, the order in {currency}",
        )
    eligible = [
        (line, price)
        for line, price in lines
        if price > 0 and (coupon.module_ids is None or line.module_id in coupon.module_ids)
    ]
    if not eligible:
        raise DomainError(
            "coupon_not_applicable", f"coupon {coupon.code} applies to nothing in this order"
        )
    if coupon.min_subtotal is not None and sum(p for _, p in eligible) < coupon.min_subtotal:
        raise DomainError(
            "coupon_min_subtotal",
            f"coupon {coupon.code} needs at least {coupon.min_subtotal} {currency} "
            "of the modules it applies to",
        )
    return eligible


def _check_definition(coupon: Coupon, order_currency: str | None) -> None:
    if coupon.kind not in tuple(CouponKind):
        raise DomainError("invalid_coupon", f"a coupon is {' or '.join(CouponKind)}")
    kind = CouponKind(coupon.kind)
    if kind is CouponKind.FIXED and coupon.currency is None:
        raise DomainError("coupon_currency_required", "a fixed coupon needs a currency")
    if coupon.currency is not None:
        currency_places(coupon.currency)
    if kind is CouponKind.PERCENT:
        _percent(coupon.value, "the coupon's percent")
    else:
        _amount(coupon.value, "the coupon's value", coupon.currency)
    if coupon.min_subtotal is not None:
        _amount(
            coupon.min_subtotal,
            "the coupon's minimum subtotal",
            coupon.currency or order_currency,
        )


@_exact
def check_coupon_definition(coupon: Coupon) -> None:
    """Refuse a coupon that could never apply, when it is created or changed: the checks
    of ``check_coupon`` that need no order, plus a value above zero and a window that
    ends after it starts (``invalid_coupon_window``)."""
    _check_definition(coupon, None)
    if Decimal(coupon.value) <= 0:
        raise DomainError("invalid_amount", "a coupon's value must be above 0")
    if coupon.starts_at and coupon.ends_at and coupon.ends_at <= coupon.starts_at:
        raise DomainError("invalid_coupon_window", "a coupon must end after it starts")
    if coupon.max_redemptions is not None and coupon.max_redemptions < 1:
        raise DomainError("invalid_amount", "max_redemptions must be at least 1")


@_exact
def check_coupon(coupon: Coupon, lines: Sequence[CartLine], now: datetime) -> None:
    """Refuse a coupon that cannot be used on these lines now, with a machine-readable code.

    In order: the coupon's own amounts (``invalid_amount``, ``coupon_currency_required``),
    ``coupon_not_started`` (now < starts_at), ``coupon_expired`` (now >= ends_at),
    ``coupon_exhausted`` (redemptions_so_far >= max_redemptions), ``coupon_currency_mismatch``
    (the coupon names another currency), ``coupon_not_applicable`` (no paid line it covers),
    ``coupon_min_subtotal`` (its eligible lines sum below ``min_subtotal``). The lines are
    checked as in ``price_order`` first.
    """
    currency, checked = _checked_lines(lines)
    _eligible(coupon, currency, checked, now)


def _allocate(total: int, weights: list[tuple[int, int]]) -> dict[int, int]:
    """Split ``total`` minor units over (key, weight) pairs in proportion to the weights,
    by largest remainders (ties: the lower key); the shares sum exactly to ``total``."""
    whole = sum(weight for _, weight in weights)
    shares = {key: total * weight // whole for key, weight in weights}
    remainders = {key: total * weight % whole for key, weight in weights}
    left = total - sum(shares.values())
    for key in sorted(shares, key=lambda k: (-remainders[k], k))[:left]:
        shares[key] += 1
    return shares


def _discounts(
    coupon: Coupon, currency: str, eligible: list[tuple[CartLine, Decimal]]
) -> dict[int, Decimal]:
    if CouponKind(coupon.kind) is CouponKind.PERCENT:
        return {
            line.module_id: round_money(price * Decimal(coupon.value) / HUNDRED, currency)
            for line, price in eligible
        }
    places = currency_places(currency)
    eligible_subtotal = sum((price for _, price in eligible), Decimal(0))
    order_discount = min(Decimal(coupon.value), eligible_subtotal)
    shares = _allocate(
        int(order_discount.scaleb(places)),
        [(line.module_id, int(price.scaleb(places))) for line, price in eligible],
    )
    return {key: from_minor_units(units, currency) for key, units in shares.items()}


@_exact
def price_order(
    lines: Sequence[CartLine],
    coupon: Coupon | None,
    tax_rate_percent: Decimal,
    now: datetime,
) -> OrderTotals:
    """Price an order exactly; the order's figures are the sums of its lines'.

    Rules (see the module docstring for the details):

    - One currency per order (``mixed_currencies``); one line per module
      (``duplicate_line``); at least one line (``empty_order``); a ``free`` line costs 0
      (``free_module_has_price``).
    - Prices, coupon values and minimums are non-negative and exact in the currency (two
      decimals, none for JPY); the tax rate and a percent coupon are in [0, 100] with two
      decimals at most. Anything else: ``invalid_amount``.
    - The coupon is checked as by ``check_coupon``. A percent coupon discounts each eligible
      line by value% rounded per line with the single rounding rule (half up). A fixed
      coupon's discount is min(value, eligible subtotal), spread over the eligible lines in
      proportion to their price, the leftover minor units to the largest remainders (ties:
      the lower module id): line discounts sum exactly to the order discount and never
      exceed a line's price.
    - Tax is computed per line on the discounted amount, rounded per line, and summed; so
      subtotal - discount + tax == total == the sum of line totals, to the cent.
    - Free lines have zero everything.
    """
    currency, checked = _checked_lines(lines)
    rate = _percent(tax_rate_percent, "the tax rate")
    discounts: dict[int, Decimal] = {}
    if coupon is not None:
        discounts = _discounts(coupon, currency, _eligible(coupon, currency, checked, now))
    zero = Decimal(0).quantize(_quantum(currency))
    totals = []
    for line, gross in checked:
        discount = discounts.get(line.module_id, zero)
        net = gross - discount
        tax = round_money(net * rate / HUNDRED, currency)
        totals.append(
            LineTotals(
                module_id=line.module_id,
                publisher_id=line.publisher_id,
                gross=gross,
                discount=discount,
                tax=tax,
                net_of_discount=net,
                total=net + tax,
            )
        )
    return OrderTotals(
        currency=currency,
        subtotal=sum((t.gross for t in totals), zero),
        discount=sum((t.discount for t in totals), zero),
        tax=sum((t.tax for t in totals), zero),
        total=sum((t.total for t in totals), zero),
        lines=tuple(totals),
        coupon_code=coupon.code if coupon is not None else None,
    )


# --- publisher earnings and their reversal -------------------------------------------------


@_exact
def publisher_earnings(
    line_net: Decimal, commission_rate_percent: Decimal, *, currency: str | None = None
) -> Earnings:
    """What a sale earns the publisher and the platform.

    ``line_net`` is the line's ``net_of_discount``: after the coupon, *before tax*. Tax is
    the platform's to remit and never part of anyone's earnings. commission =
    round(gross * rate / 100) with the single rounding rule (``to_cents``; whole yen when
    ``currency`` is JPY), net = gross - commission, so gross == commission + net exactly.
    """
    gross = _amount(line_net, "the line's net amount", currency)
    rate = _percent(commission_rate_percent, "the commission rate")
    commission = round_money(gross * rate / HUNDRED, currency)
    return Earnings(gross=gross, commission=commission, net=gross - commission, currency=currency)


def _reversed_by(earnings: Earnings, fraction: Decimal) -> tuple[Decimal, Decimal]:
    """Gross and commission reversed once ``fraction`` of the sale has been refunded.

    Both grow monotonically with the fraction, and so does their difference (the commission
    follows the reversed gross at the sale's own commission ratio, which moves it by at most
    one unit per unit of gross), and at 1 they are exactly the original amounts.
    """
    gross = round_money(earnings.gross * fraction, earnings.currency)
    if earnings.gross == 0:
        return gross, gross
    commission = round_money(gross * earnings.commission / earnings.gross, earnings.currency)
    return gross, commission


@_exact
def refund_reversal(
    earnings: Earnings,
    refunded_fraction: Decimal = Decimal(1),
    *,
    already_refunded_fraction: Decimal = Decimal(0),
) -> Earnings:
    """The (negative) earnings entry that reverses a refund of part or all of a sale.

    ``refunded_fraction`` is this refund's share of the sale (refunded amount / line total),
    ``already_refunded_fraction`` the share refunded before. The reversal is the difference
    between what has been reversed after this refund and before it, each rounded with the
    single rule: every amount is <= 0 and gross == commission + net exactly, successive
    reversals sum to exactly the original when the fractions reach 1, and never beyond it
    (refunding more than the whole sale is ``refund_exceeds_original``).
    """
    fraction = _fraction(refunded_fraction, "the refunded fraction")
    before = _fraction(already_refunded_fraction, "the fraction already refunded")
    if fraction == 0:
        raise DomainError("invalid_amount", "the refunded fraction must be above 0")
    if before + fraction > 1:
        raise DomainError("refund_exceeds_original", "refunds cannot exceed the original sale")
    gross = _amount(earnings.gross, "the gross earnings", earnings.currency)
    commission = _amount(earnings.commission, "the commission", earnings.currency)
    net = _amount(earnings.net, "the net earnings", earnings.currency)
    if commission + net != gross:
        raise DomainError("invalid_amount", "earnings must satisfy gross == commission + net")
    original = Earnings(gross, commission, net, earnings.currency)
    gross_before, commission_before = _reversed_by(original, before)
    gross_after, commission_after = _reversed_by(original, before + fraction)
    gross_reversed = gross_after - gross_before
    commission_reversed = commission_after - commission_before
    zero = Decimal(0).quantize(_quantum(earnings.currency))
    return Earnings(
        gross=zero - gross_reversed,
        commission=zero - commission_reversed,
        net=zero - (gross_reversed - commission_reversed),
        currency=earnings.currency,
    )
