"""Payment gateway webhooks. A delivery is verified by its gateway (Stripe's signature,
PayPal's verification call), applied once per event id, and only ever wakes the order's
checkout to read the payment back from the gateway: the body itself is never trusted."""

from fastapi import APIRouter, Request

from api.deps import GatewaysDep, SessionDep, WorkflowsDep
from domain.checkout import Gateway
from services import checkout as checkout_service

router = APIRouter(prefix="/api/v1/marketplace/webhooks", tags=["webhooks"])


async def _receive(
    gateway: Gateway,
    request: Request,
    session: SessionDep,
    gateways: GatewaysDep,
    temporal: WorkflowsDep,
) -> dict[str, bool]:
    duplicate = await checkout_service.receive_webhook(
        session,
        gateway,
        request.headers,
        await request.body(),
        gateways=gateways,
        workflows=temporal,
    )
    return {"received": True, "duplicate": duplicate}


@router.post("/stripe", response_model=None)
async def stripe_webhook(
    request: Request, session: SessionDep, gateways: GatewaysDep, temporal: WorkflowsDep
) -> dict[str, bool]:
    return await _receive(Gateway.STRIPE, request, session, gateways, temporal)


@router.post("/paypal", response_model=None)
async def paypal_webhook(
    request: Request, session: SessionDep, gateways: GatewaysDep, temporal: WorkflowsDep
) -> dict[str, bool]:
    return await _receive(Gateway.PAYPAL, request, session, gateways, temporal)
