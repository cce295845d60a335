"""The buyer's cart: one line per module, priced with the checkout rules."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from api.deps import AccountPrincipal, SessionDep
from api.params import IdPath
from api.schemas import RowId, Strict
from domain.errors import Conflict, DomainError, NotFound
from domain.licensing import LicenseStatus
from domain.modules import LicenseType, ModuleStatus, Visibility
from domain.pricing import CartLine, Coupon, CouponKind, price_order
from models.commerce import Coupon as CouponRow
from models.repositories import cart, coupons, modules, platform_settings, publishers
from models.repositories.listed import SUSPENDED

router = APIRouter(prefix="/api/v1/marketplace/cart", tags=["cart"])


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


def domain_coupon(row: CouponRow) -> Coupon:
    return Coupon(
        code=row.code,
        kind=CouponKind(row.kind),
        value=row.value,
        currency=row.currency,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        max_redemptions=row.max_redemptions,
        redemptions_so_far=row.redemptions,
        module_ids=frozenset(row.module_ids) if row.module_ids is not None else None,
        min_subtotal=row.min_subtotal,
    )


async def find_coupon(session, code: str, *, lock: bool = False) -> tuple[CouponRow, Coupon]:
    """An active coupon by its code (any case), or ``coupon_not_found``."""
    row = await coupons.by_code(session, code, lock=lock)
    if row is None or not row.active:
        raise NotFound("coupon_not_found", "no such coupon")
    return row, domain_coupon(row)


def cart_lines(rows) -> list[CartLine]:
    return [
        CartLine(
            module_id=module.id,
            publisher_id=publisher.id,
            unit_price=module.price or Decimal("0.00"),
            currency=module.currency,
            license_type=LicenseType(module.license_type),
        )
        for _, module, publisher in rows
    ]


async def _cart(session, user_id: int, coupon_code: str | None = None) -> CartOut:
    rows = await cart.lines(session, user_id)
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
        for item, module, _ in rows
    ]
    if not items:
        return CartOut(items=[], totals=None)
    coupon = (await find_coupon(session, coupon_code))[1] if coupon_code else None
    rate = await platform_settings.tax_rate(session)
    totals = price_order(cart_lines(rows), coupon, rate, datetime.now(UTC))
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


async def _publisher_suspended(session, publisher_id: int) -> bool:
    """A suspended publisher's modules are off the market, as absent as in discovery."""
    publisher = await publishers.get_publisher(session, publisher_id)
    return publisher is None or publisher.status == SUSPENDED


async def ensure_purchasable(session, user, module) -> None:
    """Refuse a module that cannot be bought now by this buyer, with the reason's code."""
    if (
        module is None
        or module.status != ModuleStatus.PUBLISHED
        or module.visibility == Visibility.PRIVATE
        or await _publisher_suspended(session, module.publisher_id)
    ):
        raise NotFound("module_not_found", "no such module for sale")
    owner = await modules.module_with_owner_email(session, module.id)
    if owner and owner[1] == user.email:
        raise DomainError("own_module", "you cannot buy your own module")
    if module.license_type == LicenseType.FREE:
        raise DomainError("module_is_free", "free modules need no checkout: download them")
    now = datetime.now(UTC)
    for held in await cart.user_licenses(session, user.id, module.id):
        live = held.status == LicenseStatus.ACTIVE and (
            held.expires_at is None or held.expires_at > now
        )
        if live:
            raise Conflict("already_licensed", "you already hold a license for this module")


@router.get("", response_model=CartOut)
async def get_cart(
    principal: AccountPrincipal,
    session: SessionDep,
    coupon: Annotated[
        str | None, Query(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None,
):
    """The cart priced as checkout would price it; ``coupon`` previews a coupon code."""
    return await _cart(session, principal.user.id, coupon)


@router.post("/add", response_model=CartOut)
async def add_to_cart(body: CartAddIn, principal: AccountPrincipal, session: SessionDep):
    """Add a module; adding it again changes nothing."""
    found = await modules.module_for_index(session, body.module_id)
    module = found[0] if found else None
    await ensure_purchasable(session, principal.user, module)
    assert module is not None
    current = await cart.lines(session, principal.user.id)
    if any(m.currency != module.currency for _, m, _ in current):
        raise Conflict("mixed_currencies", "a cart holds modules priced in one currency")
    await cart.add(session, principal.user.id, module.id)
    await session.flush()
    return await _cart(session, principal.user.id)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_from_cart(item_id: IdPath, principal: AccountPrincipal, session: SessionDep):
    if not await cart.remove(session, principal.user.id, item_id):
        raise NotFound("cart_item_not_found", "no such line in your cart")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
