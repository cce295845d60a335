"""The local test gateway: deterministic outcomes from test card numbers, no network.

It is the embedded default, so a fresh checkout can sell, renew and refund end to end. Its
state is one JSON file per payment under the data dir (shared by the API and the worker),
changed under an exclusive file lock. Idempotency works as at Stripe: the same key gives
the same payment or refund, and a key reused for a different amount is refused.

Test cards (any other number is declined with ``test_card_required``):

========================  ==================================================================
``4242424242424242``      succeeds
``4000000000000002``      declined, ``card_declined``
``4000000000009995``      declined, ``insufficient_funds``
``4000000000003220``      needs the buyer's confirmation (3-D Secure), then succeeds
``4000000000000341``      succeeds with the buyer present; off-session renewals decline
========================  ==================================================================
"""

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.checkout import PaymentStatus, RefundStatus
from integrations.payments import Payment, PaymentRequest, Refund, WebhookEvent, WebhookRejected
from integrations.private_files import open_private, private_directory, write_private


@dataclass(frozen=True)
class TestCard:
    on_session: PaymentStatus
    off_session: PaymentStatus
    decline_code: str | None = None


TEST_CARDS = {
    "4242424242424242": TestCard(PaymentStatus.SUCCEEDED, PaymentStatus.SUCCEEDED),
    "4000000000000002": TestCard(PaymentStatus.DECLINED, PaymentStatus.DECLINED, "card_declined"),
    "4000000000009995": TestCard(
        PaymentStatus.DECLINED, PaymentStatus.DECLINED, "insufficient_funds"
    ),
    "4000000000003220": TestCard(PaymentStatus.REQUIRES_ACTION, PaymentStatus.DECLINED),
    "4000000000000341": TestCard(PaymentStatus.SUCCEEDED, PaymentStatus.DECLINED, "card_declined"),
}
METHOD_PREFIX = "pm_local_"


class IdempotencyConflict(ValueError):
    """The same idempotency key was used for a different request."""


def card_number_of(payment_method: str | None) -> str | None:
    if payment_method is None:
        return None
    method = payment_method.removeprefix(METHOD_PREFIX)
    return "".join(method.split()).replace("-", "")


class LocalGateway:
    name = "local"

    def __init__(self, directory: Path, public_base_url: str) -> None:
        self.directory = directory
        self.public_base_url = public_base_url.rstrip("/")

    async def ensure_customer(self, user_id: int, email: str, existing: str | None) -> str | None:
        return existing or f"cus_local_{user_id}"

    async def create_payment(self, request: PaymentRequest) -> Payment:
        payment_id = "lpay_" + _digest(request.idempotency_key)
        with self._locked(payment_id) as state:
            if state:
                if (state["amount"], state["currency"]) != (
                    request.amount_minor,
                    request.currency,
                ):
                    raise IdempotencyConflict(
                        f"idempotency key {request.idempotency_key} was used for another amount"
                    )
                return self._payment(state)
            number = card_number_of(request.payment_method)
            card = TEST_CARDS.get(number or "")
            status, decline = PaymentStatus.REQUIRES_ACTION, None
            if number is not None and card is None:
                status, decline = PaymentStatus.DECLINED, "test_card_required"
            elif card is not None:
                status = card.off_session if request.off_session else card.on_session
                decline = card.decline_code if status is PaymentStatus.DECLINED else None
                if request.off_session and card.on_session is PaymentStatus.REQUIRES_ACTION:
                    decline = "authentication_required"
            state.update(
                id=payment_id,
                reference=request.reference,
                amount=request.amount_minor,
                currency=request.currency,
                customer=request.customer_id,
                card=number,
                status=status.value,
                decline_code=decline,
                saved=request.save_payment_method or request.off_session,
                refunds={},
            )
            return self._payment(state)

    async def confirm_payment(self, payment_id: str, idempotency_key: str) -> Payment:
        """The buyer passed the (simulated) 3-D Secure step: a pending payment succeeds."""
        with self._locked(payment_id, must_exist=True) as state:
            if state["status"] == PaymentStatus.REQUIRES_ACTION and state["card"] is not None:
                state["status"] = PaymentStatus.SUCCEEDED.value
            return self._payment(state)

    async def get_payment(self, payment_id: str) -> Payment:
        with self._locked(payment_id, must_exist=True) as state:
            return self._payment(state)

    async def cancel_payment(self, payment_id: str) -> Payment:
        with self._locked(payment_id, must_exist=True) as state:
            if not PaymentStatus(state["status"]).is_final:
                state["status"] = PaymentStatus.CANCELED.value
            return self._payment(state)

    async def refund(
        self, payment_id: str, amount_minor: int, idempotency_key: str, reason: str | None
    ) -> Refund:
        refund_id = "lref_" + _digest(idempotency_key)
        with self._locked(payment_id, must_exist=True) as state:
            refunds: dict[str, int] = state["refunds"]
            if refund_id in refunds:
                if refunds[refund_id] != amount_minor:
                    raise IdempotencyConflict(f"refund key {idempotency_key} reused")
                return Refund(refund_id, RefundStatus.SUCCEEDED, amount_minor)
            if state["status"] != PaymentStatus.SUCCEEDED:
                return Refund(refund_id, RefundStatus.FAILED, amount_minor)
            if amount_minor <= 0 or sum(refunds.values()) + amount_minor > state["amount"]:
                return Refund(refund_id, RefundStatus.FAILED, amount_minor)
            refunds[refund_id] = amount_minor
            return Refund(refund_id, RefundStatus.SUCCEEDED, amount_minor)

    async def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        raise WebhookRejected("unsupported_gateway", "the local gateway sends no webhooks")

    def _payment(self, state: dict[str, Any]) -> Payment:
        status = PaymentStatus(state["status"])
        card = state["card"]
        return Payment(
            gateway=self.name,
            payment_id=state["id"],
            status=status,
            amount_minor=state["amount"],
            currency=state["currency"],
            next_action_url=(
                f"{self.public_base_url}/api/v1/marketplace/checkout/confirm"
                if status is PaymentStatus.REQUIRES_ACTION
                else None
            ),
            customer_id=state["customer"],
            payment_method=f"{METHOD_PREFIX}{card}" if card and state["saved"] else None,
            decline_code=state["decline_code"],
        )

    @contextmanager
    def _locked(self, payment_id: str, *, must_exist: bool = False) -> Iterator[dict[str, Any]]:
        """The payment's state, locked; written back if the block changed it."""
        if not payment_id.startswith("lpay_") or not payment_id[5:].isalnum():
            raise KeyError(f"no local payment {payment_id!r}")
        private_directory(self.directory)
        path = self.directory / f"{payment_id}.json"
        lock_file = open_private(self.directory / f"{payment_id}.lock", os.O_WRONLY | os.O_APPEND)
        with os.fdopen(lock_file, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(path.read_text()) if path.exists() else {}
            if must_exist and not state:
                raise KeyError(f"no local payment {payment_id!r}")
            before = json.dumps(state, sort_keys=True)
            yield state
            if json.dumps(state, sort_keys=True) != before:
                write_private(path, json.dumps(state).encode())


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]
