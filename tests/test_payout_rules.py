"""Payout rules in ``domain/payouts.py``, table by table, without a database: periods, the
month's totals from ledger lines (commission, refunds, carry-in, rounding), the decision
(pay, carry over, hold; which currency), transfer keys, payout settings and the CSV report.
The totals are also checked on generated ledgers against an oracle in integer cents."""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import DomainError
from domain.payouts import (
    CurrencyTotals,
    LedgerLine,
    PayoutStatus,
    Period,
    ReportLine,
    check_closed,
    check_settings,
    decide,
    earnings_csv,
    period_before,
    safe_cell,
    totals,
    transfer_key,
)
from domain.pricing import Earnings, publisher_earnings, refund_reversal

D = Decimal
OCT = Period(2026, 10)


def at(day: int, month: int = 10, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def sale(gross: str, rate: str = "30", when: datetime | None = None, currency: str = "USD"):
    earned = publisher_earnings(D(gross), D(rate))
    return LedgerLine("sale", earned.gross, earned.commission, earned.net, currency, when or at(5))


def refund(of: LedgerLine, fraction: str = "1", when: datetime | None = None) -> LedgerLine:
    back = refund_reversal(Earnings(of.gross, of.commission, of.net), D(fraction))
    return LedgerLine("refund", back.gross, back.commission, back.net, of.currency, when or at(20))


def code_of(call) -> str:
    with pytest.raises(DomainError) as raised:
        call()
    return raised.value.code


# --- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last", "ends_at"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31), datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), datetime(2028, 3, 1, tzinfo=UTC)),
        ("2027-02", date(2027, 2, 1), date(2027, 2, 28), datetime(2027, 3, 1, tzinfo=UTC)),
    ],
)
def test_a_period_is_a_utc_calendar_month(text, first, last, ends_at):
    period = Period.parse(text)
    assert (period.first_day, period.last_day, period.ends_at) == (first, last, ends_at)
    assert period.starts_at == datetime.combine(first, datetime.min.time(), UTC)
    assert period.label == text


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "1999-12", " 2026-10", "", "x"]
)
def test_a_malformed_period_is_refused(text):
    assert code_of(lambda: Period.parse(text)) == "invalid_period"


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 11, 1, 2, 0, tzinfo=UTC), "2026-10"),
        (datetime(2027, 1, 1, 2, 0, tzinfo=UTC), "2026-12"),
        (datetime(2026, 3, 31, 23, 59, tzinfo=UTC), "2026-02"),
        # the month is UTC's: 22:30 on Oct 31st in New York is 02:30 UTC on Nov 1st, and
        # 01:30 on Nov 1st in Dubai is still October in UTC
        (datetime.fromisoformat("2026-10-31T22:30:00-04:00"), "2026-10"),
        (datetime.fromisoformat("2026-11-01T01:30:00+04:00"), "2026-09"),
    ],
)
def test_a_run_pays_the_month_before_the_utc_month_it_starts_in(instant, expected):
    assert period_before(instant).label == expected


@pytest.mark.parametrize(
    ("now", "closed"),
    [
        (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), True),
        (datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), False),
        (datetime(2026, 10, 5, tzinfo=UTC), False),
        (datetime(2027, 3, 1, tzinfo=UTC), True),
    ],
)
def test_only_a_month_that_has_ended_can_be_paid(now, closed):
    if closed:
        check_closed(OCT, now)
    else:
        assert code_of(lambda: check_closed(OCT, now)) == "period_not_closed"
    assert code_of(lambda: check_closed(Period(2030, 1), now)) == "period_not_closed"


# --- totals ----------------------------------------------------------------------------------


def usd(result) -> CurrencyTotals:
    return result["USD"]


@pytest.mark.parametrize(
    ("lines", "gross", "fee", "net"),
    [
        # one sale at 30 %
        ([sale("100.00")], "100.00", "30.00", "70.00"),
        # commission at each line's own rate
        ([sale("100.00", "30"), sale("50.00", "12.5")], "150.00", "36.25", "113.75"),
        # the fee is the sum of per-line rounded commissions, not the rate of the sum:
        # 3 x 0.05 at 30 % = 3 x 0.02 (0.015 half up), not round(0.045) = 0.05
        ([sale("0.05")] * 3, "0.15", "0.06", "0.09"),
        # 9.99 at 33.33 %: 3.329667 -> 3.33
        ([sale("9.99", "33.33")], "9.99", "3.33", "6.66"),
        # a full refund cancels its sale exactly
        ([sale("49.99"), refund(sale("49.99"))], "0.00", "0.00", "0.00"),
        # a half refund of 49.99: gross 25.00 (24.995 up), commission 7.50
        ([sale("49.99"), refund(sale("49.99"), "0.5")], "24.99", "7.50", "17.49"),
        # refunds exceeding this month's sales (an earlier month's sale refunded)
        ([sale("10.00"), refund(sale("80.00"))], "-70.00", "-21.00", "-49.00"),
        # zero commission
        ([sale("20.00", "0")], "20.00", "0.00", "20.00"),
    ],
)
def test_the_month_sums_gross_commission_and_net_exactly(lines, gross, fee, net):
    result = usd(totals(lines, OCT))
    assert (result.gross, result.commission, result.net) == (D(gross), D(fee), D(net))
    assert result.gross - result.commission == result.net
    assert result.entries == len(lines)


