"""Payment gateway webhooks. A delivery is verified by its gateway (Stripe's signature,
PayPal's verification call), applied once per event id, and only ever wakes the order's
checkout to read the payment back from the gateway: the body itself is never trusted."""

from typing import Any

from fastapi import APIRouter, Request

from api.deps import (
    ClientAddressDep,
    GatewaysDep,
    RateLimiterDep,
    SessionDep,
    SettingsDep,
    WorkflowsDep,
)
from api.errors import RATE_LIMITED, ErrorBody
from domain.checkout import Gateway
from services import checkout as checkout_service

router = APIRouter(prefix="/api/v1/marketplace/webhooks", tags=["webhooks"])

UNVERIFIABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "The gateway cannot verify the delivery now (`gateway_unavailable`)",
    }
}


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


def delivery(headers: tuple[str, ...], gateway: str) -> dict[str, Any]:
    """A delivery as the OpenAPI document shows it: the gateway's event (JSON, read only
    for its id, type and payment reference) and the headers that sign it. The body is read
    raw (signatures cover its bytes), so the framework would document neither."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": f"Set by {gateway}",
            }
            for name in headers
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": f"A {gateway} event"}
                }
            },
        },
    }


@router.post(
    "/stripe",
    response_model=None,
    openapi_extra=delivery(("Stripe-Signature",), "Stripe"),
)
async def stripe_webhook(
    request: Request, session: SessionDep, gateways: GatewaysDep, temporal: WorkflowsDep
) -> dict[str, bool]:
    return await _receive(Gateway.STRIPE, request, session, gateways, temporal)


@router.post(
    "/paypal",
    response_model=None,
    responses=RATE_LIMITED | UNVERIFIABLE,
    openapi_extra=delivery(
        (
            "PAYPAL-AUTH-ALGO",
            "PAYPAL-CERT-URL",
            "PAYPAL-TRANSMISSION-ID",
            "PAYPAL-TRANSMISSION-SIG",
            "PAYPAL-TRANSMISSION-TIME",
        ),
        "PayPal",
    ),
)
async def paypal_webhook(
    request: Request,
    session: SessionDep,
    gateways: GatewaysDep,
    temporal: WorkflowsDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientAddressDep,
) -> dict[str, bool]:
    """Each delivery costs a call to PayPal to verify it, so deliveries are limited per
    client (``paypal_webhook_rate_per_client``); PayPal delivers again after a 429 or 503."""
    limiter.check(settings.paypal_webhook_rate_per_client, "paypal-webhook-client", client)
    return await _receive(Gateway.PAYPAL, request, session, gateways, temporal)
