"""Request and response bodies of the admins' coupons."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from api.schemas import Flag, InCurrency, Instant, Int, Money, RowId, SingleLine, Strict
from domain.pricing import CouponKind

AmountIn = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2)]


class CouponFields(Strict):
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    max_redemptions: Int | None = Field(default=None, ge=1, le=10_000_000)
    module_ids: list[RowId] | None = Field(
        default=None, min_length=1, max_length=500, description="null: every paid module"
    )
    min_subtotal: AmountIn | None = None


class CouponIn(CouponFields):
    code: SingleLine = Field(pattern=r"^[A-Za-z0-9_-]{3,50}$")
    kind: CouponKind
    value: AmountIn
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class CouponPatch(CouponFields):
    active: Flag | None = None


class CouponOut(InCurrency):
    id: int
    code: str
    kind: str
    value: Money
    currency: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    max_redemptions: int | None
    redemptions: int
    module_ids: list[int] | None
    min_subtotal: Money | None
    active: bool
    created_at: datetime

    model_config = {"from_attributes": True}
