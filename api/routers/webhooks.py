"""Payment gateway webhooks. A delivery is verified by its gateway (Stripe's signature,
PayPal's verification call), applied once per event id, and only ever wakes the order's
checkout to read the payment back from the gateway: the body itself is never trusted."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from api.deps import SessionDep, WorkflowsDep
from domain.checkout import Gateway
from domain.errors import DomainError, Unauthenticated
from integrations.payments import WebhookRejected
from models.repositories import orders, webhooks
from services import checkout as checkout_service

router = APIRouter(prefix="/api/v1/marketplace/webhooks", tags=["webhooks"])
MAX_WEBHOOK_BYTES = 256 * 1024
MAX_EVENT_ID, MAX_EVENT_TYPE = 255, 100


async def _receive(gateway: Gateway, request: Request, session, temporal) -> dict:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise DomainError("malformed_event", "webhook body too large")
    try:
        event = await request.app.state.adapters.gateways.get(gateway.value).parse_webhook(
            request.headers, body
        )
    except WebhookRejected as rejected:
        if rejected.code == "invalid_signature":
            raise Unauthenticated(rejected.code, rejected.detail) from None
        raise DomainError(rejected.code, rejected.detail) from None
    if not 0 < len(event.event_id) <= MAX_EVENT_ID or len(event.event_type) > MAX_EVENT_TYPE:
        raise DomainError("malformed_event", "the event's id or type is not one a gateway sends")
    if await webhooks.seen(session, gateway.value, event.event_id):
        return {"received": True, "duplicate": True}
    order = None
    if event.payment_id is not None:
        order = await orders.by_payment(session, gateway.value, event.payment_id)
    if order is None and event.reference is not None:
        order = await orders.by_number(session, event.reference)
        if order is not None and order.payment_method != gateway.value:
            order = None
    if order is not None:
        await checkout_service.payment_changed(temporal, order.order_number)
    await webhooks.remember(
        session, gateway.value, event.event_id, event.event_type, datetime.now(UTC)
    )
    return {"received": True, "duplicate": False}


@router.post("/stripe")
async def stripe_webhook(request: Request, session: SessionDep, temporal: WorkflowsDep):
    return await _receive(Gateway.STRIPE, request, session, temporal)


@router.post("/paypal")
async def paypal_webhook(request: Request, session: SessionDep, temporal: WorkflowsDep):
    return await _receive(Gateway.PAYPAL, request, session, temporal)
