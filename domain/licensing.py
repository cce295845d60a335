"""License policy: keys, activation and verification decisions, and the payloads we sign.

Everything here is pure: the caller reads the license and its activations (under a row lock
when activating, so ``max_instances`` holds under concurrency), passes them in as
``LicenseFacts`` with the current time, and acts on the decision.

**Keys** look like ``FVM-7Q2KD-…`` (six groups of five): 29 random Crockford base32 symbols
(145 bits from ``secrets``) and one check symbol. The alphabet has no I, L, O or U; when
reading, ``O`` is taken for ``0`` and ``I``/``L`` for ``1``. The check symbol is a weighted
sum over GF(32) with distinct weights for all 30 positions, so *every* single-symbol typo
and *every* swap of two different symbols is caught (not just most of them).

A key is stored only as ``license_key_hash``: SHA-256 of the normalized key, unsalted. Salt
and slow hashes protect guessable secrets (passwords) against dictionary and precomputed
attacks; a 145-bit random key has no dictionary, and brute force over 2**145 is out of
reach at any hash speed. An unsalted hash keeps the lookup one equality on a unique index,
which the verify hot path needs. Keys are never logged or signed in full: ``mask_license_key``
shows the last group only, and ``DomainError`` details never quote the key.

**Answer codes**, checked in this order (the first that applies wins):

========================== ==============================================================
``NOT_FOUND``              no license has this key
``REVOKED``                the license was revoked (refund, fraud, admin)
``CANCELLED``              the license was cancelled and has ended (a subscription cancelled
                           *at period end* stays ``active`` until then, so it can be resumed)
``EXPIRED``                status ``expired``, or ``now >= expires_at``
``DOMAIN_MISMATCH``        ``instance_domains`` is set and the domain is not in it, or the
                           instance was activated for another domain
``NOT_ACTIVATED``          this instance holds no activation, and a seat is free (deactivate:
                           this instance holds no seat to free)
``TOO_MANY_INSTANCES``     this instance holds no activation and every seat is taken, or it
                           holds one beyond ``max_instances`` (the limit was lowered after it
                           activated: the oldest activations keep the seats)
``ACTIVATION_CHURN_LIMIT`` activate only: a seat is free, but the license already served
                           ``max_instances + extra_instances`` instances in the churn window
                           (``ChurnPolicy``)
``VALID``                  none of the above: the instance may run
``DEACTIVATED``            deactivate only: the seat is freed
``INVALID_SIGNATURE``      never from the server: what an instance concludes when a signed
                           answer or an offline license file does not verify
``REPLAYED``               never from the server: the signed document names another license
                           key or instance, or echoes another nonce than the one sent
========================== ==============================================================

**Domains** are compared as IDNA (UTS 46, IDNA 2008) A-labels, lower-case, without port or
trailing dot. An ``instance_domains`` entry is an exact host or ``*.example.com``, which
matches every name under ``example.com`` at any depth, but not ``example.com`` itself. An
activation records its instance's domain, and binds it: the same instance asking for
another domain is ``DOMAIN_MISMATCH``; moving an instance means deactivating and activating
again, which the churn limit counts.

**Churn**: seats alone do not stop one key from serving many instances (deactivate one,
activate another, and the first keeps its cached answer until ``valid_until``). An
instance-and-domain pair stays *in use* while it holds a seat, for ``ChurnPolicy.window``
after it gave the seat up, and while any answer or offline file it was given is still
valid. A new pair may activate only while fewer than ``max_instances + extra_instances``
pairs are in use, so at any moment at most that many instances hold a usable answer.

**Signed payloads** (``LicenseAnswer``, ``OfflineLicense``, contract ``CONTRACT``) are
signed over ``canonical_bytes``: JSON with sorted keys, no whitespace, UTF-8 (not ASCII
escapes), datetimes as ISO 8601 in UTC with a ``Z`` (microseconds only when non-zero), no
floats. Each carries a ``kind``, so a signature made for one kind of document can never be
passed off as the other, the ``contract`` version and the ``key_id`` of the key that signed
it. They bind the license by ``license_key_sha256`` (what the instance can compute from its
key; the full key is never signed) and the instance by ``instance_id`` and ``domain``.
"""

