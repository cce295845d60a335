"""One small async client for PayPal's REST API, shared by payments
(``integrations.payments.paypal_gateway``) and payouts (``integrations.payouts``).

What it does once for both:

- where PayPal is: live, sandbox, or ``api_base`` (tests: a local fake);
- an OAuth client-credentials token, cached until ``TOKEN_MARGIN_SECONDS`` before PayPal
  says it expires, fetched by one caller at a time, and fetched again once when PayPal
  answers 401 (revoked or expired early);
- timeouts, and retries of network errors and 5xx answers. A retried request is the very
  same request, with the same ``PayPal-Request-Id``: PayPal answers a request id it has
  seen with what the first request made, so a retried write never happens twice;
- one error mapping: ``PayPalUnavailable`` (unreachable, 5xx after the retries, 429, a
  token PayPal will not give or keeps refusing: retry later) and ``PayPalError`` (PayPal
  understood the request and refused it, 4xx: retrying the same request will not help),
  which each adapter turns into its own error types.

Secrets and tokens are never logged, and neither appears in ``repr``.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("marketplace.paypal")

PAYPAL_LIVE = "https://api-m.paypal.com"
PAYPAL_SANDBOX = "https://api-m.sandbox.paypal.com"
TOKEN_PATH = "/v1/oauth2/token"  # nosec B105  # the OAuth endpoint's path, not a secret
TIMEOUT_SECONDS = 30.0
TOKEN_MARGIN_SECONDS = 60
"""A cached token is replaced this long before PayPal says it expires."""
MAX_RETRIES = 2
"""Network errors and 5xx answers are tried again this many times (so 3 tries in all)."""
RETRY_BACKOFF_SECONDS = 0.2
"""The first wait before a retry; each further one doubles."""


class PayPalUnavailable(Exception):
    """PayPal could not be reached or did not answer usefully: retry later, same request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PayPalError(Exception):
    """PayPal refused the request (4xx). ``issue`` is PayPal's most specific error name:
    the first ``details[].issue``, else ``name``, else ``HTTP_{status}``. ``body`` is the
    whole answer (its ``links`` can point at an earlier resource)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        details = self.body.get("details")
        issue = None
        if isinstance(details, list) and details and isinstance(details[0], dict):
            issue = details[0].get("issue")
        self.name = str(self.body.get("name") or "") or None
        self.issue = str(issue or self.name or f"HTTP_{status}")
        self.message = str(self.body.get("message") or f"PayPal answered HTTP {status}")
        super().__init__(f"{self.issue}: {self.message}")


@dataclass
class _LoopState:
    """What cannot cross event loops: the connection pool and the token lock."""

    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    token_lock: asyncio.Lock


class PayPalClient:
    """PayPal's REST API with our credentials. Safe to share between adapters and tasks:
    one token cache, and one connection pool per event loop."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_base: str | None = None,
        sandbox: bool = False,
        timeout: float = TIMEOUT_SECONDS,
        max_retries: int = MAX_RETRIES,
        retry_backoff: float = RETRY_BACKOFF_SECONDS,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("PayPal needs a client id and secret")
        self.api_base = (api_base or (PAYPAL_SANDBOX if sandbox else PAYPAL_LIVE)).rstrip("/")
        self._credentials = (client_id, client_secret)
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_backoff = retry_backoff
        self._token: tuple[str, float] | None = None
        self._state: _LoopState | None = None

    def __repr__(self) -> str:
        return f"PayPalClient(api_base={self.api_base!r})"

    async def aclose(self) -> None:
        """Close the connection pool (of the running loop; another loop's pool is dropped)."""
        state, self._state = self._state, None
        if state is not None and state.loop is asyncio.get_running_loop():
            await state.http.aclose()

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            self._state = _LoopState(
                loop,
                httpx.AsyncClient(base_url=self.api_base, timeout=self._timeout),
                asyncio.Lock(),
            )
        return self._state

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        request_id: str | None = None,
        prefer: str | None = None,
    ) -> Any:
        """Send one API request with a bearer token; the answer's JSON (None if it has no
        JSON) when PayPal says 2xx. ``request_id`` goes out as ``PayPal-Request-Id``, the
        same on every retry. Raises ``PayPalUnavailable`` or ``PayPalError``."""
        state = self._loop_state()
        headers = {"Accept": "application/json"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        if prefer is not None:
            headers["Prefer"] = prefer
        if content is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            token = await self._access_token(state)
            response = await self._send(
                state,
                method,
                path,
                json=json,
                content=content,
                headers=headers | {"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 401 or attempt:
                break
            self._forget(token)  # expired or revoked before we thought: one fresh token
        status = response.status_code
        if status >= 500 or status in (401, 429):
            raise PayPalUnavailable(f"PayPal answered HTTP {status}", status)
        body = _json(response)
        if status >= 400:
            raise PayPalError(status, body)
        return body

    async def _send(
        self, state: _LoopState, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """One request, tried again after a network error or a 5xx answer."""
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                response = await state.http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                if last:
                    raise PayPalUnavailable(
                        f"PayPal is unreachable: {type(error).__name__}"
                    ) from error
            except httpx.HTTPError as error:
                raise PayPalUnavailable(f"PayPal is unreachable: {type(error).__name__}") from error
            else:
                if response.status_code < 500 or last:
                    return response
            await asyncio.sleep(self._retry_backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _forget(self, token: str) -> None:
        if self._token is not None and self._token[0] == token:
            self._token = None

    async def _access_token(self, state: _LoopState) -> str:
        async with state.token_lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            response = await self._send(
                state,
                "POST",
                TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=self._credentials,
                headers={"Accept": "application/json"},
            )
            if response.status_code in (400, 401):
                log.error("PayPal refused the client credentials (HTTP %s)", response.status_code)
                raise PayPalUnavailable("PayPal refused the client credentials", 401)
            if response.status_code != 200:
                raise PayPalUnavailable(
                    f"PayPal token endpoint answered HTTP {response.status_code}",
                    response.status_code,
                )
            try:
                answer = response.json()
                token, lifetime = str(answer["access_token"]), int(answer["expires_in"])
            except (ValueError, KeyError, TypeError) as error:
                raise PayPalUnavailable(
                    "PayPal token endpoint answered something unusable"
                ) from error
            self._token = (token, time.monotonic() + lifetime - TOKEN_MARGIN_SECONDS)
            return token


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
