"""The payout rails over real HTTP: Stripe Connect transfers through the real ``stripe``
SDK and PayPal Payouts through ``httpx``, both against ``tests/payouts_fake.py``. What
the providers recorded is what is checked: one transfer per idempotency key, amounts in
minor units, refusals told apart from outages."""

from decimal import Decimal

import pytest
from pydantic import SecretStr

from domain.payouts import TransferStatus
from integrations.payouts import (
    PayPalPayouts,
    StripeConnectPayouts,
    TransferRefused,
    TransferRequest,
    TransferUnavailable,
)
from integrations.paypal import MAX_RETRIES
from integrations.wiring import payout_rails_from
from tests.payouts_fake import (
    PAYPAL_CLIENT_ID,
    PAYPAL_CLIENT_SECRET,
    STRIPE_KEY,
    PayoutsFake,
    PayoutsServer,
)

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=:DeprecationWarning")


@pytest.fixture
def fake():
    with PayoutsServer() as running:
        yield running


@pytest.fixture
async def stripe_rail(fake: PayoutsFake):
    rail = StripeConnectPayouts(STRIPE_KEY, api_base=fake.url)
    yield rail
    await rail.aclose()


@pytest.fixture
async def paypal_rail(fake: PayoutsFake):
    rail = PayPalPayouts(PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, api_base=fake.url)
    yield rail
    await rail.aclose()


def request(destination: str, amount: str = "70.15", currency: str = "USD", key: str = "k1"):
    return TransferRequest(
        payout_id=7,
        amount=Decimal(amount),
        currency=currency,
        destination=destination,
        idempotency_key=key,
        description="FastVue Marketplace payout 2026-10",
    )


async def test_a_stripe_transfer_goes_once_per_key_in_minor_units(stripe_rail, fake):
    account = fake.add_account("acct_1PublisherA")
    first = await stripe_rail.send(request(account, key="payout:3:2026-10"))
    again = await stripe_rail.send(request(account, key="payout:3:2026-10"))
    assert first.status is TransferStatus.PAID and first.external_id.startswith("tr_")
    assert again.external_id == first.external_id
    [created] = fake.transfers.values()
    assert (created["amount"], created["currency"], created["destination"]) == (
        7015,
        "usd",
        account,
    )
    assert created["metadata"] == {"payout_id": "7"}
    assert fake.transfer_keys() == ["payout:3:2026-10"]
    sent = [r for r in fake.requests if r.method == "POST"]
    assert [r.headers["idempotency-key"] for r in sent] == ["payout:3:2026-10"] * 2
    assert (await stripe_rail.check(request(account), first.external_id)) == first


async def test_a_zero_decimal_currency_goes_in_whole_units(stripe_rail, fake):
    account = fake.add_account("acct_1Yen")
    await stripe_rail.send(request(account, amount="1500", currency="JPY"))
    [created] = fake.transfers.values()
    assert (created["amount"], created["currency"]) == (1500, "jpy")


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda fake: None, "resource_missing"),
        (lambda fake: setattr(fake, "balance_minor", 100), "balance_insufficient"),
    ],
)
async def test_stripe_refusals_are_permanent(stripe_rail, fake, setup, code):
    if code != "resource_missing":
        fake.add_account("acct_1Known")
    setup(fake)
    with pytest.raises(TransferRefused) as refused:
        await stripe_rail.send(request("acct_1Known"))
    assert refused.value.code == code
    assert fake.transfers == {}


async def test_a_stripe_outage_is_retryable_and_the_retry_pays_once(stripe_rail, fake):
    account = fake.add_account("acct_1Outage")
    fake.fail_next = 1
    with pytest.raises(TransferUnavailable):
        await stripe_rail.send(request(account))
    paid = await stripe_rail.send(request(account))
    assert paid.status is TransferStatus.PAID
    assert len(fake.transfers) == 1


async def test_a_reused_key_with_other_parameters_is_never_taken_for_a_refusal(stripe_rail, fake):
    """The first request may have moved money: no new key may be earned from this."""
    account = fake.add_account("acct_1Changed")
    await stripe_rail.send(request(account, amount="10.00"))
    with pytest.raises(TransferUnavailable):
        await stripe_rail.send(request(account, amount="11.00"))
    assert len(fake.transfers) == 1