import hashlib
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple

import idna
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.errors import DomainError
from domain.manifest import DisplayName, TechnicalName, VersionRange

# --- license keys ------------------------------------------------------------------------

KEY_PREFIX = "FVM"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32: digits and letters without I, L, O and U."""
GROUPS = 6
GROUP_SIZE = 5
SYMBOLS = GROUPS * GROUP_SIZE
RANDOM_SYMBOLS = SYMBOLS - 1
RANDOM_BITS = RANDOM_SYMBOLS * 5
"""145 bits of randomness per key."""
MAX_KEY_INPUT = 100
"""Longer input is refused before any work is done on it."""
MASK_GROUP = "*" * GROUP_SIZE

_VALUE = {symbol: index for index, symbol in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_GF32_POLY = 0b100101
"""x^5 + x^2 + 1, primitive: powers of x run through all 31 non-zero elements of GF(32)."""
_MALFORMED = "malformed_license_key"
MASKED_KEY_PATTERN = (
    rf"^{KEY_PREFIX}(?:-\*{{{GROUP_SIZE}}}){{{GROUPS - 1}}}-[{ALPHABET}]{{{GROUP_SIZE}}}$"
)


def _check_symbol(values: list[int]) -> int:
    """``sum(values[i] * x**(i + 1))`` over GF(32), by Horner's rule.

    With the check symbol itself at weight ``x**0``, the 30 positions have 30 distinct
    weights, all below the order (31) of ``x``. A typo at one position changes the sum by
    ``error * weight`` (never zero in a field); swapping the symbols ``a != b`` at two
    positions changes it by ``(a ^ b) * (weight_i ^ weight_j)`` (never zero either).
    """
    total = 0
    for value in reversed(values):
        total ^= value
        total <<= 1  # times x
        if total & 0b100000:
            total ^= _GF32_POLY
    return total


def _format(symbols: str) -> str:
    groups = [symbols[i : i + GROUP_SIZE] for i in range(0, SYMBOLS, GROUP_SIZE)]
    return "-".join([KEY_PREFIX, *groups])


def new_license_key() -> str:
    """A fresh key: ``FVM-`` and six groups of five symbols, the last symbol a check."""
    number = secrets.randbits(RANDOM_BITS)
    values = [(number >> (5 * i)) & 0b11111 for i in range(RANDOM_SYMBOLS)]
    values.append(_check_symbol(values))
    return _format("".join(ALPHABET[value] for value in values))


def normalize_license_key(text: str) -> str:
    """The canonical form of a key as a person may type it.

    Case, spaces and dashes do not matter, the ``FVM`` prefix may be left out, ``O`` reads
    as ``0`` and ``I``/``L`` as ``1``. Anything else, or a check symbol that does not match
    (a typo), is ``DomainError("malformed_license_key")``.
    """
    if not isinstance(text, str) or len(text) > MAX_KEY_INPUT or not text.isascii():
        raise DomainError(_MALFORMED, "a license key looks like FVM-XXXXX-XXXXX-…")
    compact = "".join(text.split()).replace("-", "").upper().translate(_ALIASES)
    if len(compact) == len(KEY_PREFIX) + SYMBOLS and compact.startswith(KEY_PREFIX):
        compact = compact[len(KEY_PREFIX) :]
    if len(compact) != SYMBOLS or any(symbol not in _VALUE for symbol in compact):
        raise DomainError(
            _MALFORMED,
            f"a license key is {KEY_PREFIX} and {GROUPS} groups of {GROUP_SIZE} characters",
        )
    values = [_VALUE[symbol] for symbol in compact]
    if _check_symbol(values[:-1]) != values[-1]:
        raise DomainError(_MALFORMED, "the license key has a typo (its check character differs)")
    return _format(compact)


def license_key_hash(key: str) -> str:
    """The lookup key stored instead of the license key: SHA-256 hex of its canonical form.

    Unsalted on purpose: see the module documentation.
    """
    return hashlib.sha256(normalize_license_key(key).encode()).hexdigest()


def mask_license_key(key: str) -> str:
    """``FVM-*****-*****-*****-*****-*****-7Q2KD``: only the last group is shown (it holds
    20 of the 145 random bits and the check symbol)."""
    last = normalize_license_key(key).rsplit("-", 1)[1]
    return "-".join([KEY_PREFIX, *[MASK_GROUP] * (GROUPS - 1), last])


MaskedKey = Annotated[str, StringConstraints(pattern=MASKED_KEY_PATTERN)]
"""A masked key: a signed payload can never carry a full key."""


# --- domains -----------------------------------------------------------------------------

MAX_DOMAIN_INPUT = 300
_INVALID_DOMAIN = "invalid_domain"
_PORT = re.compile(r":([0-9]{1,5})$")


@lru_cache(maxsize=4096)
def _host(text: str) -> str:
    """``text`` as a lower-case A-label host, IPv4 or ``[IPv6]``; ValueError if it is none."""
    text = text.strip()
    if not text or len(text) > MAX_DOMAIN_INPUT:
        raise ValueError("empty or too long")
    if text.startswith("["):  # [IPv6] or [IPv6]:port
        literal, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not _valid_port(_PORT.fullmatch(rest))):
            raise ValueError("bad IPv6 literal")
        return f"[{ipaddress.IPv6Address(literal).compressed}]"
    if port := _PORT.search(text):
        if not _valid_port(port):
            raise ValueError("bad port")
        text = text[: port.start()]
    text = text.removesuffix(".")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    # UTS 46 maps case and width (so "BÜCHER.de" and "bücher.de" agree); IDNA 2008 then
    # refuses spaces, underscores, empty labels, bad hyphens and labels over 63 octets.
    host = idna.encode(text, uts46=True).decode("ascii")
    if len(host) > 253 or host.endswith("."):
        raise ValueError("longer than 253 octets, or an empty label")
    return host


def _valid_port(match: re.Match[str] | None) -> bool:
    return match is not None and int(match[1]) <= 65535


def normalize_domain(text: str) -> str:
    """An instance's host as compared and stored: IDNA A-label, lower case, no port and no
    trailing dot (``Bücher.DE:8443`` → ``xn--bcher-kva.de``). IP addresses are kept as
    addresses. ``DomainError("invalid_domain")`` for anything else (URLs, wildcards…)."""
    try:
        if not isinstance(text, str):
            raise ValueError("not text")
        return _host(text)
    except (ValueError, UnicodeError):
        raise DomainError(
            _INVALID_DOMAIN, "a domain is a host name such as shop.example.com"
        ) from None


def normalize_domain_pattern(text: str) -> str:
    """An ``instance_domains`` entry: a host as in ``normalize_domain``, or ``*.`` and a
    host name (not an address), which matches the names under it but not the name itself."""
    if isinstance(text, str) and text.strip().startswith("*."):
        base = normalize_domain(text.strip()[2:])
        if base.startswith("[") or _is_ipv4(base):
            raise DomainError(_INVALID_DOMAIN, "a wildcard covers the names under a host name")
        return f"*.{base}"
    return normalize_domain(text)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _pattern_or_none(pattern: str) -> str | None:
    try:
        return normalize_domain_pattern(pattern)
    except DomainError:
        return None


def domain_allowed(allowed: list[str], domain: str | None) -> bool:
    """Whether ``domain`` satisfies an ``instance_domains`` list (empty: anything goes).

    Fails closed: with a list, an unknown or malformed domain is refused, and an entry that
    does not parse matches nothing.
    """
    if not allowed:
        return True
    if domain is None:
        return False
    try:
        host = normalize_domain(domain)
    except DomainError:
        return False
    for entry in allowed:
        pattern = _pattern_or_none(entry)
        if pattern is None:
            continue
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):  # ".example.com": a true subdomain, not the apex
                return True
        elif host == pattern:
            return True
    return False


# --- licenses and activations ------------------------------------------------------------

INSTANCE_ID_PATTERN = r"^[!-~]{1,64}$"
"""1 to 64 printable ASCII characters without spaces (the activation column is 64 wide)."""
InstanceId = Annotated[str, StringConstraints(pattern=INSTANCE_ID_PATTERN)]
_instance_id_re = re.compile(INSTANCE_ID_PATTERN)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
"""Timezone-aware (naive datetimes are refused), kept in UTC."""


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


class LicenseStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REVOKED = "revoked"


class VerifyCode(StrEnum):
    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"
    NOT_ACTIVATED = "NOT_ACTIVATED"
    TOO_MANY_INSTANCES = "TOO_MANY_INSTANCES"
    DOMAIN_MISMATCH = "DOMAIN_MISMATCH"
    ACTIVATION_CHURN_LIMIT = "ACTIVATION_CHURN_LIMIT"
    DEACTIVATED = "DEACTIVATED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    REPLAYED = "REPLAYED"


CLIENT_ONLY_CODES = frozenset({VerifyCode.INVALID_SIGNATURE, VerifyCode.REPLAYED})
"""What an instance concludes about a document; the server never signs these."""


class Activation(NamedTuple):
    """One active activation. ``activated_at`` orders the seats when there are too many."""

    instance_id: str
    domain: str | None
    activated_at: UtcDatetime


class Release(NamedTuple):
    """A seat given up (a deactivated activation), for the churn limit."""

    instance_id: str
    domain: str | None
    deactivated_at: UtcDatetime
    answers_valid_until: UtcDatetime | None = None
    """The latest ``valid_until`` (or offline ``not_after``) of what it was given."""


@dataclass(frozen=True)
class ChurnPolicy:
    """How many instances one license may serve in a rolling window beyond its seats."""

    window: timedelta = timedelta(hours=24)
    extra_instances: int = 2

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.extra_instances < 0:
            raise ValueError("a churn window is positive and the extra instances at least 0")


class LicenseFacts(BaseModel):
    """What the policy needs to know about one license: its row and its *active*
    activations (deactivated ones are left out by the caller)."""

    model_config = ConfigDict(frozen=True)

    status: LicenseStatus
    expires_at: UtcDatetime | None = None
    max_instances: Annotated[int, Field(ge=1)] | None = 1
    """None: no limit."""
    instance_domains: list[str] = Field(default_factory=list)
    """Stored entries; ``normalize_domain_pattern`` checks them when they are written."""
    activations: list[Activation] = Field(default_factory=list)
    released: list[Release] = Field(default_factory=list)
    """Deactivated activations still in use for the churn limit (the caller may pass more:
    the policy filters them); only activation needs them."""

    def seat(self, instance_id: str) -> tuple[int, Activation] | None:
        """The instance's activation and its seat number (0 = oldest), or None."""
        ordered = sorted(self.activations, key=lambda activation: activation.activated_at)
        for number, activation in enumerate(ordered):
            if activation.instance_id == instance_id:
                return number, activation
        return None

    def seats_full(self) -> bool:
        return self.max_instances is not None and len(self.activations) >= self.max_instances

    def holds_seat(self, seat_number: int) -> bool:
        return self.max_instances is None or seat_number < self.max_instances


