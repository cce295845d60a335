"""Request and response bodies of the buyer's cart."""

from pydantic import BaseModel

from api.schemas import InCurrency, Money, RowId, Strict


class CartAddIn(Strict):
    module_id: RowId


class CartItemOut(InCurrency):
    id: int
    module_id: int
    module_slug: str
    module_name: str
    license_type: str
    unit_price: Money
    currency: str


class CartTotalsOut(InCurrency):
    currency: str
    coupon_code: str | None = None
    subtotal: Money
    discount: Money
    tax: Money
    total: Money


class CartOut(BaseModel):
    items: list[CartItemOut]
    totals: CartTotalsOut | None
