"""Coupons: admins define them (percent or fixed, a validity window, a redemption limit,
for every paid module or for some); carts and checkouts find them by code."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, NotFound
from domain.pricing import Coupon, CouponKind, check_coupon_definition
from integrations.rate_limit import RateLimiter
from models.commerce import Coupon as CouponRow
from models.repositories import audit, coupons
from settings import Settings


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


def throttle_lookup(
    code: str | None, limiter: RateLimiter, settings: Settings, *, client: str, account_id: int
) -> None:
    """Count a lookup of ``code`` (none asked, none counted) by this caller and this
    account; RateLimited past either ``coupon_rate_*``. Every lookup counts, found or not:
    codes are secrets to guess."""
    if code is None:
        return
    limiter.check(settings.coupon_rate_per_client, "coupon-client", client)
    limiter.check(settings.coupon_rate_per_account, "coupon-account", str(account_id))


async def find_coupon(
    session: AsyncSession, code: str, *, lock: bool = False
) -> tuple[CouponRow, Coupon]:
    """An active coupon by its code (any case), or ``coupon_not_found``."""
    row = await coupons.by_code(session, code, lock=lock)
    if row is None or not row.active:
        raise NotFound("coupon_not_found", "no such coupon")
    return row, domain_coupon(row)


async def get(session: AsyncSession, coupon_id: int) -> CouponRow:
    row = await coupons.get(session, coupon_id)
    if row is None:
        raise NotFound("coupon_not_found", "no such coupon")
    return row


async def listing(
    session: AsyncSession, *, active: bool | None, limit: int, offset: int
) -> tuple[list[CouponRow], int]:
    return await coupons.listing(session, active=active, limit=limit, offset=offset)


async def _audit(
    session: AsyncSession, admin_id: int, action: str, row: CouponRow, changes: dict[str, Any]
) -> None:
    await audit.record(
        session,
        actor_id=admin_id,
        action=f"coupon.{action}",
        entity_type="coupon",
        entity_id=row.id,
        changes=changes,
    )


async def create(
    session: AsyncSession,
    code: str,
    values: dict[str, Any],
    *,
    admin_id: int,
    changes: dict[str, Any],
) -> CouponRow:
    """A new coupon; its code is kept upper case. ``values``: the other columns;
    ``changes``: the request as the audit log records it."""
    row = CouponRow(
        **values,
        code=code.upper(),
        created_by=admin_id,
        updated_by=admin_id,
    )
    check_coupon_definition(domain_coupon(row))
    await coupons.add(session, row)
    await _audit(session, admin_id, "create", row, changes)
    await session.commit()
    return row


async def update(
    session: AsyncSession,
    coupon_id: int,
    values: dict[str, Any],
    *,
    admin_id: int,
    changes: dict[str, Any],
) -> CouponRow:
    """Change the window, limit, modules, minimum or whether it is active; the code, kind
    and value stay, because orders already name them. ``values``: only the fields sent."""
    row = await get(session, coupon_id)
    if values.get("active", False) is None:
        raise DomainError("field_required", "active cannot be empty")
    for field, value in values.items():
        setattr(row, field, value)
    row.updated_by = admin_id
    check_coupon_definition(domain_coupon(row))
    await _audit(session, admin_id, "update", row, changes)
    await session.commit()
    await session.refresh(row)
    return row


async def deactivate(session: AsyncSession, coupon_id: int, *, admin_id: int) -> None:
    """It stops applying, and stays on the orders that used it."""
    row = await get(session, coupon_id)
    row.active = False
    row.updated_by = admin_id
    await _audit(session, admin_id, "deactivate", row, {"active": False})
    await session.commit()