def _license_state(facts: LicenseFacts, now: datetime) -> VerifyCode | None:
    """REVOKED, CANCELLED or EXPIRED when the license as a whole is unusable."""
    _require_aware(now)
    if facts.status is LicenseStatus.REVOKED:
        return VerifyCode.REVOKED
    if facts.status is LicenseStatus.CANCELLED:
        return VerifyCode.CANCELLED
    if facts.status is LicenseStatus.EXPIRED or (
        facts.expires_at is not None and now >= facts.expires_at
    ):
        return VerifyCode.EXPIRED
    return None


def _reported_host(domain: str | None) -> str | None:
    """The reported domain normalized, or None when absent or malformed."""
    if domain is None:
        return None
    try:
        return normalize_domain(domain)
    except DomainError:
        return None


def decide_verification(
    facts: LicenseFacts | None, instance_id: str, domain: str | None, now: datetime
) -> VerifyCode:
    """The code a verify request gets (order in the module documentation).

    ``domain`` is what the instance reports; when it reports none, the domain recorded at
    activation is checked. An instance activated for one domain that reports another is
    ``DOMAIN_MISMATCH``, and so is a malformed domain against a recorded one or a
    restriction; without either, a malformed domain is ignored: verify always answers.
    """
    if facts is None:
        return VerifyCode.NOT_FOUND
    if state := _license_state(facts, now):
        return state
    seat = facts.seat(instance_id)
    recorded = seat[1].domain if seat else None
    if domain is not None and recorded is not None and _reported_host(domain) != recorded:
        return VerifyCode.DOMAIN_MISMATCH
    checked = domain if domain is not None else recorded
    if (checked is not None or seat is not None) and not domain_allowed(
        facts.instance_domains, checked
    ):
        return VerifyCode.DOMAIN_MISMATCH
    if seat is None:
        return VerifyCode.TOO_MANY_INSTANCES if facts.seats_full() else VerifyCode.NOT_ACTIVATED
    if not facts.holds_seat(seat[0]):
        return VerifyCode.TOO_MANY_INSTANCES
    return VerifyCode.VALID


