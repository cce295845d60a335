"""The buyer's cart: one line per module, priced with the checkout rules."""

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import (
    AccountPrincipal,
    ClientAddressDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
)
from api.errors import RATE_LIMITED
from api.params import IdPath
from api.schemas.cart import CartAddIn, CartItemOut, CartOut, CartTotalsOut
from services import cart, coupons
from services.cart import PricedCart

router = APIRouter(prefix="/api/v1/marketplace/cart", tags=["cart"])


def _cart_out(priced: PricedCart) -> CartOut:
    items = [
        CartItemOut(
            id=item.id,
            module_id=module.id,
            module_slug=module.slug,
            module_name=module.display_name,
            license_type=module.license_type,
            unit_price=module.price or Decimal("0.00"),
            currency=module.currency,
        )
        for item, module, _ in priced.lines
    ]
    totals = priced.totals
    if not items or totals is None:
        return CartOut(items=[], totals=None)
    return CartOut(
        items=items,
        totals=CartTotalsOut(
            currency=totals.currency,
            subtotal=totals.subtotal,
            discount=totals.discount,
            tax=totals.tax,
            total=totals.total,
            coupon_code=totals.coupon_code,
        ),
    )


@router.get("", response_model=CartOut, responses=RATE_LIMITED)
async def get_cart(
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
    coupon: Annotated[
        str | None, Query(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None,
) -> CartOut:
    """The cart priced as checkout would price it; ``coupon`` previews a coupon code.
    Coupon lookups are limited per client and per account (``coupon_rate_*``)."""
    coupons.throttle_lookup(coupon, limiter, settings, client=client, account_id=principal.user.id)
    return _cart_out(await cart.priced_cart(session, principal.user.id, coupon))


@router.post("/add", response_model=CartOut)
async def add_to_cart(body: CartAddIn, principal: AccountPrincipal, session: SessionDep) -> CartOut:
    """Add a module; adding it again changes nothing."""
    return _cart_out(await cart.add(session, principal.user, body.module_id))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_from_cart(
    item_id: IdPath, principal: AccountPrincipal, session: SessionDep
) -> Response:
    await cart.remove(session, principal.user.id, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
