"""PayPal webhooks at the door: every delivery with PayPal's five headers costs a call to
PayPal's verification endpoint, so what happens when that call fails, and how often a
caller may make us place it."""

import uuid

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from integrations.rate_limit import RateLimiter
from models.commerce import ProcessedWebhookEvent
from tests.paypal_fake import PayPalFake, PayPalServer

PAYPAL_HOOK = "/api/v1/marketplace/webhooks/paypal"
VERIFY = "/v1/notifications/verify-webhook-signature"
CLIENT_ID = "client-" + uuid.uuid4().hex
CLIENT_SECRET = "secret-" + uuid.uuid4().hex
WEBHOOK_ID = "WH-" + uuid.uuid4().hex[:17].upper()


@pytest.fixture(scope="module")
def paypal_server():
    with PayPalServer(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID) as fake:
        yield fake


@pytest.fixture
def paypal(paypal_server: PayPalFake):
    paypal_server.reset()
    yield paypal_server
    paypal_server.reset()


@pytest.fixture
def settings(settings, paypal):
    return settings.model_copy(
        update={
            "paypal_client_id": CLIENT_ID,
            "paypal_client_secret": SecretStr(CLIENT_SECRET),
            "paypal_webhook_id": WEBHOOK_ID,
            "paypal_api_base": paypal.url,
            "paypal_sandbox": True,
        }
    )


def forged_delivery(paypal: PayPalFake) -> dict:
    """PayPal's five headers, fresh, on an event PayPal never signed."""
    event = {"id": "WH-" + uuid.uuid4().hex, "event_type": "CHECKOUT.ORDER.APPROVED"}
    headers, body = paypal.sign(event)
    headers["PAYPAL-TRANSMISSION-SIG"] = "Zm9yZ2Vk"
    return {"content": body, "headers": headers | {"Content-Type": "application/json"}}


async def test_a_verification_paypal_cannot_answer_is_a_503_not_a_500(api, paypal, db):
    paypal.mode = "verify_fails"
    response = await api.request("POST", PAYPAL_HOOK, **forged_delivery(paypal))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "gateway_unavailable"
    assert paypal.requests_to("POST", VERIFY), "the verification was asked for"
    async with db() as session:
        assert not await session.scalar(select(func.count()).select_from(ProcessedWebhookEvent))


async def test_a_forged_delivery_is_refused(api, paypal):
    response = await api.request("POST", PAYPAL_HOOK, **forged_delivery(paypal))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"


async def test_verification_attempts_are_limited_per_client(api, paypal):
    app = api.http._transport.app
    app.state.settings = app.state.settings.model_copy(
        update={"paypal_webhook_rate_per_client": "3/minute"}
    )
    app.state.rate_limiter = RateLimiter(clock=lambda: 30.0)  # mid-window, standing still
    codes = [
        (await api.request("POST", PAYPAL_HOOK, **forged_delivery(paypal))).status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 401]
    blocked = await api.request("POST", PAYPAL_HOOK, **forged_delivery(paypal))
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert len(paypal.requests_to("POST", VERIFY)) == 3, "a refused delivery costs no call"
