"""The license client an installed FastVue instance runs.

::

    trust = TrustStore(load_public_keys(Path("marketplace-keys.pem").read_text()),
                       learned_path=Path("/var/lib/fastvue/license-keys.json"))
    client = LicenseClient(
        "https://marketplace.example.com",
        Instance(license_key, instance_id="shop-1", domain="shop.example.com",
                 module="fastvue_crm"),
        trust=trust,
        cache=AnswerCache(Path("/var/lib/fastvue/license-answer.json")),
    )
    await client.activate()          # once, when the license is entered
    result = await client.check()    # on start and every few hours
    if not result.valid: ...

``check`` asks the marketplace with a fresh nonce and keeps a granted answer in the cache;
when the marketplace cannot be reached (network, 5xx, 429) it falls back to the cached
answer until that answer's ``valid_until`` (plus ``clock_skew``). Anything signed wrongly,
for another instance or domain, or not echoing the nonce is refused, and never makes the
client fall back to the cache: only silence does.
"""

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import httpx

from fastvue_license.answers import (
    ANSWER_KINDS,
    CONTRACTS,
    OFFLINE_KINDS,
    Answer,
    Instance,
    OfflineLicense,
)
from fastvue_license.cache import AnswerCache
from fastvue_license.documents import envelope_parts, open_envelope
from fastvue_license.errors import (
    LicenseError,
    MalformedDocument,
    RequestRefused,
    ServerUnreachable,
    UnknownKey,
)
from fastvue_license.keys import TrustStore

__all__ = ["LicenseClient", "LicenseResult", "new_nonce", "read_offline_license"]

USER_AGENT = "fastvue-license/0.1"
LICENSES = "/api/v1/marketplace/licenses"
Source = Literal["online", "cache", "offline_file", "none"]
Operation = Literal["activate", "verify", "deactivate"]


