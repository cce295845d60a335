"""Sending publishers their money: Stripe Connect transfers, PayPal Payouts, or by hand.

Each rail takes a ``TransferRequest`` whose ``idempotency_key`` is built from business ids
(``payout:{publisher}:{YYYY-MM}``, see ``domain.payouts.transfer_key``), so a retried
activity reaches the provider as the same request and money moves at most once.

- **Stripe Connect** (``stripe`` SDK, async on its httpx client): ``POST /v1/transfers`` to
  the publisher's connected account with ``Idempotency-Key``; a transfer is final once
  created (the connected account then pays out on its own schedule).
- **PayPal Payouts** (REST on the ``integrations.paypal.PayPalClient`` the checkout gateway
  uses too, so one OAuth token serves both): ``POST /v1/payments/payouts`` with one item,
  ``sender_batch_id`` = the key and ``PayPal-Request-Id`` = the key. PayPal refuses a
  ``sender_batch_id`` seen in the last 30 days with an error linking to the original batch;
  that batch is then read instead. A batch settles later: ``check`` reads it
  (``GET /v1/payments/payouts/{id}``) until its item succeeds or fails.
- **Manual**: nothing is sent; an admin pays by other means and marks the payout paid.

Errors: ``TransferUnavailable`` (unreachable, 5xx, 429, an expired token): retry with the
same key. ``TransferRefused`` (any other refusal): no money moved; retrying the same request
cannot help. ``code`` is the provider's error code in lower case. Secrets and tokens are
never logged.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, Self

import stripe
from stripe.params import TransferCreateParams

from domain.payouts import TransferStatus
from domain.pricing import currency_places, to_minor_units
from integrations.paypal import PayPalClient, PayPalError, PayPalUnavailable

TIMEOUT_SECONDS = 30.0
MAX_NETWORK_RETRIES = 2
PAYOUTS_PATH = "/v1/payments/payouts"
PAYPAL_ITEM_FAILED = {"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED"}
PAYPAL_BATCH_FAILED = {"DENIED", "CANCELED"}


@dataclass(frozen=True)
class TransferRequest:
    payout_id: int
    amount: Decimal
    currency: str
    destination: str | None
    """Stripe account ``acct_…`` or PayPal email; None for manual."""
    idempotency_key: str
    description: str


@dataclass(frozen=True)
class TransferResult:
    status: TransferStatus
    external_id: str | None = None


class TransferUnavailable(Exception):
    """The provider could not be reached or did not answer usefully: retry later."""


class TransferRefused(Exception):
    """The provider refused the transfer; no money moved."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class PayoutRail(Protocol):
    name: str

    async def send(self, request: TransferRequest) -> TransferResult: ...

    async def check(self, request: TransferRequest, external_id: str) -> TransferResult: ...


class ManualPayouts:
    name = "manual"

    async def send(self, request: TransferRequest) -> TransferResult:
        return TransferResult(TransferStatus.MANUAL)

    async def check(self, request: TransferRequest, external_id: str) -> TransferResult:
        return TransferResult(TransferStatus.MANUAL, external_id)


# --- Stripe Connect ------------------------------------------------------------------------


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise TransferUnavailable(f"Stripe unreachable or busy: {error.user_message}") from error
    except stripe.IdempotencyError as error:
        # The key was used for a different request: the first one may have moved money,
        # so this is never treated as a refusal (which would earn a fresh key).
        raise TransferUnavailable(f"Stripe idempotency conflict: {error.user_message}") from error
    except (stripe.InvalidRequestError, stripe.PermissionError, stripe.AuthenticationError) as e:
        raise TransferRefused(
            (e.code or type(e).__name__).lower(), e.user_message or "Stripe refused the transfer"
        ) from e
    except stripe.APIError as error:
        status = error.http_status
        if status is not None and 400 <= status < 500 and status not in (409, 429):
            raise TransferRefused("api_error", error.user_message or "") from error
        raise TransferUnavailable(f"Stripe answered HTTP {status}") from error


class StripeConnectPayouts:
    """Transfers to connected accounts. ``api_base`` points the SDK elsewhere (tests:
    ``tests/payouts_fake.py``)."""

    name = "stripe"

    def __init__(self, secret_key: str, api_base: str | None = None) -> None:
        if not secret_key:
            raise ValueError("Stripe payouts need a secret key")
        self._http = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=MAX_NETWORK_RETRIES,
        )
        self.api_base = api_base

    def __repr__(self) -> str:
        return f"StripeConnectPayouts(api_base={self.api_base!r})"

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # unannotated in stripe

    async def send(self, request: TransferRequest) -> TransferResult:
        if not request.destination:
            raise TransferRefused("payout_destination_missing", "no Stripe account to pay")
        params: TransferCreateParams = {
            "amount": to_minor_units(request.amount, request.currency),
            "currency": request.currency.lower(),
            "destination": request.destination,
            "description": request.description,
            "transfer_group": f"payout-{request.payout_id}",
            "metadata": {"payout_id": str(request.payout_id)},
        }
        with _stripe_errors():
            transfer = await self._client.v1.transfers.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        return self._result(transfer)

    async def check(self, request: TransferRequest, external_id: str) -> TransferResult:
        with _stripe_errors():
            transfer = await self._client.v1.transfers.retrieve_async(external_id)
        return self._result(transfer)

    @staticmethod
    def _result(transfer: Any) -> TransferResult:
        if getattr(transfer, "reversed", False):
            raise TransferRefused("transfer_reversed", f"transfer {transfer.id} was reversed")
        return TransferResult(TransferStatus.PAID, transfer.id)


