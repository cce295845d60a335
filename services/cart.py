"""The buyer's cart: one line per module, priced with the checkout rules; and what may be
bought at all (the cart, checkout and trials ask the same question)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, DomainError, NotFound
from domain.licensing import LicenseStatus
from domain.modules import LicenseType, ModuleStatus, Visibility
from domain.pricing import CartLine, OrderTotals, price_order
from models.commerce import CartItem
from models.module import MarketplaceModule
from models.publisher import Publisher
from models.repositories import cart, modules, platform_settings, publishers
from models.repositories.listed import SUSPENDED
from models.user import User
from services.coupons import find_coupon

CartRow = tuple[CartItem, MarketplaceModule, Publisher]


@dataclass(frozen=True)
class PricedCart:
    """The cart's lines, and their totals as checkout would charge them (None: empty)."""

    lines: list[CartRow]
    totals: OrderTotals | None


def cart_lines(rows: list[CartRow]) -> list[CartLine]:
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


async def priced_cart(
    session: AsyncSession, user_id: int, coupon_code: str | None = None
) -> PricedCart:
    """The cart priced as checkout would price it; ``coupon_code`` previews a coupon."""
    rows = await cart.lines(session, user_id)
    if not rows:
        return PricedCart(lines=[], totals=None)
    coupon = (await find_coupon(session, coupon_code))[1] if coupon_code else None
    rate = await platform_settings.tax_rate(session)
    return PricedCart(
        lines=rows, totals=price_order(cart_lines(rows), coupon, rate, datetime.now(UTC))
    )


async def _publisher_suspended(session: AsyncSession, publisher_id: int) -> bool:
    """A suspended publisher's modules are off the market, as absent as in discovery."""
    publisher = await publishers.get_publisher(session, publisher_id)
    return publisher is None or publisher.status == SUSPENDED


async def ensure_purchasable(
    session: AsyncSession, user: User, module: MarketplaceModule | None
) -> None:
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


async def add(session: AsyncSession, user: User, module_id: int) -> PricedCart:
    """Add a module; adding it again changes nothing."""
    found = await modules.module_for_index(session, module_id)
    module = found[0] if found else None
    await ensure_purchasable(session, user, module)
    assert module is not None
    current = await cart.lines(session, user.id)
    if any(m.currency != module.currency for _, m, _ in current):
        raise Conflict("mixed_currencies", "a cart holds modules priced in one currency")
    await cart.add(session, user.id, module.id)
    await session.commit()
    return await priced_cart(session, user.id)


async def remove(session: AsyncSession, user_id: int, item_id: int) -> None:
    if not await cart.remove(session, user_id, item_id):
        raise NotFound("cart_item_not_found", "no such line in your cart")
    await session.commit()