class ActivationOutcome(StrEnum):
    ACTIVATE = "activate"
    """Insert a new activation."""
    ALREADY_ACTIVE = "already_active"
    """The instance holds a seat already: nothing to insert (idempotent re-activation)."""
    DENIED = "denied"


@dataclass(frozen=True)
class ActivationDecision:
    outcome: ActivationOutcome
    code: VerifyCode
    """VALID when allowed, else why not."""
    domain: str | None = None
    """The normalized domain to record (for ALREADY_ACTIVE: to record on an activation
    made before domains were bound, which has none)."""

    @property
    def allowed(self) -> bool:
        return self.outcome is not ActivationOutcome.DENIED


def _denied(code: VerifyCode) -> ActivationDecision:
    return ActivationDecision(ActivationOutcome.DENIED, code)


def instances_in_use(
    facts: LicenseFacts, now: datetime, policy: ChurnPolicy
) -> set[tuple[str, str | None]]:
    """The instance-and-domain pairs the churn limit counts: every seat held now, every seat
    given up within ``policy.window``, and every one whose answers are still valid."""
    _require_aware(now)
    used = {(a.instance_id, a.domain) for a in facts.activations}
    for release in facts.released:
        recent = now - release.deactivated_at < policy.window
        answered = release.answers_valid_until is not None and release.answers_valid_until > now
        if recent or answered:
            used.add((release.instance_id, release.domain))
    return used