# --- PayPal Payouts ------------------------------------------------------------------------


class PayPalPayouts:
    """PayPal Payouts over REST. Built from credentials (its own ``PayPalClient``; ``api_base``
    overrides the live/sandbox host, for tests), or with ``over`` on the client the process
    shares with the PayPal checkout gateway."""

    name = "paypal"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_base: str | None = None,
        sandbox: bool = False,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("PayPal payouts need a client id and secret")
        self._paypal = PayPalClient(client_id, client_secret, api_base=api_base, sandbox=sandbox)

    @classmethod
    def over(cls, paypal: PayPalClient) -> Self:
        rail = cls.__new__(cls)
        rail._paypal = paypal
        return rail

    @property
    def api_base(self) -> str:
        return self._paypal.api_base

    def __repr__(self) -> str:
        return f"PayPalPayouts(api_base={self.api_base!r})"

    async def aclose(self) -> None:
        await self._paypal.aclose()

    async def send(self, request: TransferRequest) -> TransferResult:
        if not request.destination:
            raise TransferRefused("payout_destination_missing", "no PayPal email to pay")
        body = {
            "sender_batch_header": {
                "sender_batch_id": request.idempotency_key,
                "recipient_type": "EMAIL",
                "email_subject": "You have a payout from FastVue Marketplace",
            },
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "receiver": request.destination,
                    "amount": {
                        "value": f"{request.amount:.{currency_places(request.currency)}f}",
                        "currency": request.currency,
                    },
                    "note": request.description[:1000],
                    "sender_item_id": f"payout-{request.payout_id}",
                }
            ],
        }
        with _paypal_errors():
            try:
                answer = await self._paypal.request(
                    "POST", PAYOUTS_PATH, json=body, request_id=request.idempotency_key
                )
            except PayPalError as error:
                # A sender_batch_id PayPal has seen (in the last 30 days): read that batch.
                original = _original_batch(error.body)
                if original is None:
                    raise
                return await self.check(request, original)
        return self._batch_result(answer, fetched=False)

    async def check(self, request: TransferRequest, external_id: str) -> TransferResult:
        with _paypal_errors():
            answer = await self._paypal.request("GET", f"{PAYOUTS_PATH}/{external_id}")
        return self._batch_result(answer, fetched=True)

    @staticmethod
    def _batch_result(answer: Any, *, fetched: bool) -> TransferResult:
        header = answer.get("batch_header") if isinstance(answer, dict) else None
        if not isinstance(header, dict):
            header = {}
        batch_id = header.get("payout_batch_id")
        if not isinstance(batch_id, str):
            raise TransferUnavailable("PayPal answered without a payout batch id")
        batch_status = str(header.get("batch_status", ""))
        if batch_status in PAYPAL_BATCH_FAILED:
            raise TransferRefused(f"batch_{batch_status.lower()}", f"PayPal {batch_status}")
        items = answer.get("items") if fetched else None
        item = items[0] if isinstance(items, list) and items else None
        item_status = str(item.get("transaction_status", "")) if isinstance(item, dict) else ""
        if item_status in PAYPAL_ITEM_FAILED:
            errors = item.get("errors") if isinstance(item, dict) else None
            name = errors.get("name") if isinstance(errors, dict) else None
            raise TransferRefused(
                (name or f"item_{item_status}").lower(), f"PayPal payout item {item_status}"
            )
        if item_status == "SUCCESS":
            return TransferResult(TransferStatus.PAID, batch_id)
        return TransferResult(TransferStatus.PENDING, batch_id)


@contextmanager
def _paypal_errors() -> Iterator[None]:
    """The shared PayPal client's errors as the payout rails name them."""
    try:
        yield
    except PayPalUnavailable as error:
        raise TransferUnavailable(str(error)) from error
    except PayPalError as error:
        raise TransferRefused(error.issue.lower(), error.message) from error


def _original_batch(answer: Any) -> str | None:
    """The batch a duplicate ``sender_batch_id`` refers to, from the error's HATEOAS link."""
    links = answer.get("links") if isinstance(answer, dict) else None
    for link in links if isinstance(links, list) else []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and f"{PAYOUTS_PATH}/" in href:
            batch_id = href.split(f"{PAYOUTS_PATH}/", 1)[1].split("?")[0].strip("/")
            if batch_id and "/" not in batch_id:
                return batch_id
    return None


# --- choosing the rail ---------------------------------------------------------------------


class PayoutRails:
    """The rails the settings enable, by method name; manual is always there."""

    def __init__(self, rails: list[PayoutRail]) -> None:
        self._by_name: dict[str, PayoutRail] = {"manual": ManualPayouts()}
        self._by_name.update({rail.name: rail for rail in rails})

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    async def aclose(self) -> None:
        """Close the rails' HTTP connections."""
        for rail in self._by_name.values():
            close = getattr(rail, "aclose", None)
            if close is not None:
                await close()

    def get(self, method: str) -> PayoutRail:
        rail = self._by_name.get(method)
        if rail is None:
            raise TransferRefused(
                "payout_method_unavailable", f"payouts by {method!r} are not configured here"
            )
        return rail
