"""Queries on carts and the platform settings checkout reads."""

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.commerce import CartItem, License
from models.module import MarketplaceModule
from models.publisher import Publisher


async def lines(
    session: AsyncSession, user_id: int, *, lock: bool = False
) -> list[tuple[CartItem, MarketplaceModule, Publisher]]:
    """The cart's lines; ``lock`` holds them so two checkouts of one cart take turns."""
    query = (
        select(CartItem, MarketplaceModule, Publisher)
        .join(MarketplaceModule, MarketplaceModule.id == CartItem.module_id)
        .join(Publisher, Publisher.id == MarketplaceModule.publisher_id)
        .where(CartItem.user_id == user_id)
        .order_by(CartItem.created_at, CartItem.id)
    )
    if lock:
        query = query.with_for_update(of=CartItem)
    rows = await session.execute(query)
    return [(r[0], r[1], r[2]) for r in rows.all()]


async def add(session: AsyncSession, user_id: int, module_id: int) -> None:
    """Idempotent, even for two requests racing: one line per module."""
    await session.execute(
        insert(CartItem)
        .values(user_id=user_id, module_id=module_id)
        .on_conflict_do_nothing(index_elements=["user_id", "module_id"])
    )


async def remove(session: AsyncSession, user_id: int, item_id: int) -> bool:
    result = await session.execute(
        delete(CartItem)
        .where(CartItem.id == item_id, CartItem.user_id == user_id)
        .returning(CartItem.id)
    )
    return result.scalar_one_or_none() is not None


async def user_licenses(session: AsyncSession, user_id: int, module_id: int) -> list[License]:
    rows = await session.execute(
        select(License).where(License.user_id == user_id, License.module_id == module_id)
    )
    return list(rows.scalars())


async def remove_modules(session: AsyncSession, user_id: int, module_ids: list[int]) -> int:
    """Drop the lines of these modules (those an order paid for); others stay."""
    if not module_ids:
        return 0
    result = await session.execute(
        delete(CartItem)
        .where(CartItem.user_id == user_id, CartItem.module_id.in_(module_ids))
        .returning(CartItem.id)
    )
    return len(result.all())