def churn_allows(
    facts: LicenseFacts,
    instance_id: str,
    domain: str | None,
    now: datetime,
    policy: ChurnPolicy,
) -> bool:
    """Whether a *new* activation of ``instance_id`` for ``domain`` stays within the churn
    limit: the pair is in use already (re-activating what was just deactivated adds no
    instance), or fewer than ``max_instances + extra_instances`` pairs are. No limit on a
    license without a seat limit."""
    if facts.max_instances is None:
        return True
    used = instances_in_use(facts, now, policy)
    return (instance_id, domain) in used or len(used) < (
        facts.max_instances + policy.extra_instances
    )


def decide_activation(
    facts: LicenseFacts | None,
    instance_id: str,
    domain: str | None,
    now: datetime,
    policy: ChurnPolicy | None = None,
) -> ActivationDecision:
    """Whether ``instance_id`` may activate (or re-activate) the license for ``domain``.

    Same order as verification, then the churn limit for a new seat. Unlike
    verification, a malformed instance id or domain is an input error:
    ``DomainError("invalid_instance_id" | "invalid_domain")``. With ``instance_domains``
    set, a domain is required. An active instance keeps its domain: asking again for
    another one is ``DOMAIN_MISMATCH`` (deactivate, then activate for the new domain).
    Call it with the license row locked and insert on ACTIVATE in the same transaction, so
    concurrent activations cannot overfill.
    """
    policy = policy or ChurnPolicy()
    if not isinstance(instance_id, str) or not _instance_id_re.fullmatch(instance_id):
        raise DomainError(
            "invalid_instance_id", "an instance id is 1 to 64 printable ASCII characters"
        )
    normalized = None if domain is None else normalize_domain(domain)
    if facts is None:
        return _denied(VerifyCode.NOT_FOUND)
    if state := _license_state(facts, now):
        return _denied(state)
    seat = facts.seat(instance_id)
    recorded = seat[1].domain if seat else None
    if recorded is not None:
        if normalized is not None and normalized != recorded:
            return _denied(VerifyCode.DOMAIN_MISMATCH)
        normalized = recorded  # re-activation without a domain keeps the recorded one
    if not domain_allowed(facts.instance_domains, normalized):
        return _denied(VerifyCode.DOMAIN_MISMATCH)
    if seat is not None:
        if not facts.holds_seat(seat[0]):
            return _denied(VerifyCode.TOO_MANY_INSTANCES)
        return ActivationDecision(ActivationOutcome.ALREADY_ACTIVE, VerifyCode.VALID, normalized)
    if facts.seats_full():
        return _denied(VerifyCode.TOO_MANY_INSTANCES)
    if not churn_allows(facts, instance_id, normalized, now, policy):
        return _denied(VerifyCode.ACTIVATION_CHURN_LIMIT)
    return ActivationDecision(ActivationOutcome.ACTIVATE, VerifyCode.VALID, normalized)