def new_nonce() -> str:
    """32 URL-safe characters from 24 random bytes: fresh for every request."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class LicenseResult:
    """What the instance may conclude. ``valid`` is the only thing to act on; ``code`` is
    the marketplace's code (``VALID``, ``REVOKED``…) or the client's (``INVALID_SIGNATURE``,
    ``REPLAYED``, ``DOMAIN_MISMATCH``, ``EXPIRED``, ``UNREACHABLE``, ``REQUEST_REFUSED``)."""

    valid: bool
    code: str
    source: Source
    detail: str
    answer: Answer | None = None
    offline_license: OfflineLicense | None = None

    @property
    def valid_until(self) -> datetime | None:
        if self.answer is not None:
            return self.answer.valid_until
        if self.offline_license is not None:
            return self.offline_license.not_after
        return None

    @classmethod
    def failed(cls, error: LicenseError, source: Source) -> "LicenseResult":
        return cls(False, error.code, source, error.detail)


class LicenseClient:
    def __init__(
        self,
        api_url: str,
        instance: Instance,
        *,
        trust: TrustStore,
        cache: AnswerCache | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
        clock_skew: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.instance = instance
        self.trust = trust
        self.cache = cache
        self._http = http
        self.timeout = timeout
        self.clock_skew = clock_skew
        self.clock = clock

    # --- online ------------------------------------------------------------------------

    async def activate(self) -> LicenseResult:
        """Take (or confirm) this instance's seat; a grant is cached like a verify's."""
        return await self._online("activate")

    async def verify(self) -> LicenseResult:
        """Ask the marketplace now; no fallback (``UNREACHABLE`` when it does not answer)."""
        return await self._online("verify")

    async def deactivate(self) -> LicenseResult:
        """Give the seat up; the cache is cleared whatever the answer. ``valid`` is True
        when the seat was freed (code ``DEACTIVATED``)."""
        result = await self._online("deactivate")
        if result.source == "online" and self.cache is not None:
            self.cache.clear()
        return result

    async def check(self) -> LicenseResult:
        """Verify online; only when the marketplace does not answer, the cached answer."""
        result = await self._online("verify")
        if result.code != ServerUnreachable.code:
            return result
        cached = self.check_cached()
        return LicenseResult(
            cached.valid,
            cached.code,
            cached.source,
            f"marketplace unreachable ({result.detail}); {cached.detail}",
            cached.answer,
        )

    async def refresh_keys(self) -> set[str]:
        """Fetch the marketplace's key endorsements and trust the keys that keys already
        trusted endorsed (``keys`` module); the ids trusted now that were not before."""
        response = await self._send("GET", f"{LICENSES}/key-endorsements", None)
        if response.status_code != 200:
            return set()
        try:
            endorsements = response.json()
        except ValueError:
            return set()
        if not isinstance(endorsements, list):
            return set()
        return self.trust.accept_endorsements(endorsements)

    async def request(self, operation: Operation) -> tuple[Answer, Mapping[str, object]]:
        """One signed request: the verified answer, bound to this instance and to the nonce
        sent, and the envelope it came in. Raises a ``LicenseError``."""
        nonce = new_nonce()
        body = {
            "instance_id": self.instance.instance_id,
            "domain": self.instance.domain,
            "nonce": nonce,
        }
        key = quote(self.instance.license_key, safe="")
        response = await self._send("POST", f"{LICENSES}/{key}/{operation}", body)
        envelope = _envelope_of(response)
        answer = await self._open_answer(envelope)
        answer.check_bound_to(self.instance, nonce=nonce)
        if answer.operation != operation:
            raise MalformedDocument(f"a {answer.operation} answer came back for {operation}")
        if answer.granted:
            answer.check_current(self.clock(), self.clock_skew)
        return answer, envelope

    async def _online(self, operation: Operation) -> LicenseResult:
        try:
            answer, envelope = await self.request(operation)
        except LicenseError as error:
            return LicenseResult.failed(error, "online")
        if self.cache is not None:
            if answer.granted:
                self.cache.save(envelope)
            else:
                self.cache.clear()  # a genuine refusal for us: the old grant is void
        valid = answer.granted or (operation == "deactivate" and answer.status == "released")
        return LicenseResult(valid, answer.code, "online", _describe(answer), answer)

    async def _open_answer(self, envelope: Mapping[str, object]) -> Answer:
        try:
            return self._answer_of(envelope)
        except UnknownKey:
            if not await self.refresh_keys():
                raise
            return self._answer_of(envelope)

    def _answer_of(self, envelope: object) -> Answer:
        document, signer = open_envelope(
            envelope, self.trust.key, kinds=ANSWER_KINDS, contracts=CONTRACTS
        )
        return Answer.of(document, signer)

    async def _send(self, method: str, path: str, body: object) -> httpx.Response:
        url = self.api_url + path
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        try:
            if self._http is not None:
                response = await self._http.request(method, url, json=body, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise ServerUnreachable(f"{type(error).__name__}: {error}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise ServerUnreachable(f"the marketplace answered {response.status_code}")
        return response

    # --- offline -----------------------------------------------------------------------

    def check_cached(self, now: datetime | None = None) -> LicenseResult:
        """The cached answer, checked again in full: signature (pinned or endorsed keys),
        binding to this instance and domain, and ``valid_until`` plus the clock skew."""
        envelope = self.cache.load() if self.cache is not None else None
        if envelope is None:
            return LicenseResult(False, "NO_CACHED_ANSWER", "none", "no cached answer")
        try:
            answer = self._answer_of(envelope)
            answer.check_bound_to(self.instance, nonce=None)
            answer.check_current(now or self.clock(), self.clock_skew)
        except LicenseError as error:
            return LicenseResult.failed(error, "cache")
        return LicenseResult(
            answer.granted, answer.code, "cache", f"cached {_describe(answer)}", answer
        )

    def check_offline_file(self, path: Path, now: datetime | None = None) -> LicenseResult:
        """An offline license file (``GET /licenses/{key}/offline``) for this instance."""
        try:
            license_file = read_offline_license(
                path.read_text(encoding="utf-8"),
                self.trust,
                self.instance,
                now or self.clock(),
                clock_skew=self.clock_skew,
            )
        except OSError as error:
            return LicenseResult(False, "NO_LICENSE_FILE", "none", str(error))
        except LicenseError as error:
            return LicenseResult.failed(error, "offline_file")
        return LicenseResult(
            True,
            "VALID",
            "offline_file",
            f"offline license until {license_file.not_after.isoformat()}",
            offline_license=license_file,
        )


def read_offline_license(
    text: str,
    trust: TrustStore,
    instance: Instance,
    now: datetime,
    *,
    clock_skew: timedelta = timedelta(minutes=5),
) -> OfflineLicense:
    """The offline license file ``text`` (the signed envelope as downloaded), verified with
    the trusted keys alone and held to ``instance``; a ``LicenseError`` otherwise."""
    try:
        envelope = json.loads(text)
    except ValueError:
        raise MalformedDocument("an offline license file is a JSON signed document") from None
    document, signer = open_envelope(envelope, trust.key, kinds=OFFLINE_KINDS, contracts=CONTRACTS)
    license_file = OfflineLicense.of(document, signer)
    license_file.check_bound_to(instance)
    license_file.check_current(now, clock_skew)
    return license_file


def _envelope_of(response: httpx.Response) -> Mapping[str, object]:
    """The signed document in a response, whatever its status (refusals are signed too);
    ``RequestRefused`` for an unsigned error such as a malformed key."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        try:
            envelope_parts(body)
        except LicenseError:
            pass
        else:
            return body
    error = body.get("error") if isinstance(body, Mapping) else None
    detail = body.get("detail") if isinstance(body, Mapping) else None
    raise RequestRefused(
        f"the marketplace refused the request ({response.status_code} {error}: {detail})",
        response.status_code,
        error if isinstance(error, str) else None,
    )


def _describe(answer: Answer) -> str:
    until = f" until {answer.valid_until.isoformat()}" if answer.granted else ""
    return f"{answer.operation} {answer.status} {answer.code}{until} (key {answer.key_id})"
