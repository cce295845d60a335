"""Payout responses shared by the publisher's and the admins' payout routers."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from models.analytics import PublisherPayout

PERIOD_QUERY_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class PayoutOut(BaseModel):
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
    gross_amount: Decimal
    platform_fee: Decimal
    net_amount: Decimal
    carried_in: Decimal
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
    gross: Decimal
    commission: Decimal
    net: Decimal
    occurred_at: datetime


class CoveredOrder(BaseModel):
    order_id: int
    order_number: str
    gross: Decimal
    commission: Decimal
    net: Decimal
    lines: list[CoveredLine]


class PayoutDetailOut(PayoutOut):
    orders: list[CoveredOrder]
    """The orders whose ledger entries this payout paid out (none when carried over or
    held: those entries stay unpaid for a later month)."""