def answer_valid_until(
    issued_at: datetime, expires_at: datetime | None, cache_for: timedelta
) -> datetime:
    """How long an instance may trust a cached answer: ``cache_for``, but never past the
    license's expiry."""
    until = issued_at + cache_for
    return until if expires_at is None else min(until, expires_at)


def offline_not_after(
    now: datetime,
    lifetime: timedelta,
    *,
    expires_at: datetime | None,
    refundable_until: datetime | None,
) -> datetime:
    """When an offline license file issued ``now`` stops: after ``lifetime``, never past
    the license's expiry, and never past the end of the refund window while the buyer can
    still refund (a refund revokes the license, and a file cannot be called back).

    ``refundable_until``: ``paid_at + refund window`` of the order that issued the license
    (None: nothing to refund, e.g. a free license or a trial). Once it has passed, only an
    admin can refund, and the file keeps its full lifetime.
    """
    _require_aware(now)
    not_after = now + lifetime
    if expires_at is not None:
        not_after = min(not_after, expires_at)
    if refundable_until is not None and now < refundable_until:
        not_after = min(not_after, refundable_until)
    return not_after


# --- signed payloads ---------------------------------------------------------------------

CONTRACT: Literal[2] = 2
"""The version of the signed answer and offline file format (README, "License answers")."""
NONCE_MIN, NONCE_MAX = 16, 128
NONCE_PATTERN = rf"^[!-~]{{{NONCE_MIN},{NONCE_MAX}}}$"
_nonce_chars = re.compile(r"^[!-~]*$")


def _check_nonce(value: Any) -> Any:
    """Named problems for a nonce (what is not a string is left to the type check)."""
    if isinstance(value, str):
        if not _nonce_chars.fullmatch(value):
            raise PydanticCustomError("invalid_nonce", "a nonce is printable ASCII without spaces")
        if len(value) < NONCE_MIN:
            raise PydanticCustomError(
                "nonce_too_short",
                "a nonce has at least {minimum} characters (send 16 random bytes, encoded)",
                {"minimum": NONCE_MIN},
            )
        if len(value) > NONCE_MAX:
            raise PydanticCustomError(
                "nonce_too_long", "a nonce has at most {maximum} characters", {"maximum": NONCE_MAX}
            )
    return value


Nonce = Annotated[
    str,
    StringConstraints(min_length=NONCE_MIN, max_length=NONCE_MAX, pattern=NONCE_PATTERN),
    BeforeValidator(_check_nonce),
]
"""16 to 128 printable ASCII characters without spaces, fresh for every request."""
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
KeySha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _host_name(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return normalize_domain(value)
    except DomainError as error:
        raise PydanticCustomError(_INVALID_DOMAIN, "{detail}", {"detail": error.detail}) from None


InstanceDomain = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_DOMAIN_INPUT), BeforeValidator(_host_name)
]
"""An instance's host, normalized as ``normalize_domain`` does; a 422 of type
``invalid_domain`` for anything else."""


