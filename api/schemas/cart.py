"""Request and response bodies of the buyer's cart."""

from decimal import Decimal

from pydantic import BaseModel

from api.schemas import RowId, Strict


class CartAddIn(Strict):
    module_id: RowId


class CartItemOut(BaseModel):
    id: int
    module_id: int
    module_slug: str
    module_name: str
    license_type: str
    unit_price: Decimal
    currency: str


class CartTotalsOut(BaseModel):
    currency: str
    coupon_code: str | None = None
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


class CartOut(BaseModel):
    items: list[CartItemOut]
    totals: CartTotalsOut | None
