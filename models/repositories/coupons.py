"""Queries on coupons and their redemption counter."""

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.commerce import Coupon
from models.repositories.errors import unique_violations


async def by_code(session: AsyncSession, code: str, *, lock: bool = False) -> Coupon | None:
    query = select(Coupon).where(Coupon.code == code.upper())
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get(session: AsyncSession, coupon_id: int) -> Coupon | None:
    return await session.get(Coupon, coupon_id)


async def listing(
    session: AsyncSession, *, active: bool | None, limit: int, offset: int
) -> tuple[list[Coupon], int]:
    where = [] if active is None else [Coupon.active.is_(active)]
    total = await session.scalar(select(func.count()).select_from(Coupon).where(*where))
    rows = await session.execute(
        select(Coupon).where(*where).order_by(Coupon.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.scalars()), total or 0


async def add(session: AsyncSession, coupon: Coupon) -> Coupon:
    async with unique_violations(
        session, {"uq_marketplace_coupons_code": ("coupon_code_taken", "this code exists")}
    ):
        session.add(coupon)
    return coupon


async def redeem(session: AsyncSession, coupon_id: int) -> bool:
    """Count one use, unless that would pass the limit; safe under concurrent checkouts."""
    rows = await session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            (Coupon.max_redemptions.is_(None)) | (Coupon.redemptions < Coupon.max_redemptions),
        )
        .values(redemptions=Coupon.redemptions + 1)
        .returning(Coupon.id)
    )
    return rows.scalar_one_or_none() is not None


async def release(session: AsyncSession, coupon_id: int) -> None:
    """Give back the use of an order that was never paid."""
    await session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.redemptions > 0)
        .values(redemptions=Coupon.redemptions - 1)
    )