class Operation(StrEnum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    VERIFY = "verify"


class AnswerStatus(StrEnum):
    GRANTED = "granted"
    """``VALID``: the instance may run until ``valid_until``."""
    REFUSED = "refused"
    """Any other code from activate or verify: the instance may not run on this answer."""
    RELEASED = "released"
    """``DEACTIVATED``: the seat is freed."""


def answer_status(code: VerifyCode) -> AnswerStatus:
    if code is VerifyCode.VALID:
        return AnswerStatus.GRANTED
    if code is VerifyCode.DEACTIVATED:
        return AnswerStatus.RELEASED
    return AnswerStatus.REFUSED


class _Signed(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )


class LicenseAnswer(_Signed):
    """The signed answer to activate, deactivate and verify, refusals included.

    Only a ``granted`` answer (code ``VALID``) lets an instance run, and only until
    ``valid_until``; a refused or released answer has ``valid_until == issued_at``.
    ``module``/``module_slug`` are None only for ``NOT_FOUND``; ``allowed_versions`` is a
    PEP 440 range of module versions (None: all); ``expires_at`` None: never expires."""

    kind: Literal["license_answer"] = "license_answer"
    contract: Literal[2] = CONTRACT
    key_id: KeyId
    """The signing key, inside the signed text."""
    operation: Operation
    status: AnswerStatus
    code: VerifyCode
    license_key: MaskedKey
    """For people: the last group of the key."""
    license_key_sha256: KeySha256
    """SHA-256 (hex) of the canonical key: what binds the answer to the license."""
    module: TechnicalName | None
    module_slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,200}$")] | None
    allowed_versions: VersionRange | None = None
    expires_at: UtcDatetime | None = None
    instance_id: InstanceId
    domain: InstanceDomain
    nonce: Nonce
    """Echoed from the request, so the instance knows the answer is fresh and its own."""
    issued_at: UtcDatetime
    valid_until: UtcDatetime

    @model_validator(mode="after")
    def _consistent(self) -> "LicenseAnswer":
        if self.valid_until < self.issued_at:
            raise ValueError("valid_until is before issued_at")
        if self.code in CLIENT_ONLY_CODES:
            raise ValueError(f"{self.code} is never signed")
        if self.status is not answer_status(self.code):
            raise ValueError(f"status {self.status} does not go with code {self.code}")
        if self.status is not AnswerStatus.GRANTED and self.valid_until != self.issued_at:
            raise ValueError("only a granted answer is valid past its issue")
        if self.code not in CODES_OF[self.operation]:
            raise ValueError(f"{self.operation} does not answer {self.code}")
        return self


_SERVER_CODES = frozenset(VerifyCode) - CLIENT_ONLY_CODES
CODES_OF = {
    Operation.ACTIVATE: _SERVER_CODES - {VerifyCode.DEACTIVATED, VerifyCode.NOT_ACTIVATED},
    Operation.VERIFY: _SERVER_CODES - {VerifyCode.DEACTIVATED, VerifyCode.ACTIVATION_CHURN_LIMIT},
    Operation.DEACTIVATE: frozenset(
        {VerifyCode.DEACTIVATED, VerifyCode.NOT_FOUND, VerifyCode.NOT_ACTIVATED}
    ),
}
"""The codes each operation answers with."""


class OfflineLicense(_Signed):
    """A signed, time-limited license file for one air-gapped instance, checked with the
    public key alone: bound to the license key (``license_key_sha256``), the instance and
    its domain; ``key_id`` names the signing key inside the signed text."""

    kind: Literal["offline_license"] = "offline_license"
    contract: Literal[2] = CONTRACT
    key_id: KeyId
    license_id: Annotated[int, Field(ge=1)]
    license_key: MaskedKey
    license_key_sha256: KeySha256
    module: TechnicalName
    module_slug: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,200}$")]
    licensee: DisplayName
    instance_id: InstanceId
    domain: InstanceDomain
    issued_at: UtcDatetime
    not_after: UtcDatetime

    @model_validator(mode="after")
    def _times(self) -> "OfflineLicense":
        if self.not_after <= self.issued_at:
            raise ValueError("not_after must be after issued_at")
        return self