async def test_a_paypal_payout_is_a_batch_that_settles_later(paypal_rail, fake):
    fake.settle_after = 2
    sent = await paypal_rail.send(request("pub@example.com", key="payout:4:2026-10"))
    assert sent.status is TransferStatus.PENDING
    assert (await paypal_rail.check(request("x"), sent.external_id)).status is (
        TransferStatus.PENDING
    )
    settled = await paypal_rail.check(request("x"), sent.external_id)
    assert settled.status is TransferStatus.PAID and settled.external_id == sent.external_id
    [batch] = fake.batches.values()
    assert batch["sender_batch_id"] == "payout:4:2026-10"
    assert batch["item"]["amount"] == {"value": "70.15", "currency": "USD"}
    assert batch["item"]["receiver"] == "pub@example.com"
    posted = [r for r in fake.requests if r.path == "/v1/payments/payouts"]
    assert posted[0].headers["paypal-request-id"] == "payout:4:2026-10"


async def test_a_repeated_paypal_payout_finds_the_first_batch(paypal_rail, fake):
    first = await paypal_rail.send(request("pub@example.com"))
    replayed = await paypal_rail.send(request("pub@example.com"))
    fake.paypal_request_ids.clear()  # PayPal forgot the request id; the batch id it keeps
    duplicate = await paypal_rail.send(request("pub@example.com"))
    assert first.external_id == replayed.external_id == duplicate.external_id
    assert len(fake.batches) == 1
    assert fake.tokens and len(fake.tokens) == 1


async def test_paypal_refusals_and_outages(paypal_rail, fake):
    fake.failing_receivers.add("nobody@example.com")
    sent = await paypal_rail.send(request("nobody@example.com"))
    with pytest.raises(TransferRefused) as refused:
        await paypal_rail.check(request("x"), sent.external_id)
    assert refused.value.code == "receiver_unregistered"
    fake.fail_next = MAX_RETRIES + 1  # more 500s in a row than the client retries
    with pytest.raises(TransferUnavailable):
        await paypal_rail.send(request("other@example.com", key="k2"))
    assert "k2" not in fake.batch_keys()
    yen = await paypal_rail.send(
        request("yen@example.com", amount="1500", currency="JPY", key="k3")
    )
    assert fake.batches[yen.external_id]["item"]["amount"] == {"value": "1500", "currency": "JPY"}


async def test_a_paypal_5xx_is_retried_under_the_same_request_id(paypal_rail, fake):
    fake.fail_next = MAX_RETRIES
    sent = await paypal_rail.send(request("pub@example.com", key="payout:5:2026-10"))
    assert sent.status is TransferStatus.PENDING
    posted = [r for r in fake.requests if r.path == "/v1/payments/payouts"]
    assert [r.headers["paypal-request-id"] for r in posted] == ["payout:5:2026-10"] * (
        MAX_RETRIES + 1
    )
    assert fake.batch_keys() == ["payout:5:2026-10"]


async def test_wrong_paypal_credentials_are_an_outage_not_a_refusal(fake):
    rail = PayPalPayouts(PAYPAL_CLIENT_ID, "wrong", api_base=fake.url)
    with pytest.raises(TransferUnavailable):
        await rail.send(request("pub@example.com"))
    await rail.aclose()
    assert fake.batches == {}


async def test_the_settings_choose_the_rails(settings, fake):
    assert payout_rails_from(settings).names == ["manual"]
    configured = settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(STRIPE_KEY),
            "stripe_api_base": fake.url,
            "paypal_client_id": PAYPAL_CLIENT_ID,
            "paypal_client_secret": SecretStr(PAYPAL_CLIENT_SECRET),
            "paypal_api_base": fake.url,
        }
    )
    rails = payout_rails_from(configured)
    assert rails.names == ["manual", "paypal", "stripe"]
    await rails.aclose()
    with pytest.raises(TransferRefused) as refused:
        payout_rails_from(settings).get("stripe")
    assert refused.value.code == "payout_method_unavailable"
