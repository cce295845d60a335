"""Queries on orders, refunds, payment profiles and the publishers' earnings ledger."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.commerce import EarningEntry, License, Order, OrderRefund, PaymentProfile


async def get(session: AsyncSession, order_id: int, *, lock: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def by_number(session: AsyncSession, order_number: str) -> Order | None:
    rows = await session.execute(select(Order).where(Order.order_number == order_number))
    return rows.scalar_one_or_none()


async def by_checkout_key(session: AsyncSession, user_id: int, key: str) -> Order | None:
    rows = await session.execute(
        select(Order).where(Order.user_id == user_id, Order.checkout_key == key)
    )
    return rows.scalar_one_or_none()


async def pending_with_modules(
    session: AsyncSession, user_id: int, module_ids: list[int], expiring_after: datetime
) -> Order | None:
    """The buyer's newest purchase still waiting for its payment, expiring after
    ``expiring_after``, that holds a line of any of these modules."""
    if not module_ids:
        return None
    rows = await session.execute(
        select(Order)
        .where(
            Order.user_id == user_id,
            Order.kind == "purchase",
            Order.status == "pending",
            Order.expires_at > expiring_after,
            or_(*(Order.items.contains([{"module_id": m}]) for m in module_ids)),
        )
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def by_payment(session: AsyncSession, gateway: str, payment_id: str) -> Order | None:
    rows = await session.execute(
        select(Order).where(Order.payment_method == gateway, Order.payment_intent_id == payment_id)
    )
    return rows.scalars().first()


async def of_user(
    session: AsyncSession, user_id: int, *, limit: int, offset: int
) -> tuple[list[Order], int]:
    where = Order.user_id == user_id
    total = await session.scalar(select(func.count()).select_from(Order).where(where))
    rows = await session.execute(
        select(Order)
        .where(where)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total or 0


async def add(session: AsyncSession, order: Order) -> Order:
    session.add(order)
    await session.flush()
    return order


async def licenses_of(session: AsyncSession, order_id: int) -> list[License]:
    rows = await session.execute(
        select(License).where(License.order_id == order_id).order_by(License.id)
    )
    return list(rows.scalars())


async def insert_license(session: AsyncSession, values: dict[str, Any]) -> None:
    """One license per order line, even when fulfilment runs twice."""
    await session.execute(
        insert(License)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["order_id", "module_id"])
    )


async def revoke_licenses(session: AsyncSession, order_id: int, at: datetime) -> list[int]:
    rows = await session.execute(
        update(License)
        .where(License.order_id == order_id, License.status != "revoked")
        .values(status="revoked", revoked_at=at)
        .returning(License.id)
    )
    return list(rows.scalars())


async def record_earning(session: AsyncSession, entry: dict[str, Any]) -> None:
    """Ledger rows are unique per (order, module, kind): a retried step adds nothing."""
    await session.execute(
        insert(EarningEntry)
        .values(**entry)
        .on_conflict_do_nothing(index_elements=["order_id", "module_id", "kind"])
    )


async def earnings_of(session: AsyncSession, order_id: int) -> list[EarningEntry]:
    rows = await session.execute(
        select(EarningEntry).where(EarningEntry.order_id == order_id).order_by(EarningEntry.id)
    )
    return list(rows.scalars())


async def refund_of(session: AsyncSession, order_id: int) -> OrderRefund | None:
    rows = await session.execute(select(OrderRefund).where(OrderRefund.order_id == order_id))
    return rows.scalar_one_or_none()


async def open_refund(
    session: AsyncSession,
    *,
    order_id: int,
    amount: Decimal,
    currency: str,
    reason: str | None,
    initiated_by: str,
    requested_by: int | None,
) -> OrderRefund:
    """The order's refund row, created by the first request; later ones find it."""
    await session.execute(
        insert(OrderRefund)
        .values(
            order_id=order_id,
            amount=amount,
            currency=currency,
            reason=reason,
            initiated_by=initiated_by,
            requested_by=requested_by,
        )
        .on_conflict_do_nothing(index_elements=["order_id"])
    )
    refund = await refund_of(session, order_id)
    assert refund is not None
    return refund


async def profile(session: AsyncSession, user_id: int, gateway: str) -> PaymentProfile | None:
    rows = await session.execute(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.gateway == gateway
        )
    )
    return rows.scalar_one_or_none()


async def save_profile(
    session: AsyncSession,
    user_id: int,
    gateway: str,
    *,
    customer_id: str | None,
    payment_method: str | None,
) -> None:
    values = {"customer_id": customer_id}
    if payment_method is not None:
        values["payment_method"] = payment_method
    await session.execute(
        insert(PaymentProfile)
        .values(user_id=user_id, gateway=gateway, **values)
        .on_conflict_do_update(
            index_elements=["user_id", "gateway"], set_={**values, "updated_at": func.now()}
        )
    )
