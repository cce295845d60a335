"""Coupons, managed by admins: percent or fixed, a validity window, a redemption limit,
for every paid module or for some."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import AdminPrincipal, SessionDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.coupons import CouponIn, CouponOut, CouponPatch
from models.commerce import Coupon as CouponRow
from services import coupons

router = APIRouter(prefix="/api/v1/admin/marketplace/coupons", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CouponOut)
async def create_coupon(
    body: CouponIn, principal: AdminPrincipal, session: SessionDep
) -> CouponRow:
    return await coupons.create(
        session,
        body.code,
        body.model_dump(exclude={"code"}),
        admin_id=principal.user.id,
        changes=body.model_dump(mode="json"),
    )


@router.get("", response_model=Page[CouponOut])
async def list_coupons(
    _: AdminPrincipal,
    session: SessionDep,
    active: Annotated[bool | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CouponOut]:
    rows, total = await coupons.listing(session, active=active, limit=limit, offset=offset)
    return Page[CouponOut](
        items=[CouponOut.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{coupon_id}", response_model=CouponOut)
async def get_coupon(coupon_id: IdPath, _: AdminPrincipal, session: SessionDep) -> CouponRow:
    return await coupons.get(session, coupon_id)


@router.put("/{coupon_id}", response_model=CouponOut)
async def update_coupon(
    coupon_id: IdPath, body: CouponPatch, principal: AdminPrincipal, session: SessionDep
) -> CouponRow:
    """Change the window, limit, modules, minimum or whether it is active; the code, kind
    and value stay, because orders already name them."""
    return await coupons.update(
        session,
        coupon_id,
        body.model_dump(exclude_unset=True),
        admin_id=principal.user.id,
        changes=body.model_dump(mode="json", exclude_unset=True),
    )


@router.delete("/{coupon_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_coupon(
    coupon_id: IdPath, principal: AdminPrincipal, session: SessionDep
) -> Response:
    """Deactivate: it stops applying, and stays on the orders that used it."""
    await coupons.deactivate(session, coupon_id, admin_id=principal.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
