"""Cart and checkout money in ``domain/pricing.py``, table by table, without a database:
coupon checks, order totals with percent and fixed coupons and per-line tax, publisher
earnings and their reversal on refunds, minor units at the gateway's edge. The exactness
invariants are checked on thousands of generated orders (seeded, so a failure repeats)
against an oracle in integer minor units written independently of the module."""

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

import pytest

from domain.errors import DomainError
from domain.modules import LicenseType
from domain.pricing import (
    CartLine,
    Coupon,
    CouponKind,
    Earnings,
    OrderTotals,
    check_coupon,
    from_minor_units,
    price_order,
    publisher_earnings,
    refund_reversal,
    to_minor_units,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
D = Decimal
PLACES = {"USD": 2, "EUR": 2, "JPY": 0}


def line(module_id: int, price: str, currency: str = "USD", publisher_id: int = 1) -> CartLine:
    license_type = LicenseType.FREE if D(price) == 0 else LicenseType.PAID
    return CartLine(module_id, publisher_id, D(price), currency, license_type)


def percent(value: str, **kwargs) -> Coupon:
    return Coupon(code="PCT", kind=CouponKind.PERCENT, value=D(value), **kwargs)


def fixed(value: str, currency: str = "USD", **kwargs) -> Coupon:
    return Coupon(code="FIX", kind=CouponKind.FIXED, value=D(value), currency=currency, **kwargs)


def code_of(call) -> str:
    with pytest.raises(DomainError) as raised:
        call()
    return raised.value.code


# --- an independent oracle in integer minor units ------------------------------------------


def units(amount: Decimal, currency: str) -> int:
    scaled = amount * 10 ** PLACES[currency]
    assert scaled == int(scaled), f"{amount} is not exact in {currency}"
    return int(scaled)


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def hundredths(rate: Decimal) -> int:
    return units(rate, "USD")


def percent_of(amount_units: int, rate: Decimal) -> int:
    """amount * rate / 100 in minor units, rounded half up."""
    return half_up(amount_units * hundredths(rate), 100 * 100)


# --- coupons -------------------------------------------------------------------------------

CART = [line(1, "10.00"), line(2, "25.50"), line(3, "0")]


@pytest.mark.parametrize(
    ("coupon", "cart", "code"),
    [
        pytest.param(
            percent("10", starts_at=NOW + HOUR), CART, "coupon_not_started", id="not-started"
        ),
        pytest.param(percent("10", ends_at=NOW), CART, "coupon_expired", id="ends-now-is-expired"),
        pytest.param(percent("10", ends_at=NOW - HOUR), CART, "coupon_expired", id="expired"),
        pytest.param(
            percent("10", max_redemptions=5, redemptions_so_far=5),
            CART,
            "coupon_exhausted",
            id="redemptions-reached",
        ),
        pytest.param(
            percent("10", max_redemptions=0), CART, "coupon_exhausted", id="zero-redemptions"
        ),
        pytest.param(
            fixed("5", "EUR"), CART, "coupon_currency_mismatch", id="fixed-other-currency"
        ),
        pytest.param(
            percent("10", currency="EUR"),
            CART,
            "coupon_currency_mismatch",
            id="percent-named-currency",
        ),
        pytest.param(
            percent("10", module_ids=frozenset({7})),
            CART,
            "coupon_not_applicable",
            id="module-not-in-cart",
        ),
        pytest.param(
            percent("10", module_ids=frozenset({3})),
            CART,
            "coupon_not_applicable",
            id="only-a-free-line",
        ),
        pytest.param(
            percent("10"), [line(3, "0"), line(4, "0")], "coupon_not_applicable", id="all-free-cart"
        ),
        pytest.param(
            fixed("5", min_subtotal=D("35.51")), CART, "coupon_min_subtotal", id="below-minimum"
        ),
        pytest.param(
            fixed("5", min_subtotal=D("10.01"), module_ids=frozenset({1})),
            CART,
            "coupon_min_subtotal",
            id="minimum-counts-eligible-lines-only",
        ),
        pytest.param(
            Coupon(code="NOCUR", kind=CouponKind.FIXED, value=D(5)),
            CART,
            "coupon_currency_required",
            id="fixed-without-currency",
        ),
        pytest.param(
            Coupon(code="ODD", kind="bogus", value=D(5)), CART, "invalid_coupon", id="unknown-kind"
        ),
        pytest.param(percent("100.01"), CART, "invalid_amount", id="percent-above-100"),
        pytest.param(percent("-1"), CART, "invalid_amount", id="percent-negative"),
        pytest.param(percent("12.345"), CART, "invalid_amount", id="percent-three-decimals"),
        pytest.param(fixed("-5"), CART, "invalid_amount", id="fixed-negative"),
        pytest.param(fixed("5.001"), CART, "invalid_amount", id="fixed-three-decimals"),
        pytest.param(
            fixed("500.5", "JPY"),
            [line(1, "1000", "JPY")],
            "invalid_amount",
            id="fixed-fractional-yen",
        ),
        pytest.param(
            fixed("5", min_subtotal=D("-1")), CART, "invalid_amount", id="negative-minimum"
        ),
        pytest.param(
            percent("10"),
            [line(1, "10.00"), line(2, "5.00", "EUR")],
            "mixed_currencies",
            id="mixed-currencies",
        ),
    ],
)
def test_coupon_refused(coupon, cart, code):
    assert code_of(lambda: check_coupon(coupon, cart, NOW)) == code
    assert code_of(lambda: price_order(cart, coupon, D(0), NOW)) == code


@pytest.mark.parametrize(
    "coupon",
    [
        pytest.param(percent("10", starts_at=NOW), id="starts-exactly-now"),
        pytest.param(percent("10", ends_at=NOW + timedelta(microseconds=1)), id="last-instant"),
        pytest.param(percent("10", max_redemptions=5, redemptions_so_far=4), id="last-redemption"),
        pytest.param(percent("10", max_redemptions=None, redemptions_so_far=10**6), id="unlimited"),
        pytest.param(fixed("5", min_subtotal=D("35.50")), id="minimum-exactly-met"),
        pytest.param(percent("0"), id="zero-percent"),
        pytest.param(percent("100"), id="hundred-percent"),
        pytest.param(fixed("0"), id="zero-fixed"),
        pytest.param(percent("10", module_ids=frozenset({2, 99})), id="one-module-matches"),
        pytest.param(percent("10", min_subtotal=D(30)), id="percent-minimum-in-order-currency"),
    ],
)
def test_coupon_accepted(coupon):
    assert check_coupon(coupon, CART, NOW) is None
    assert price_order(CART, coupon, D(0), NOW).coupon_code == coupon.code


# --- order totals, worked examples ---------------------------------------------------------


def figures(totals: OrderTotals) -> tuple:
    """The order's figures and each line's (gross, discount, tax, total), as strings."""
    return (
        str(totals.subtotal),
        str(totals.discount),
        str(totals.tax),
        str(totals.total),
        [(str(t.gross), str(t.discount), str(t.tax), str(t.total)) for t in totals.lines],
    )


@pytest.mark.parametrize(
    ("cart", "coupon", "tax", "expected"),
    [
        pytest.param(
            [line(1, "10.00"), line(2, "5.00")],
            None,
            "20",
            (
                "15.00",
                "0.00",
                "3.00",
                "18.00",
                [("10.00", "0.00", "2.00", "12.00"), ("5.00", "0.00", "1.00", "6.00")],
            ),
            id="no-coupon-20pct-tax",
        ),
        pytest.param(
            [line(1, "9.99")],
            percent("10"),
            "0",
            ("9.99", "1.00", "0.00", "8.99", [("9.99", "1.00", "0.00", "8.99")]),
            id="percent-rounds-half-up",
        ),
        pytest.param(
            [line(1, "0.05"), line(2, "0.05"), line(3, "0.05")],
            percent("50"),
            "0",
            ("0.15", "0.09", "0.00", "0.06", [("0.05", "0.03", "0.00", "0.02")] * 3),
            id="percent-rounded-per-line-not-per-order",
        ),
        pytest.param(
            [line(1, "0.05"), line(2, "0.05")],
            None,
            "10",
            ("0.10", "0.00", "0.02", "0.12", [("0.05", "0.00", "0.01", "0.06")] * 2),
            id="tax-rounded-per-line",
        ),
        pytest.param(
            [line(3, "10.00"), line(1, "10.00"), line(2, "10.00")],
            fixed("10"),
            "0",
            (
                "30.00",
                "10.00",
                "0.00",
                "20.00",
                [
                    ("10.00", "3.33", "0.00", "6.67"),
                    ("10.00", "3.34", "0.00", "6.66"),
                    ("10.00", "3.33", "0.00", "6.67"),
                ],
            ),
            id="fixed-tie-goes-to-lowest-module-id",
        ),
        pytest.param(
            [line(1, "1.00"), line(2, "2.00")],
            fixed("0.10"),
            "0",
            (
                "3.00",
                "0.10",
                "0.00",
                "2.90",
                [("1.00", "0.03", "0.00", "0.97"), ("2.00", "0.07", "0.00", "1.93")],
            ),
            id="fixed-largest-remainder-wins",
        ),
        pytest.param(
            [line(1, "10.00"), line(2, "20.00")],
            fixed("6.00"),
            "10",
            (
                "30.00",
                "6.00",
                "2.40",
                "26.40",
                [("10.00", "2.00", "0.80", "8.80"), ("20.00", "4.00", "1.60", "17.60")],
            ),
            id="fixed-proportional-then-tax-on-discounted",
        ),
        pytest.param(
            [line(1, "10.00"), line(2, "5.00")],
            fixed("100"),
            "20",
            (
                "15.00",
                "15.00",
                "0.00",
                "0.00",
                [("10.00", "10.00", "0.00", "0.00"), ("5.00", "5.00", "0.00", "0.00")],
            ),
            id="fixed-larger-than-order-stops-at-zero",
        ),
        pytest.param(
            [line(1, "10.00"), line(2, "5.00")],
            fixed("100", module_ids=frozenset({2})),
            "20",
            (
                "15.00",
                "5.00",
                "2.00",
                "12.00",
                [("10.00", "0.00", "2.00", "12.00"), ("5.00", "5.00", "0.00", "0.00")],
            ),
            id="fixed-per-module-only-its-line",
        ),
        pytest.param(
            [line(1, "10.00"), line(2, "0")],
            percent("50"),
            "20",
            (
                "10.00",
                "5.00",
                "1.00",
                "6.00",
                [("10.00", "5.00", "1.00", "6.00"), ("0.00", "0.00", "0.00", "0.00")],
            ),
            id="free-line-zero-everything",
        ),
        pytest.param(
            [line(1, "100.00")],
            percent("100"),
            "25",
            ("100.00", "100.00", "0.00", "0.00", [("100.00", "100.00", "0.00", "0.00")]),
            id="hundred-percent-coupon",
        ),
        pytest.param(
            [line(1, "995", "JPY"), line(2, "1", "JPY")],
            percent("10", currency="JPY"),
            "10",
            ("996", "100", "90", "986", [("995", "100", "90", "985"), ("1", "0", "0", "1")]),
            id="jpy-whole-yen-half-up",
        ),
        pytest.param(
            [line(1, "100", "JPY"), line(2, "200", "JPY")],
            fixed("100", "JPY"),
            "0",
            ("300", "100", "0", "200", [("100", "33", "0", "67"), ("200", "67", "0", "133")]),
            id="jpy-fixed-spread-in-yen",
        ),
    ],
)
def test_price_order(cart, coupon, tax, expected):
    assert figures(price_order(cart, coupon, D(tax), NOW)) == expected


def test_price_order_keeps_line_identity_and_currency():
    totals = price_order(
        [line(7, "3.00", "EUR", publisher_id=70), line(8, "0", "EUR")], None, D(0), NOW
    )
    assert totals.currency == "EUR"
    assert totals.coupon_code is None
    assert [(t.module_id, t.publisher_id) for t in totals.lines] == [(7, 70), (8, 1)]
    assert [t.net_of_discount for t in totals.lines] == [D("3.00"), D("0.00")]


@pytest.mark.parametrize(
    ("cart", "tax", "code"),
    [
        pytest.param([], "0", "empty_order", id="empty"),
        pytest.param(
            [line(1, "1.00"), line(1, "2.00")], "0", "duplicate_line", id="duplicate-module"
        ),
        pytest.param(
            [line(1, "1.00"), line(2, "1.00", "EUR")], "0", "mixed_currencies", id="mixed"
        ),
        pytest.param([line(1, "1.00", "XXX")], "0", "unsupported_currency", id="unknown-currency"),
        pytest.param([line(1, "-1.00")], "0", "invalid_amount", id="negative-price"),
        pytest.param([line(1, "1.001")], "0", "invalid_amount", id="three-decimal-price"),
        pytest.param([line(1, "10.5", "JPY")], "0", "invalid_amount", id="fractional-yen"),
        pytest.param([line(1, "NaN")], "0", "invalid_amount", id="nan-price"),
        pytest.param([line(1, "Infinity")], "0", "invalid_amount", id="infinite-price"),
        pytest.param([line(1, "1.00")], "-0.01", "invalid_amount", id="negative-tax"),
        pytest.param([line(1, "1.00")], "100.01", "invalid_amount", id="tax-above-100"),
        pytest.param([line(1, "1.00")], "8.875", "invalid_amount", id="tax-three-decimals"),
        pytest.param(
            [CartLine(1, 1, D("1.00"), "USD", LicenseType.FREE)],
            "0",
            "free_module_has_price",
            id="free-with-price",
        ),
    ],
)
def test_price_order_refused(cart, tax, code):
    assert code_of(lambda: price_order(cart, None, D(tax), NOW)) == code


@pytest.mark.parametrize(
    "bad",
    [pytest.param(1.5, id="float"), pytest.param("1.50", id="str"), pytest.param(True, id="bool")],
)
def test_price_must_be_decimal(bad):
    cart = [CartLine(1, 1, bad, "USD", LicenseType.PAID)]
    assert code_of(lambda: price_order(cart, None, D(0), NOW)) == "invalid_amount"
    assert code_of(lambda: price_order([line(1, "1.00")], None, bad, NOW)) == "invalid_amount"


def test_integer_prices_and_rates_are_accepted():
    cart = [CartLine(1, 1, 10, "USD", LicenseType.PAID)]
    totals = price_order(cart, None, 20, NOW)
    assert (totals.subtotal, totals.tax, totals.total) == (D("10.00"), D("2.00"), D("12.00"))


def test_ambient_decimal_context_does_not_change_results():
    cart = [line(1, "99999.99"), line(2, "12345.67"), line(3, "0.05")]
    coupon = fixed("1000.01")
    expected = figures(price_order(cart, coupon, D("19.99"), NOW))
    with localcontext() as context:
        context.prec = 3
        context.rounding = ROUND_DOWN
        assert figures(price_order(cart, coupon, D("19.99"), NOW)) == expected
        assert publisher_earnings(D("0.05"), D(30)).commission == D("0.02")


# --- order totals, generated: the exactness invariants -------------------------------------


def random_order(rng: random.Random):
    currency = rng.choice(["USD", "EUR", "JPY"])
    quantum = D(1).scaleb(-PLACES[currency])
    ids = rng.sample(range(1, 60), rng.randint(1, 7))
    scale = rng.choice([10, 1_000, 10_000_000])
    cart = []
    for module_id in ids:
        price = 0 if rng.random() < 0.2 else rng.randint(1, scale)
        cart.append(line(module_id, str(price * quantum), currency, rng.randint(1, 4)))
    tax = D(rng.choice([0, 10_000, rng.randint(0, 10_000), rng.randint(0, 3_000)])).scaleb(-2)
    module_ids = None if rng.random() < 0.5 else frozenset(rng.sample(range(1, 60), 8) + ids[:1])
    subtotal = sum(int(units(item.unit_price, currency)) for item in cart)
    kind = rng.choice(["none", "percent", "fixed"])
    if kind == "percent":
        value = D(rng.choice([0, 10_000, rng.randint(0, 10_000)])).scaleb(-2)
        coupon = percent(str(value), module_ids=module_ids)
    elif kind == "fixed":
        value_units = rng.choice([0, 1, subtotal, subtotal + 1, rng.randint(0, 2 * subtotal + 2)])
        coupon = fixed(str(value_units * quantum), currency, module_ids=module_ids)
    else:
        coupon = None
    return cart, coupon, tax, currency


def check_invariants(cart, coupon, tax, currency, totals: OrderTotals) -> None:
    assert totals.currency == currency
    assert [t.module_id for t in totals.lines] == [item.module_id for item in cart]
    lines = totals.lines
    amounts = [totals.subtotal, totals.discount, totals.tax, totals.total]
    for t in lines:
        amounts += [t.gross, t.discount, t.tax, t.net_of_discount, t.total]
    for amount in amounts:
        assert amount >= 0, f"negative amount {amount}"
        units(amount, currency)  # exact in the currency
        assert amount.as_tuple().exponent == -PLACES[currency]
    assert sum(t.gross for t in lines) == totals.subtotal
    assert sum(t.discount for t in lines) == totals.discount
    assert sum(t.tax for t in lines) == totals.tax
    assert sum(t.total for t in lines) == totals.total
    assert totals.subtotal - totals.discount + totals.tax == totals.total

    eligible = []
    for item, t in zip(cart, lines, strict=True):
        assert t.gross == item.unit_price
        assert t.discount <= t.gross
        assert t.net_of_discount == t.gross - t.discount
        assert t.total == t.net_of_discount + t.tax
        assert units(t.tax, currency) == percent_of(units(t.net_of_discount, currency), tax)
        if t.gross == 0:
            assert (t.discount, t.tax, t.total) == (0, 0, 0)
        covered = coupon is not None and (
            coupon.module_ids is None or item.module_id in coupon.module_ids
        )
        if covered and t.gross > 0:
            eligible.append(t)
        else:
            assert t.discount == 0

    if coupon is None:
        assert totals.discount == 0
    elif coupon.kind is CouponKind.PERCENT:
        for t in eligible:
            assert units(t.discount, currency) == percent_of(units(t.gross, currency), coupon.value)
    else:
        eligible_subtotal = sum(units(t.gross, currency) for t in eligible)
        order_discount = min(units(coupon.value, currency), eligible_subtotal)
        assert units(totals.discount, currency) == order_discount
        share = {
            t.module_id: Fraction(order_discount * units(t.gross, currency), eligible_subtotal)
            for t in eligible
        }
        got = {t.module_id: units(t.discount, currency) for t in eligible}
        for module_id, exact in share.items():
            assert int(exact) <= got[module_id] <= -(-exact // 1), "more than a unit off its share"
        # largest remainders: a line rounded up never has a smaller remainder than one rounded
        # down; among equal remainders the lower module id is rounded up first
        up = [m for m in share if got[m] > int(share[m])]
        down = [m for m in share if got[m] == int(share[m]) and share[m] != int(share[m])]
        for m_up in up:
            for m_down in down:
                rem_up, rem_down = share[m_up] % 1, share[m_down] % 1
                assert rem_up > rem_down or (rem_up == rem_down and m_up < m_down)


def test_generated_orders_add_up_exactly():
    rng = random.Random(20250601)
    priced = refused = 0
    for _ in range(3000):
        cart, coupon, tax, currency = random_order(rng)
        try:
            totals = price_order(cart, coupon, tax, NOW)
        except DomainError as error:
            assert error.code == "coupon_not_applicable"
            assert coupon is not None
            assert not [
                item
                for item in cart
                if item.unit_price > 0
                and (coupon.module_ids is None or item.module_id in coupon.module_ids)
            ]
            refused += 1
            continue
        check_invariants(cart, coupon, tax, currency, totals)
        priced += 1
    assert priced > 2500 and refused > 0


def test_generated_fixed_coupons_never_go_below_zero():
    rng = random.Random(7)
    for _ in range(1000):
        cart = [
            line(m, f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}")
            for m in range(1, rng.randint(2, 6))
        ]
        subtotal = sum(item.unit_price for item in cart)
        coupon = fixed(str(subtotal + D(rng.randint(0, 10_000)).scaleb(-2)))
        totals = price_order(cart, coupon, D("17.5"), NOW)
        assert totals.discount == subtotal
        assert totals.total == totals.tax == 0
        assert all(t.discount == t.gross and t.net_of_discount == 0 for t in totals.lines)


# --- publisher earnings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line_net", "rate", "currency", "commission", "net"),
    [
        pytest.param("10.00", "15", None, "1.50", "8.50", id="plain"),
        pytest.param("0.05", "15", None, "0.01", "0.04", id="rounds-half-up-0.0075"),
        pytest.param("0.03", "50", None, "0.02", "0.01", id="exact-half-cent-up"),
        pytest.param("0.01", "49.99", None, "0.00", "0.01", id="just-below-half"),
        pytest.param("99.99", "0", None, "0.00", "99.99", id="no-commission"),
        pytest.param("99.99", "100", None, "99.99", "0.00", id="all-commission"),
        pytest.param("0", "30", None, "0.00", "0.00", id="free-line"),
        pytest.param("895", "15", "JPY", "134", "761", id="jpy-whole-yen"),
        pytest.param("10", "15", "JPY", "2", "8", id="jpy-half-yen-up"),
    ],
)
def test_publisher_earnings(line_net, rate, currency, commission, net):
    earnings = publisher_earnings(D(line_net), D(rate), currency=currency)
    assert (str(earnings.commission), str(earnings.net)) == (commission, net)
    assert earnings.gross == D(line_net)
    assert earnings.commission + earnings.net == earnings.gross
    assert earnings.currency == currency


@pytest.mark.parametrize(
    ("line_net", "rate", "currency"),
    [
        pytest.param("-0.01", "15", None, id="negative-amount"),
        pytest.param("1.005", "15", None, id="three-decimals"),
        pytest.param("10.50", "15", "JPY", id="fractional-yen"),
        pytest.param("10.00", "-1", None, id="negative-rate"),
        pytest.param("10.00", "100.01", None, id="rate-above-100"),
        pytest.param("10.00", "12.125", None, id="rate-three-decimals"),
    ],
)
def test_publisher_earnings_refused(line_net, rate, currency):
    call = lambda: publisher_earnings(D(line_net), D(rate), currency=currency)  # noqa: E731
    assert code_of(call) == "invalid_amount"


def test_earnings_start_from_the_discounted_amount_before_tax():
    totals = price_order([line(1, "50.00")], percent("20"), D("25"), NOW)
    (only,) = totals.lines
    earnings = publisher_earnings(only.net_of_discount, D("30"))
    assert (only.net_of_discount, only.tax, only.total) == (D("40.00"), D("10.00"), D("50.00"))
    assert (earnings.gross, earnings.commission, earnings.net) == (
        D("40.00"),
        D("12.00"),
        D("28.00"),
    )


def test_generated_earnings_are_exact():
    rng = random.Random(42)
    for _ in range(3000):
        currency = rng.choice([None, "USD", "JPY"])
        places = 0 if currency == "JPY" else 2
        gross_units = rng.choice([0, 1, rng.randint(0, 100), rng.randint(0, 10**9)])
        rate = D(rng.choice([0, 10_000, rng.randint(0, 10_000)])).scaleb(-2)
        earnings = publisher_earnings(D(gross_units).scaleb(-places), rate, currency=currency)
        commission_units = half_up(gross_units * hundredths(rate), 100 * 100)
        assert earnings.commission == D(commission_units).scaleb(-places)
        assert earnings.commission + earnings.net == earnings.gross
        assert earnings.commission >= 0 and earnings.net >= 0


# --- refunds: reversing earnings -----------------------------------------------------------


def earnings(gross: str, commission: str, currency: str | None = None) -> Earnings:
    return Earnings(D(gross), D(commission), D(gross) - D(commission), currency)


def as_strings(e: Earnings) -> tuple[str, str, str]:
    return (str(e.gross), str(e.commission), str(e.net))


@pytest.mark.parametrize(
    ("original", "fractions", "reversals"),
    [
        pytest.param(
            earnings("10.00", "1.50"), ["1"], [("-10.00", "-1.50", "-8.50")], id="full-refund"
        ),
        pytest.param(
            earnings("10.00", "1.50"),
            ["0.5", "0.5"],
            [("-5.00", "-0.75", "-4.25"), ("-5.00", "-0.75", "-4.25")],
            id="two-halves",
        ),
        pytest.param(
            earnings("0.01", "0.00"),
            ["0.4", "0.4", "0.2"],
            [("0.00", "0.00", "0.00"), ("-0.01", "0.00", "-0.01"), ("0.00", "0.00", "0.00")],
            id="one-cent-in-three-refunds",
        ),
        pytest.param(
            earnings("0.01", "0.00"),
            ["0.5", "0.5"],
            [("-0.01", "0.00", "-0.01"), ("0.00", "0.00", "0.00")],
            id="half-cent-rounds-up-once-only",
        ),
        pytest.param(
            earnings("0.03", "0.02"),
            ["0.5", "0.5"],
            [("-0.02", "-0.01", "-0.01"), ("-0.01", "-0.01", "0.00")],
            id="commission-follows-reversed-gross",
        ),
        pytest.param(
            earnings("10.00", "3.33"),
            [str(D(1) / 3)] * 3,
            [("-3.33", "-1.11", "-2.22"), ("-3.34", "-1.11", "-2.23"), ("-3.33", "-1.11", "-2.22")],
            id="thirds",
        ),
        pytest.param(
            earnings("1000", "150", "JPY"),
            ["0.2505"],
            [("-251", "-38", "-213")],
            id="jpy-partial",
        ),
        pytest.param(earnings("0.00", "0.00"), ["1"], [("0.00", "0.00", "0.00")], id="free-line"),
    ],
)
def test_refund_reversal(original, fractions, reversals):
    done = D(0)
    got = []
    for fraction in fractions:
        got.append(
            as_strings(refund_reversal(original, D(fraction), already_refunded_fraction=done))
        )
        done += D(fraction)
    assert got == reversals


def test_full_refund_is_the_default():
    original = publisher_earnings(D("19.99"), D("17.5"))
    reversal = refund_reversal(original)
    assert (reversal.gross, reversal.commission, reversal.net) == (
        -original.gross,
        -original.commission,
        -original.net,
    )


@pytest.mark.parametrize(
    ("original", "fraction", "before", "code"),
    [
        pytest.param(earnings("10.00", "1.50"), "0", "0", "invalid_amount", id="nothing-refunded"),
        pytest.param(earnings("10.00", "1.50"), "-0.5", "0", "invalid_amount", id="negative"),
        pytest.param(earnings("10.00", "1.50"), "1.01", "0", "invalid_amount", id="above-one"),
        pytest.param(
            earnings("10.00", "1.50"), "0.6", "0.5", "refund_exceeds_original", id="over-total"
        ),
        pytest.param(
            earnings("10.00", "1.50"), "0.5", "1", "refund_exceeds_original", id="already-full"
        ),
        pytest.param(
            Earnings(D("10.00"), D("1.50"), D("8.49")),
            "1",
            "0",
            "invalid_amount",
            id="inconsistent",
        ),
        pytest.param(
            earnings("10.00", "10.50"), "1", "0", "invalid_amount", id="commission-above-gross"
        ),
        pytest.param(earnings("10.005", "1.50"), "1", "0", "invalid_amount", id="three-decimals"),
        pytest.param(
            earnings("10.00", "1.00"),
            "0." + "1" * 41,
            "0",
            "invalid_amount",
            id="fraction-too-precise",
        ),
    ],
)
def test_refund_reversal_refused(original, fraction, before, code):
    call = lambda: refund_reversal(original, D(fraction), already_refunded_fraction=D(before))  # noqa: E731
    assert code_of(call) == code


def test_generated_reversals_never_exceed_the_original():
    rng = random.Random(1234)
    for _ in range(2000):
        currency = rng.choice([None, "EUR", "JPY"])
        places = 0 if currency == "JPY" else 2
        gross = D(rng.choice([1, 3, rng.randint(0, 50), rng.randint(0, 10**7)])).scaleb(-places)
        rate = D(rng.randint(0, 10_000)).scaleb(-2)
        original = publisher_earnings(gross, rate, currency=currency)
        cuts = sorted(rng.randint(0, 10_000) for _ in range(rng.randint(0, 5)))
        points = [D(0), *(D(c).scaleb(-4) for c in cuts), D(1)]
        if rng.random() < 0.3:
            points.pop()  # stop before the whole sale is refunded
        total = Earnings(D(0), D(0), D(0))
        for before, after in itertools.pairwise(points):
            if after == before:
                continue
            reversal = refund_reversal(original, after - before, already_refunded_fraction=before)
            assert reversal.gross <= 0 and reversal.commission <= 0 and reversal.net <= 0
            assert reversal.commission + reversal.net == reversal.gross
            total = Earnings(
                total.gross + reversal.gross,
                total.commission + reversal.commission,
                total.net + reversal.net,
            )
            assert -total.gross <= original.gross
            assert -total.commission <= original.commission
            assert -total.net <= original.net
        if points[-1] == 1:
            assert (-total.gross, -total.commission, -total.net) == (
                original.gross,
                original.commission,
                original.net,
            )


# --- minor units at the gateway's edge -----------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        pytest.param("12.34", "USD", 1234, id="usd"),
        pytest.param("0.01", "EUR", 1, id="one-cent"),
        pytest.param("0", "GBP", 0, id="zero"),
        pytest.param("12.3", "CHF", 1230, id="one-decimal"),
        pytest.param("1234", "JPY", 1234, id="jpy-no-decimals"),
        pytest.param("100000.00", "USD", 10_000_000, id="max-price"),
    ],
)
def test_minor_units(amount, currency, minor):
    assert to_minor_units(D(amount), currency) == minor
    back = from_minor_units(minor, currency)
    assert back == D(amount)
    assert back.as_tuple().exponent == -PLACES.get(currency, 2)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        pytest.param(lambda: to_minor_units(D("12.345"), "USD"), "invalid_amount", id="sub-cent"),
        pytest.param(
            lambda: to_minor_units(D("12.5"), "JPY"), "invalid_amount", id="fractional-yen"
        ),
        pytest.param(lambda: to_minor_units(D("-1"), "USD"), "invalid_amount", id="negative"),
        pytest.param(lambda: to_minor_units(12.34, "USD"), "invalid_amount", id="float"),
        pytest.param(
            lambda: to_minor_units(D("1"), "XXX"), "unsupported_currency", id="to-unknown"
        ),
        pytest.param(lambda: from_minor_units(-1, "USD"), "invalid_amount", id="from-negative"),
        pytest.param(lambda: from_minor_units(12.0, "USD"), "invalid_amount", id="from-float"),
        pytest.param(lambda: from_minor_units(True, "USD"), "invalid_amount", id="from-bool"),
        pytest.param(lambda: from_minor_units(1, "XXX"), "unsupported_currency", id="from-unknown"),
    ],
)
def test_minor_units_refused(call, code):
    assert code_of(call) == code


def test_generated_minor_units_round_trip():
    rng = random.Random(99)
    for _ in range(2000):
        currency = rng.choice(["USD", "EUR", "JPY", "AUD"])
        minor = rng.choice([0, 1, rng.randint(0, 10**12)])
        assert to_minor_units(from_minor_units(minor, currency), currency) == minor