SignedDocument = LicenseAnswer | OfflineLicense
_signed_adapter: TypeAdapter[SignedDocument] = TypeAdapter(
    Annotated[SignedDocument, Field(discriminator="kind")]
)


def format_utc(value: datetime) -> str:
    """ISO 8601 in UTC with ``Z``; microseconds only when there are some."""
    _require_aware(value)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    raise TypeError(f"{type(value).__name__} has no canonical form (floats are not allowed)")


def canonical_json(document: BaseModel) -> str:
    """The text that is signed: sorted keys, no whitespace, datetimes as UTC ``Z``."""
    return json.dumps(
        _plain(document.model_dump(mode="python")),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def canonical_bytes(document: BaseModel) -> bytes:
    """``canonical_json`` in UTF-8: the exact bytes the Ed25519 signature covers."""
    return canonical_json(document).encode("utf-8")


def parse_signed_payload(text: str | bytes) -> SignedDocument:
    """A signed payload back as its model, chosen by ``kind``;
    ``DomainError("malformed_signed_payload")`` if it is not one (another contract
    version included)."""
    try:
        return _signed_adapter.validate_json(text)
    except ValidationError:
        raise DomainError(
            "malformed_signed_payload", "not a license answer or offline license"
        ) from None


def check_license_answer(
    answer: LicenseAnswer | None,
    now: datetime,
    *,
    key: str,
    instance_id: str,
    domain: str,
    nonce: str | None,
) -> VerifyCode:
    """What an instance concludes from a signed answer (the reference rule of the contract).

    ``answer`` is None when its signature did not verify with a published key (or the
    payload is no contract answer): ``INVALID_SIGNATURE``. ``nonce`` is the one the
    instance just sent, or None when it re-reads an answer it cached (it checked the nonce
    when the answer arrived). Then: another key, instance or nonce is ``REPLAYED``; another
    domain ``DOMAIN_MISMATCH``; a granted answer past ``valid_until`` ``EXPIRED``; else
    the answer's own code. Only ``VALID`` lets the instance run.
    """
    _require_aware(now)
    if answer is None:
        return VerifyCode.INVALID_SIGNATURE
    if (
        answer.license_key_sha256 != license_key_hash(key)
        or answer.instance_id != instance_id
        or (nonce is not None and answer.nonce != nonce)
    ):
        return VerifyCode.REPLAYED
    if _reported_host(domain) != answer.domain:
        return VerifyCode.DOMAIN_MISMATCH
    if answer.status is AnswerStatus.GRANTED and now >= answer.valid_until:
        return VerifyCode.EXPIRED
    return answer.code


def check_offline_license(
    doc: OfflineLicense | None,
    now: datetime,
    *,
    key: str,
    instance_id: str,
    domain: str,
) -> VerifyCode:
    """What an instance concludes from an offline license file: INVALID_SIGNATURE (None:
    the signature did not verify), REPLAYED for another key or instance, DOMAIN_MISMATCH
    for another domain, EXPIRED from ``not_after`` on, else VALID. (Seats cannot be
    counted offline: the server counted this instance's when it issued the file.)"""
    _require_aware(now)
    if doc is None:
        return VerifyCode.INVALID_SIGNATURE
    if doc.license_key_sha256 != license_key_hash(key) or doc.instance_id != instance_id:
        return VerifyCode.REPLAYED
    if _reported_host(domain) != doc.domain:
        return VerifyCode.DOMAIN_MISMATCH
    if now >= doc.not_after:
        return VerifyCode.EXPIRED
    return VerifyCode.VALID


def license_covers_version(
    status: LicenseStatus,
    expires_at: datetime | None,
    version_published_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether a license lets its holder download a version.

    A live license covers every version. One that has ended (expired, or cancelled at the
    end of its period) still covers the versions released while it was valid; a revoked
    license (refund, fraud) covers nothing.
    """
    _require_aware(now)
    if status is LicenseStatus.REVOKED:
        return False
    live = status is LicenseStatus.ACTIVE and (expires_at is None or now < expires_at)
    if live:
        return True
    if expires_at is None or version_published_at is None:
        return False
    return version_published_at <= expires_at
