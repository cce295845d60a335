"""A refund ends what an installed instance can do with the license, end to end: checkout
through the local gateway, activation, an offline file, the refund workflow revoking the
license, then the instance's signed answers and a new offline file."""

import secrets
from decimal import Decimal

import pytest

from domain.licensing import LicenseAnswer, OfflineLicense
from domain.modules import ModuleStatus
from integrations.license_signing import verify_document
from models.commerce import Order
from tests.test_checkout_e2e import CHECKOUT, GOOD, fill_cart, order_when
from worker import build_worker

pytestmark = pytest.mark.workflow
L = "/api/v1/marketplace/licenses"
INSTANCE = {"instance_id": "air-gapped-1", "domain": "plant.example.com"}


@pytest.fixture
async def worker(temporal_dev, settings, committed):
    async with build_worker(temporal_dev.client, settings, committed) as running:
        yield running


async def signed(api, response, kind):
    keys = (await api.request("GET", f"{L}/public-key")).json()
    [pem] = [k["public_key_pem"] for k in keys if k["status"] == "current"]
    document = verify_document(response.json(), pem, kind)
    assert document is not None, response.text
    return document


async def instance_call(api, operation: str, key: str):
    body = INSTANCE | {"nonce": secrets.token_urlsafe(16)}
    return await api.request("POST", f"{L}/{key}/{operation}", json=body)


async def test_after_a_refund_the_license_answers_revoked_and_no_offline_file_is_issued(
    committed_api, make_committed, worker, settings
):
    """Audit: after a refund (license revoked) the 30-day offline file still verified.
    The file issued while the buyer could still refund ends with the refund window; after
    the refund, verify answers a signed REVOKED and no new file is issued."""
    api = committed_api
    _, publisher = await make_committed.publisher()
    module = await make_committed.module(
        publisher, status=ModuleStatus.PUBLISHED, license_type="paid", price=Decimal("30.00")
    )
    buyer = await make_committed.user()
    await fill_cart(api, buyer, module)
    started = await api.request("POST", CHECKOUT, as_user=buyer, json={"payment_method": GOOD})
    assert started.status_code == 202, started.text
    order = await order_when(api, buyer, started.json()["order"]["id"], "completed")
    [key] = [item["license_key"] for item in (await api.request("GET", L, as_user=buyer)).json()]

    assert (await instance_call(api, "activate", key)).status_code == 200
    answer = await signed(api, await instance_call(api, "verify", key), LicenseAnswer)
    assert answer.code == "VALID"
    response = await api.request("GET", f"{L}/{key}/offline", as_user=buyer, params=INSTANCE)
    assert response.status_code == 200, response.text
    offline = await signed(api, response, OfflineLicense)
    paid_at = (await make_committed.reload(Order, order["id"])).paid_at
    assert offline.not_after == paid_at + settings.refund_window, "ends with the refund window"
    assert offline.not_after < offline.issued_at + settings.offline_license_lifetime

    refund = await api.request(
        "POST", f"/api/v1/marketplace/orders/{order['id']}/refund", as_user=buyer, json={}
    )
    assert refund.status_code == 202, refund.text
    await order_when(api, buyer, order["id"], "refunded")

    revoked = await instance_call(api, "verify", key)
    assert revoked.status_code == 200
    answer = await signed(api, revoked, LicenseAnswer)
    assert (answer.code, answer.status) == ("REVOKED", "refused")
    assert answer.valid_until == answer.issued_at
    again = await api.request("GET", f"{L}/{key}/offline", as_user=buyer, params=INSTANCE)
    assert again.status_code == 409 and again.json()["error"] == "license_not_active"
    refused = await instance_call(api, "activate", key)
    assert refused.status_code == 409 and refused.json()["error"] == "revoked"
    assert (await signed(api, refused, LicenseAnswer)).code == "REVOKED"
