"""The real localstripe emulator (PyPI ``localstripe``) in a subprocess, for testing the
Stripe SDK and ``StripeGateway`` over HTTP.

localstripe 1.15 is started through a small launcher (this file run as a script) that
differs from ``python -m localstripe`` in four ways, none of which changes how it decides a
payment:

- PaymentIntent creation accepts ``description``, ``setup_future_usage`` and ``return_url``,
  which Stripe takes but localstripe answers with ``400 Unexpected …``. The first two are
  stored on the intent and returned as Stripe does; ``return_url`` is dropped (localstripe
  has no redirects: its 3-D Secure step is ``POST …/_authenticate``, see ``authenticate``).
- Every API request is recorded (method, path, ``Idempotency-Key``, form fields) and can be
  read at ``GET /_config/requests``. localstripe ignores ``Idempotency-Key`` (the same key
  twice creates two objects), so tests check the keys we send instead of replays.
- Nothing is pickled to ``/tmp/localstripe.pickle`` (shared by every localstripe on the
  machine); each server starts empty and keeps its objects in memory.
- It listens on 127.0.0.1 on a port the kernel picks and prints that port, so there is no
  race for a "free" port.

Test cards (localstripe ``PaymentMethod``): 4242 4242 4242 4242 succeeds; 4000 0000 0000 0341
is declined when charged (``card_declined``); 4000 0025 0000 3155, …3220, …3063 and
4000 0027 6000 3184 need 3-D Secure, after which they succeed; 4000 0082 6000 3178 and
4000 0084 0000 1629 need 3-D Secure and are then declined. Unlike Stripe, 4000 0000 0000 0002
(``pm_card_visa_chargeDeclined``) is only declined when *attached* to a customer: charged
directly, it succeeds.
"""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

SECRET_KEY = "sk_test_localstripe"
PUBLISHABLE_KEY = "pk_test_localstripe"

SUCCEEDS = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"
NEEDS_3DS = "4000002500003155"
NEEDS_3DS_THEN_DECLINED = "4000008260003178"

_STARTUP_TIMEOUT = 60.0


@dataclass
class LocalStripe:
    url: str
    secret_key: str = SECRET_KEY

    def _http(self, *, with_secret_key: bool = True) -> httpx.AsyncClient:
        auth = (self.secret_key, "") if with_secret_key else None
        return httpx.AsyncClient(base_url=self.url, auth=auth, timeout=10.0)

    async def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        async with self._http() as http:
            response = await http.post(path, data=data)
        response.raise_for_status()
        return response.json()

    async def card(self, number: str) -> str:
        """A new card PaymentMethod (``pm_…``) for a test card number."""
        method = await self._post(
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )
        return method["id"]

    async def unconfirmed_intent(self, amount: int, currency: str, payment_method: str) -> str:
        """A PaymentIntent with a method but not confirmed (``requires_confirmation``)."""
        intent = await self._post(
            "/v1/payment_intents",
            {"amount": amount, "currency": currency, "payment_method": payment_method},
        )
        return intent["id"]

    async def authenticate(self, intent_id: str, client_secret: str, *, success: bool) -> int:
        """What the buyer's browser does for 3-D Secure in localstripe (its Stripe.js calls
        this with the publishable key). Returns the HTTP status: 402 when the card is then
        declined."""
        async with self._http(with_secret_key=False) as http:
            response = await http.post(
                f"/v1/payment_intents/{intent_id}/_authenticate",
                data={
                    "client_secret": client_secret,
                    "success": "true" if success else "false",
                    "key": PUBLISHABLE_KEY,
                },
            )
        return response.status_code

    async def register_webhook(self, url: str, secret: str, events: list[str]) -> None:
        """Make localstripe deliver these events, signed with ``secret``, to ``url``."""
        data = {"url": url, "secret": secret, "events[]": events}
        async with self._http() as http:
            response = await http.post("/_config/webhooks/test", data=data)
        response.raise_for_status()

    async def requests(self, method: str | None = None, path: str | None = None) -> list[dict]:
        """API requests the server received, oldest first, optionally filtered."""
        async with self._http() as http:
            response = await http.get("/_config/requests")
        response.raise_for_status()
        return [
            r
            for r in response.json()
            if (method is None or r["method"] == method) and (path is None or r["path"] == path)
        ]


@contextmanager
def localstripe_server() -> Iterator[LocalStripe]:
    """Start localstripe for the duration of the block."""
    process = subprocess.Popen(
        [sys.executable, __file__],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = _read_port(process)
        server = LocalStripe(f"http://127.0.0.1:{port}")
        _wait_until_answering(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _read_port(process: subprocess.Popen) -> int:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.strip().isdigit():
        raise RuntimeError(f"localstripe did not start (exit code {process.poll()}): {line!r}")
    return int(line)


def _wait_until_answering(server: LocalStripe) -> None:
    """Poll until the deadline (a count of tries would stretch or shrink with the load)."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        while time.monotonic() < deadline:
            try:
                http.get("/_config/requests").raise_for_status()
                return
            except httpx.TransportError:
                time.sleep(0.1)
    raise RuntimeError(f"localstripe at {server.url} did not answer")


def _serve() -> None:
    from aiohttp import web
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None

    create_intent = resources.PaymentIntent.__init__

    def accept_unmodelled(
        self, description=None, setup_future_usage=None, return_url=None, **kwargs
    ):
        create_intent(self, **kwargs)
        self.description = description
        self.setup_future_usage = setup_future_usage

    resources.PaymentIntent.__init__ = accept_unmodelled

    recorded: list[dict[str, Any]] = []

    @web.middleware
    async def record(request: web.Request, handler):
        if request.path.startswith("/v1/"):
            body = (await request.read()).decode("utf-8", "replace")
            recorded.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "idempotency_key": request.headers.get("Idempotency-Key"),
                    "params": dict(parse_qsl(body)) if request.method == "POST" else {},
                }
            )
        return await handler(request)

    async def list_recorded(request: web.Request) -> web.Response:
        return web.json_response(recorded, dumps=json.dumps)

    server.app.middlewares.insert(0, record)
    server.app.router.add_get("/_config/requests", list_recorded)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    _serve()
