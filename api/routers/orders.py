"""The buyer's orders: history, details, the PDF invoice, and refunds."""

from fastapi import APIRouter, Response, status

from api.deps import AccountPrincipal, SessionDep, SettingsDep, WorkflowsDep
from api.params import IdPath, Limit, Offset
from api.schemas import Page
from api.schemas.orders import OrderOut, RefundIn, order_out
from domain.access import Scope
from services import orders

router = APIRouter(prefix="/api/v1/marketplace/orders", tags=["orders"])


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
