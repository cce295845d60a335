"""A small stand-in for Stripe Connect transfers and PayPal Payouts, so the payout
integrations are tested through the real ``stripe`` SDK and real HTTP.

Stripe (``Authorization: Bearer <secret key>``, form-encoded bodies, Stripe's error shape
``{"error": {"type", "code", "message"}}``):

- ``POST /v1/transfers``: ``amount``, ``currency``, ``destination`` (an account registered
  with ``add_account``; else 400 ``resource_missing``). An ``Idempotency-Key`` seen before
  answers the first answer again with ``Idempotent-Replayed: true`` when the parameters are
  the same, 400 ``idempotency_error`` otherwise (as Stripe does). ``balance_minor`` (when
  set) is what the platform can transfer: beyond it 400 ``balance_insufficient``.
- ``GET /v1/transfers/{id}``.

``GET /_fake/state`` answers what was created (``transfers``, ``batches``) as JSON;
``POST /_fake/reset`` forgets it all (for a fake in another process).

PayPal (OAuth client credentials, then ``Bearer``; PayPal's error shape):

- ``POST /v1/oauth2/token``.
- ``POST /v1/payments/payouts``: one item to an email. A ``PayPal-Request-Id`` seen before
  answers the first answer again; a ``sender_batch_id`` seen before (with another request
  id) is refused with 400 ``USER_BUSINESS_ERROR`` and a link to the original batch, as
  PayPal documents. The batch starts PENDING.
- ``GET /v1/payments/payouts/{id}``: the item is PENDING until the ``settle_after``-th read
  of the batch, then SUCCESS; FAILED at once for a receiver in ``failing_receivers``.

``fail_next`` answers the next N money-moving POSTs (either provider) with a 500 before
doing anything. With ``hold_after`` = N, Stripe transfers after the N-th are created but
their answers wait until ``release`` is set (a worker can die mid-request). ``transfers``
and ``batches`` hold what was really created (one entry per created object, however often
it was asked for), ``requests`` every request.
"""

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.helpers import BackgroundHttpServer

STRIPE_KEY = "sk_test_payouts_fake"
PAYPAL_CLIENT_ID = "payouts-client"
PAYPAL_CLIENT_SECRET = "payouts-secret"

