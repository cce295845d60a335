"""The buyer's orders: history, details, the PDF invoice, cancelling a pending payment,
and refunds."""

from typing import Any

from fastapi import APIRouter, Response, status

from api.deps import AccountPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.errors import ErrorBody
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.orders import OrderOut, RefundIn, order_out
from domain.access import Scope
from services import checkout, orders

router = APIRouter(prefix="/api/v1/marketplace/orders", tags=["orders"])
NOT_CANCELLABLE: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "`order_paid`: the order is paid (also when its payment went through "
        "while the cancel was on its way); `order_not_pending`: it failed or expired, nothing "
        "was charged; `payment_processing`: the gateway is settling it, follow the order; "
        "`payment_not_ready`: the payment is still being created, cancel again in a moment; "
        "`order_not_cancellable`: a renewal (cancel the subscription); "
        "`checkout_not_running`: its checkout ended without closing it (it blocks nothing "
        "after `expires_at`)",
    }
}


@router.get("", response_model=Page[OrderOut])
async def my_orders(
    principal: AccountPrincipal, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> Page[OrderOut]:
    views, total = await orders.of_user(session, principal.user.id, limit=limit, offset=offset)
    return Page(
        items=[order_out(view) for view in views],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{order_id}", response_model=OrderOut)
async def order_details(
    order_id: IdPath, principal: AccountPrincipal, session: SessionDep
) -> OrderOut:
    return order_out(
        await orders.details(
            session,
            order_id,
            user_id=principal.user.id,
            is_admin=Scope.ADMIN in principal.scopes,
        )
    )


@router.get(
    "/{order_id}/invoice",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def order_invoice(
    order_id: IdPath, principal: AccountPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    """The invoice of a paid order, as a PDF."""
    invoice = await orders.invoice(
        session,
        order_id,
        user_id=principal.user.id,
        is_admin=Scope.ADMIN in principal.scopes,
        settings=settings,
    )
    pdf = await orders.invoice_pdf(invoice)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'},
    )


@router.post("/{order_id}/cancel", response_model=OrderOut, responses=NOT_CANCELLABLE)
async def cancel_order(
    order_id: IdPath, principal: AccountPrincipal, session: SessionDep, temporal: WorkflowsDep
) -> OrderOut:
    """Give up the order's pending payment (the buyer left the 3-D Secure step, Stripe's
    ``next_action`` or PayPal's approval): it is cancelled at the gateway and the order
    answered ``cancelled`` (``next_step`` ``check_out_again``), its coupon use given back
    and the cart as it was, so a new checkout works at once. The buyer's alone; cancelling
    again answers the cancelled order and changes nothing."""
    return order_out(
        await checkout.cancel_order(session, principal.user.id, order_id, workflows=temporal)
    )


@router.post("/{order_id}/refund", status_code=status.HTTP_202_ACCEPTED, response_model=OrderOut)
async def refund_order(
    order_id: IdPath,
    body: RefundIn,
    principal: AccountPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: WorkflowsDep,
) -> OrderOut:
    """Refund the whole order through its gateway; its licenses are revoked and the
    publishers' earnings reversed. Buyers may ask within the refund window, admins any
    time. Poll the order: it ends ``refunded``."""
    return order_out(
        await orders.request_refund(
            session,
            order_id,
            user_id=principal.user.id,
            is_admin=Scope.ADMIN in principal.scopes,
            reason=body.reason,
            settings=settings,
            workflows=temporal,
        )
    )