def test_earlier_months_are_carried_in_and_later_entries_left_for_later():
    lines = [
        sale("40.00", when=at(28, month=8)),
        sale("10.00", when=at(3, month=9)),
        sale("100.00", when=at(31, month=10, hour=23)),
        sale("999.00", when=datetime(2026, 11, 1, tzinfo=UTC)),
    ]
    result = usd(totals(lines, OCT))
    assert result.gross == D("150.00")
    assert result.net == D("105.00")
    assert result.carried_in == D("35.00")
    assert result.oldest == at(28, month=8)
    assert result.entries == 3


def test_each_currency_is_summed_apart():
    result = totals([sale("10.00"), sale("20.00", currency="EUR"), sale("5.00")], OCT)
    assert sorted(result) == ["EUR", "USD"]
    assert (result["USD"].gross, result["EUR"].gross) == (D("15.00"), D("20.00"))


@pytest.mark.parametrize(
    "line",
    [
        LedgerLine("sale", D("10.00"), D("3.00"), D("7.01"), "USD", at(1)),
        LedgerLine("sale", D("10.001"), D("3.00"), D("7.001"), "USD", at(1)),
        LedgerLine("sale", D("-10.00"), D("-3.00"), D("-7.00"), "USD", at(1)),
        LedgerLine("refund", D("10.00"), D("3.00"), D("7.00"), "USD", at(1)),
        LedgerLine("bonus", D("10.00"), D("3.00"), D("7.00"), "USD", at(1)),
        LedgerLine("sale", D("NaN"), D("3.00"), D("7.00"), "USD", at(1)),
    ],
)
def test_a_ledger_entry_that_does_not_add_up_is_never_paid(line):
    assert code_of(lambda: totals([line], OCT)) == "invalid_ledger"


def test_generated_ledgers_sum_like_an_integer_cent_oracle():
    rng = random.Random(20261101)
    for _ in range(300):
        lines = []
        for _ in range(rng.randint(1, 40)):
            cents = rng.randint(0, 500_00)
            rate = D(rng.choice(["0", "12.5", "15", "30", "33.33", "50"]))
            when = at(rng.randint(1, 28), month=rng.choice([8, 9, 10, 11]))
            line = sale(f"{cents / 100:.2f}", str(rate), when)
            lines.append(line)
            if rng.random() < 0.2:
                lines.append(refund(line, rng.choice(["1", "0.5", "0.25"]), when + timedelta(1)))
        in_period = [x for x in lines if x.occurred_at < OCT.ends_at]
        if not in_period:
            continue
        result = usd(totals(lines, OCT))

        def cents_of(values):
            return sum(int(v * 100) for v in values)

        assert int(result.gross * 100) == cents_of(x.gross for x in in_period)
        assert int(result.commission * 100) == cents_of(x.commission for x in in_period)
        assert int(result.net * 100) == cents_of(x.net for x in in_period)
        assert int(result.carried_in * 100) == cents_of(
            x.net for x in in_period if x.occurred_at < OCT.starts_at
        )


# --- the decision ----------------------------------------------------------------------------


def sums(net: str, currency: str = "USD", oldest: datetime | None = None, fee: str = "0.00"):
    return CurrencyTotals(currency, D(net) + D(fee), D(fee), D(net), 1, oldest or at(1), D("0.00"))


@pytest.mark.parametrize(
    ("net", "minimum", "status", "reason"),
    [
        ("50.00", "50.00", PayoutStatus.PENDING, None),
        ("49.99", "50.00", PayoutStatus.CARRIED_OVER, "below_minimum"),
        ("0.01", "0.00", PayoutStatus.PENDING, None),
        ("0.00", "0.00", PayoutStatus.CARRIED_OVER, "nothing_owed"),
        ("-12.00", "0.00", PayoutStatus.CARRIED_OVER, "nothing_owed"),
        ("-12.00", "50.00", PayoutStatus.CARRIED_OVER, "nothing_owed"),
        ("1000.00", "50.00", PayoutStatus.PENDING, None),
    ],
)
def test_below_the_minimum_or_nothing_owed_carries_over(net, minimum, status, reason):
    decision = decide([sums(net, fee="3.00")], minimum=D(minimum), publisher_status="active")
    assert (decision.status, decision.reason) == (status, reason)
    assert decision.net == D(net)
    assert decision.gross - decision.platform_fee == decision.net


