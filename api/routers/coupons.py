"""Coupons, managed by admins: percent or fixed, a validity window, a redemption limit,
for every paid module or for some."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath, Limit, Offset
from api.routers.cart import domain_coupon
from api.schemas import Flag, Instant, Int, Page, RowId, Strict
from domain.errors import DomainError, NotFound
from domain.pricing import CouponKind, check_coupon_definition
from models.commerce import Coupon
from models.repositories import audit, coupons

router = APIRouter(prefix="/api/v1/admin/marketplace/coupons", tags=["admin"])
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2)]


class CouponFields(Strict):
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    max_redemptions: Int | None = Field(default=None, ge=1, le=10_000_000)
    module_ids: list[RowId] | None = Field(
        default=None, min_length=1, max_length=500, description="null: every paid module"
    )
    min_subtotal: Money | None = None


class CouponIn(CouponFields):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{3,50}$")
    kind: CouponKind
    value: Money
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class CouponPatch(CouponFields):
    active: Flag | None = None


class CouponOut(BaseModel):
    id: int
    code: str
    kind: str
    value: Decimal
    currency: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    max_redemptions: int | None
    redemptions: int
    module_ids: list[int] | None
    min_subtotal: Decimal | None
    active: bool
    created_at: datetime

    model_config = {"from_attributes": True}


async def _coupon(session, coupon_id: int) -> Coupon:
    row = await coupons.get(session, coupon_id)
    if row is None:
        raise NotFound("coupon_not_found", "no such coupon")
    return row


async def _audit(session, principal, action: str, row: Coupon, changes: dict) -> None:
    await audit.record(
        session,
        actor_id=principal.user.id,
        action=f"coupon.{action}",
        entity_type="coupon",
        entity_id=row.id,
        changes=changes,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CouponOut)
async def create_coupon(body: CouponIn, principal: AdminPrincipal, session: SessionDep):
    row = Coupon(
        **body.model_dump(exclude={"code"}),
        code=body.code.upper(),
        created_by=principal.user.id,
        updated_by=principal.user.id,
    )
    check_coupon_definition(domain_coupon(row))
    await coupons.add(session, row)
    await _audit(session, principal, "create", row, body.model_dump(mode="json"))
    return row


@router.get("", response_model=Page[CouponOut])
async def list_coupons(
    _: AdminPrincipal,
    session: SessionDep,
    active: Annotated[bool | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await coupons.listing(session, active=active, limit=limit, offset=offset)
    return Page(items=rows, total=total, limit=limit, offset=offset)


@router.get("/{coupon_id}", response_model=CouponOut)
async def get_coupon(coupon_id: IdPath, _: AdminPrincipal, session: SessionDep):
    return await _coupon(session, coupon_id)


@router.put("/{coupon_id}", response_model=CouponOut)
async def update_coupon(
    coupon_id: IdPath, body: CouponPatch, principal: AdminPrincipal, session: SessionDep
):
    """Change the window, limit, modules, minimum or whether it is active; the code, kind
    and value stay, because orders already name them."""
    row = await _coupon(session, coupon_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("active", False) is None:
        raise DomainError("field_required", "active cannot be empty")
    for field, value in changes.items():
        setattr(row, field, value)
    row.updated_by = principal.user.id
    check_coupon_definition(domain_coupon(row))
    await _audit(
        session, principal, "update", row, body.model_dump(mode="json", exclude_unset=True)
    )
    await session.flush()
    await session.refresh(row)
    return row


@router.delete("/{coupon_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_coupon(coupon_id: IdPath, principal: AdminPrincipal, session: SessionDep):
    """Deactivate: it stops applying, and stays on the orders that used it."""
    row = await _coupon(session, coupon_id)
    row.active = False
    row.updated_by = principal.user.id
    await _audit(session, principal, "deactivate", row, {"active": False})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