Answer = tuple[int, Any, dict[str, str]]
HOLD = "X-Fake-Held"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class PayoutsFake:
    url: str = ""
    stripe_key: str = STRIPE_KEY
    paypal_client_id: str = PAYPAL_CLIENT_ID
    paypal_client_secret: str = PAYPAL_CLIENT_SECRET
    accounts: set[str] = field(default_factory=set)
    any_account: bool = False
    """Take every ``acct_…`` destination, registered or not."""
    balance_minor: int | None = None
    fail_next: int = 0
    settle_after: int = 1
    failing_receivers: set[str] = field(default_factory=set)
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    stripe_keys: dict[str, tuple[dict, Answer]] = field(default_factory=dict)
    paypal_request_ids: dict[str, Answer] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_account(self, account_id: str) -> str:
        self.accounts.add(account_id)
        return account_id

    def transfer_keys(self) -> list[str]:
        """The idempotency key of each transfer really created."""
        return sorted(t["_key"] for t in self.transfers.values())

    def batch_keys(self) -> list[str]:
        return sorted(b["sender_batch_id"] for b in self.batches.values())

    # --- dispatch -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every transfer, batch, request and idempotency key."""
        for records in (
            self.transfers,
            self.batches,
            self.stripe_keys,
            self.paypal_request_ids,
        ):
            records.clear()
        self.requests.clear()

    def state(self) -> dict[str, Any]:
        """What was created, for a test or benchmark in another process."""
        return {"transfers": list(self.transfers.values()), "batches": list(self.batches.values())}

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["_fake", "state"] and method == "GET":
            return 200, self.state(), {}
        if parts == ["_fake", "reset"] and method == "POST":
            self.reset()
            return 200, {}, {}
        if parts[:2] == ["v1", "transfers"]:
            if headers.get("authorization") != f"Bearer {self.stripe_key}":
                return _stripe_error(401, "invalid_request_error", None, "Invalid API Key")
            if method == "POST" and len(parts) == 2:
                return self._create_transfer(headers.get("idempotency-key"), body)
            if method == "GET" and len(parts) == 3 and parts[2] in self.transfers:
                return 200, _public(self.transfers[parts[2]]), {}
            return _stripe_error(404, "invalid_request_error", "resource_missing", "No such one")
        if parts == ["v1", "oauth2", "token"] and method == "POST":
            return self._token(headers.get("authorization", ""))
        if parts[:3] == ["v1", "payments", "payouts"]:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme != "Bearer" or token not in self.tokens:
                return 401, {"name": "AUTHENTICATION_FAILURE", "message": "no token"}, {}
            if method == "POST" and len(parts) == 3:
                return self._create_batch(headers.get("paypal-request-id"), body)
            if method == "GET" and len(parts) == 4 and parts[3] in self.batches:
                return 200, self._read_batch(parts[3]), {}
            return 404, {"name": "RESOURCE_NOT_FOUND", "message": "not found"}, {}
        return 404, {"error": {"message": f"no route {method} {path}"}}, {}

    def _failing(self) -> bool:
        if self.fail_next > 0:
            self.fail_next -= 1
            return True
        return False

    # --- Stripe ---------------------------------------------------------------------------

    def _create_transfer(self, key: str | None, params: dict[str, str]) -> Answer:
        if key is not None and key in self.stripe_keys:
            first_params, answer = self.stripe_keys[key]
            if first_params != params:
                return _stripe_error(
                    400,
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                )
            return answer[0], answer[1], {"Idempotent-Replayed": "true"}
        if self._failing():
            return _stripe_error(500, "api_error", None, "An unknown error occurred")
        answer = self._new_transfer(params, key)
        if key is not None:
            self.stripe_keys[key] = (params, answer)
        return answer

    def _new_transfer(self, params: dict[str, str], key: str | None) -> Answer:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return _stripe_error(
                400, "invalid_request_error", "parameter_invalid_integer", "amount"
            )
        destination = params.get("destination", "")
        if destination not in self.accounts and not (
            self.any_account and destination.startswith("acct_")
        ):
            return _stripe_error(
                400,
                "invalid_request_error",
                "resource_missing",
                f"No such destination: '{destination}'",
            )
        if amount <= 0:
            return _stripe_error(400, "invalid_request_error", "amount_too_small", "amount > 0")
        if self.balance_minor is not None and amount > self.balance_minor:
            return _stripe_error(
                400,
                "invalid_request_error",
                "balance_insufficient",
                "You have insufficient available funds in your Stripe account.",
            )
        if self.balance_minor is not None:
            self.balance_minor -= amount
        hold = self.hold_after is not None and len(self.transfers) >= self.hold_after
        transfer_id = "tr_" + secrets.token_hex(12)
        metadata = {
            k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")
        }
        self.transfers[transfer_id] = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "currency": params.get("currency"),
            "destination": destination,
            "description": params.get("description"),
            "transfer_group": params.get("transfer_group"),
            "metadata": metadata,
            "reversed": False,
            "livemode": False,
            "created": int(time.time()),
            "_key": key,
        }
        return 200, _public(self.transfers[transfer_id]), {HOLD: "1"} if hold else {}

    # --- PayPal ---------------------------------------------------------------------------

    def _token(self, authorization: str) -> Answer:
        expected = base64.b64encode(
            f"{self.paypal_client_id}:{self.paypal_client_secret}".encode()
        ).decode()
        if authorization != f"Basic {expected}":
            return 401, {"error": "invalid_client", "error_description": "bad client"}, {}
        token = "A21AA" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 32400}, {}

    def _create_batch(self, request_id: str | None, body: Any) -> Answer:
        if request_id is not None and request_id in self.paypal_request_ids:
            return self.paypal_request_ids[request_id]
        if self._failing():
            return 500, {"name": "INTERNAL_SERVER_ERROR", "message": "try again"}, {}
        header = body.get("sender_batch_header") if isinstance(body, dict) else None
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(header, dict) or not isinstance(items, list) or len(items) != 1:
            return 400, {"name": "VALIDATION_ERROR", "message": "one item, a header"}, {}
        sender_batch_id = header.get("sender_batch_id")
        original = next(
            (b for b in self.batches.values() if b["sender_batch_id"] == sender_batch_id), None
        )
        if original is not None:
            return (
                400,
                {
                    "name": "USER_BUSINESS_ERROR",
                    "message": "User business error.",
                    "details": [
                        {
                            "field": "SENDER_BATCH_ID",
                            "issue": f"Batch with given sender_batch_id already exists: "
                            f"{sender_batch_id}",
                        }
                    ],
                    "links": [
                        {
                            "href": f"{self.url}/v1/payments/payouts/{original['id']}",
                            "rel": "self",
                            "method": "GET",
                        }
                    ],
                },
                {},
            )
        batch_id = secrets.token_hex(7).upper()
        self.batches[batch_id] = {
            "id": batch_id,
            "sender_batch_id": sender_batch_id,
            "item": items[0],
            "reads": 0,
        }
        answer: Answer = (
            201,
            {
                "batch_header": {
                    "payout_batch_id": batch_id,
                    "batch_status": "PENDING",
                    "sender_batch_header": header,
                },
                "links": [{"href": f"{self.url}/v1/payments/payouts/{batch_id}", "rel": "self"}],
            },
            {},
        )
        if request_id is not None:
            self.paypal_request_ids[request_id] = answer
        return answer

    def _read_batch(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        batch["reads"] += 1
        item = batch["item"]
        if item.get("receiver") in self.failing_receivers:
            status, batch_status = "FAILED", "SUCCESS"
        elif batch["reads"] >= self.settle_after:
            status, batch_status = "SUCCESS", "SUCCESS"
        else:
            status, batch_status = "PENDING", "PROCESSING"
        answer_item: dict[str, Any] = {
            "payout_item_id": f"ITEM{batch_id}",
            "payout_batch_id": batch_id,
            "transaction_status": status,
            "payout_item": item,
        }
        if status == "FAILED":
            answer_item["errors"] = {"name": "RECEIVER_UNREGISTERED", "message": "no account"}
        return {
            "batch_header": {"payout_batch_id": batch_id, "batch_status": batch_status},
            "items": [answer_item],
        }


def _public(transfer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in transfer.items() if not k.startswith("_")}


def _stripe_error(status: int, kind: str, code: str | None, message: str) -> Answer:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return status, {"error": error}, {}


def _handler_for(fake: PayoutsFake):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            body: Any
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                body = dict(parse_qsl(raw.decode(errors="replace")))
            else:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
            with fake.lock:
                fake.requests.append(Recorded(self.command, url.path, headers, body))
                status, answer, extra = fake.handle(self.command, url.path, headers, body)
            if extra.get(HOLD):
                fake.release.wait(timeout=60)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status >= 500:
                self.send_header("Stripe-Should-Retry", "false")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler


class PayoutsServer:
    """The fake on 127.0.0.1 (a free port), served from a thread."""

    def __init__(self) -> None:
        self.fake = PayoutsFake()
        self.http = BackgroundHttpServer(_handler_for(self.fake))
        self.fake.url = self.http.url

    def __enter__(self) -> PayoutsFake:
        self.http.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.http.stop()