@pytest.mark.parametrize("net", ["500.00", "10.00", "-5.00"])
def test_a_suspended_publishers_payout_is_held_whatever_it_holds(net):
    decision = decide([sums(net)], minimum=D("50"), publisher_status="suspended")
    assert (decision.status, decision.reason) == (PayoutStatus.HELD, "publisher_suspended")


def test_nothing_unpaid_means_no_payout():
    assert decide([], minimum=D("50"), publisher_status="active") is None


@pytest.mark.parametrize(
    ("candidates", "currency", "status"),
    [
        # both payable: the oldest unpaid entry goes first
        ([sums("80", "USD", at(9)), sums("90", "EUR", at(2))], "EUR", PayoutStatus.PENDING),
        # an older currency below the minimum does not block a payable one
        ([sums("10", "EUR", at(1, 8)), sums("80", "USD", at(9))], "USD", PayoutStatus.PENDING),
        # none payable: the oldest is recorded as carried over
        ([sums("10", "EUR", at(9)), sums("-5", "USD", at(2))], "USD", PayoutStatus.CARRIED_OVER),
        # same oldest instant: by currency code
        ([sums("80", "USD", at(9)), sums("80", "EUR", at(9))], "EUR", PayoutStatus.PENDING),
    ],
)
def test_one_currency_per_payout_the_oldest_payable_first(candidates, currency, status):
    decision = decide(candidates, minimum=D("50"), publisher_status="active")
    assert (decision.currency, decision.status) == (currency, status)


def test_every_payable_currency_is_paid_within_as_many_months_as_currencies():
    unpaid = {"USD": at(1, 8), "EUR": at(2, 8), "GBP": at(3, 8)}
    paid = []
    for _ in range(3):
        candidates = [sums("100", c, oldest) for c, oldest in unpaid.items()]
        chosen = decide(candidates, minimum=D("50"), publisher_status="active").currency
        paid.append(chosen)
        del unpaid[chosen]
    assert paid == ["USD", "EUR", "GBP"]


def test_inconsistent_totals_are_refused():
    bad = CurrencyTotals("USD", D("10.00"), D("3.00"), D("8.00"), 1, at(1), D("0"))
    assert code_of(lambda: decide([bad], minimum=D(0), publisher_status="active")) == (
        "invalid_ledger"
    )


# --- transfer keys and settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("refused", "key"),
    [(0, "payout:42:2026-10"), (1, "payout:42:2026-10:retry-1"), (3, "payout:42:2026-10:retry-3")],
)
def test_the_transfer_key_is_built_from_business_ids(refused, key):
    assert transfer_key(42, OCT, refused) == key


@pytest.mark.parametrize(
    ("method", "stripe", "paypal", "code"),
    [
        ("stripe", "acct_1Nv0FGQ9RKHgCVdK", None, None),
        ("stripe", None, "a@example.com", "stripe_account_required"),
        ("stripe", "acct_", None, "invalid_stripe_account"),
        ("stripe", "acct_1 OR 1=1", None, "invalid_stripe_account"),
        ("stripe", "cus_123", None, "invalid_stripe_account"),
        ("paypal", None, "a@example.com", None),
        ("paypal", "acct_123", None, "paypal_email_required"),
        ("manual", None, None, None),
        ("manual", "bad", None, "invalid_stripe_account"),
    ],
)
def test_payout_settings_need_a_destination_for_the_method(method, stripe, paypal, code):
    def check():
        check_settings(method, stripe_account_id=stripe, paypal_email=paypal)

    if code is None:
        check()
    else:
        assert code_of(check) == code


# --- the CSV report --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Invoice Pro", "Invoice Pro"),
        ("a=b", "a=b"),
    ],
)
def test_text_cells_that_look_like_formulas_are_defused(text, shown):
    assert safe_cell(text) == shown


def test_the_report_escapes_text_and_keeps_amounts_exact():
    lines = [
        ReportLine(
            at(3),
            "FV-1",
            'Evil, "quoted"\nmodule',
            "sale",
            D("10.00"),
            D("3.00"),
            D("7.00"),
            "USD",
            7,
        ),
        ReportLine(
            at(4),
            "FV-2",
            "=cmd|' /C calc'!A0",
            "refund",
            D("-10.00"),
            D("-3.00"),
            D("-7.00"),
            "USD",
            None,
        ),
    ]
    rows = list(csv.reader(io.StringIO(earnings_csv(lines))))
    assert rows[0] == [
        "date",
        "order_number",
        "module",
        "kind",
        "gross",
        "commission",
        "net",
        "currency",
        "payout_id",
    ]
    assert rows[1] == [
        "2026-10-03",
        "FV-1",
        'Evil, "quoted"\nmodule',
        "sale",
        "10.00",
        "3.00",
        "7.00",
        "USD",
        "7",
    ]
    assert rows[2] == [
        "2026-10-04",
        "FV-2",
        "'=cmd|' /C calc'!A0",
        "refund",
        "-10.00",
        "-3.00",
        "-7.00",
        "USD",
        "",
    ]
