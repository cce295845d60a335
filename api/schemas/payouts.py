"""Payout requests and responses of the publisher's and the admins' payout routers."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from api.schemas import InCurrency, Money, SingleLine, Strict
from domain.access import PASSWORD_MAX
from domain.payouts import STRIPE_ACCOUNT_PATTERN, PayoutMethod
from models.analytics import PublisherPayout
from models.publisher import Publisher

PERIOD_QUERY_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
PeriodText = Annotated[str, Field(pattern=PERIOD_QUERY_PATTERN, examples=["2026-10"])]


class PayoutOut(InCurrency):
    id: int
    publisher_id: int
    period: str
    """YYYY-MM"""
    period_start: date
    period_end: date
    """The month's last day, inclusive."""
    status: str
    """pending | processing | completed | failed | carried_over | held"""
    currency: str
    gross_amount: Money
    platform_fee: Money
    net_amount: Money
    carried_in: Money
    """Part of the net earned in earlier months and carried over into this payout."""
    payout_method: str | None
    reference: str | None
    """The provider's transfer or payout batch id, or the admin's reference."""
    paid_at: datetime | None
    failure_reason: str | None
    """Why it failed, or why nothing was paid (below_minimum, nothing_owed,
    publisher_suspended)."""
    order_count: int
    created_at: datetime

    @classmethod
    def of(cls, row: PublisherPayout) -> "PayoutOut":
        return cls(
            id=row.id,
            publisher_id=row.publisher_id,
            period=f"{row.period_start:%Y-%m}",
            period_start=row.period_start,
            period_end=row.period_end,
            status=row.status,
            currency=row.currency,
            gross_amount=row.gross_amount,
            platform_fee=row.platform_fee,
            net_amount=row.net_amount,
            carried_in=row.carried_in,
            payout_method=row.payout_method,
            reference=row.payout_id,
            paid_at=row.paid_at,
            failure_reason=row.failure_reason,
            order_count=len(row.order_ids or []),
            created_at=row.created_at,
        )


class CoveredLine(BaseModel):
    module_id: int
    module: str
    kind: str
    """sale | refund"""
    gross: Money
    commission: Money
    net: Money
    occurred_at: datetime


class CoveredOrder(BaseModel):
    order_id: int
    order_number: str
    gross: Money
    commission: Money
    net: Money
    lines: list[CoveredLine]


class PayoutDetailOut(PayoutOut):
    orders: list[CoveredOrder]
    """The orders whose ledger entries this payout paid out (none when carried over or
    held: those entries stay unpaid for a later month)."""


# --- the publisher's payout settings ------------------------------------------------------


class PayoutSettingsIn(Strict):
    """Fields left out keep their stored value; ``null`` clears one. ``current_password``
    is the account's password, re-entered: a session alone cannot redirect payouts."""

    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    payout_method: PayoutMethod
    paypal_email: EmailStr | None = Field(default=None, max_length=200)
    stripe_account_id: str | None = Field(
        default=None, max_length=100, pattern=STRIPE_ACCOUNT_PATTERN
    )


class PayoutSettingsOut(BaseModel):
    payout_method: str
    paypal_email: str | None
    stripe_account_id: str | None

    @classmethod
    def of(cls, publisher: Publisher) -> "PayoutSettingsOut":
        return cls(
            payout_method=publisher.payout_method,
            paypal_email=publisher.paypal_email,
            stripe_account_id=publisher.stripe_account_id,
        )


# --- admins' payout runs ------------------------------------------------------------------


class RunIn(Strict):
    period: PeriodText


class RunOut(BaseModel):
    period: str
    workflow_id: str
    started: bool
    """False: the month has already been run (or is running); nothing new was started."""


class MarkPaidIn(Strict):
    reference: SingleLine = Field(min_length=1, max_length=100, description="how it was paid")


class RetryOut(BaseModel):
    payout: PayoutOut
    workflow_id: str
