"""License policy in ``domain/licensing.py``, table by table, without a database: key format,
typo detection and hashing; verification codes and activation decisions; domain matching
and binding; the churn limit; the canonical bytes that get signed, and what an instance
concludes from a signed answer or offline file."""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from domain import licensing
from domain.errors import DomainError
from domain.licensing import (
    ALPHABET,
    CLIENT_ONLY_CODES,
    CODES_OF,
    MASKED_KEY_PATTERN,
    Activation,
    ActivationOutcome,
    ChurnPolicy,
    LicenseAnswer,
    LicenseFacts,
    OfflineLicense,
    Operation,
    Release,
    VerifyCode,
    answer_valid_until,
    canonical_bytes,
    canonical_json,
    check_license_answer,
    check_offline_license,
    decide_activation,
    decide_verification,
    domain_allowed,
    instances_in_use,
    license_key_hash,
    mask_license_key,
    new_license_key,
    normalize_domain,
    normalize_domain_pattern,
    normalize_license_key,
    offline_not_after,
    parse_signed_payload,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
KEY_FORMAT = re.compile(rf"^FVM(?:-[{ALPHABET}]{{5}}){{6}}$")


# --- an independent reference for the check symbol ---------------------------------------


def _gf32_mul(a: int, b: int) -> int:
    """Carry-less multiplication modulo x^5 + x^2 + 1, written out the long way."""
    product = 0
    for bit in range(5):
        if (b >> bit) & 1:
            product ^= a << bit
    for bit in range(8, 4, -1):
        if (product >> bit) & 1:
            product ^= 0b100101 << (bit - 5)
    return product


def _reference_check(symbols: str) -> str:
    total, weight = 0, 1
    for symbol in symbols:
        weight = _gf32_mul(weight, 2)  # position i has weight x^(i+1)
        total ^= _gf32_mul(ALPHABET.index(symbol), weight)
    return ALPHABET[total]


def _key(random_part: str) -> str:
    """A well-formed key with these 29 symbols, its check computed by the reference."""
    assert len(random_part) == 29
    symbols = random_part + _reference_check(random_part)
    return "FVM-" + "-".join(symbols[i : i + 5] for i in range(0, 30, 5))


ALL_SYMBOLS_KEY = _key("0123456789ABCDEFGHJKMNPQRSTVW")
ZERO_KEY = "FVM-00000-00000-00000-00000-00000-00000"


def _malformed(text) -> DomainError:
    with pytest.raises(DomainError) as raised:
        normalize_license_key(text)
    assert raised.value.code == "malformed_license_key"
    return raised.value


# --- keys --------------------------------------------------------------------------------


def test_new_keys_are_well_formed_distinct_and_use_every_position():
    keys = [new_license_key() for _ in range(300)]

    assert len(set(keys)) == len(keys)
    for key in keys:
        assert KEY_FORMAT.fullmatch(key), key
        assert normalize_license_key(key) == key
        compact = key.replace("-", "")[3:]
        assert compact[-1] == _reference_check(compact[:-1])
    # Every random position varies (300 draws from 32 symbols: a stuck or narrow position
    # would show up; the chance of fewer than 20 distinct symbols by luck is nil).
    compact_keys = [key.replace("-", "")[3:] for key in keys]
    for position in range(29):
        assert len({key[position] for key in compact_keys}) >= 20, position


def test_key_randomness_comes_from_secrets_with_at_least_128_bits(monkeypatch):
    asked: list[int] = []

    def fake_randbits(bits: int) -> int:
        asked.append(bits)
        return (1 << bits) - 1

    monkeypatch.setattr(licensing.secrets, "randbits", fake_randbits)

    assert new_license_key() == _key("Z" * 29)
    assert asked == [145]
    assert asked[0] >= 128
    monkeypatch.setattr(licensing.secrets, "randbits", lambda bits: 0)
    assert new_license_key() == ZERO_KEY == _key("0" * 29)


def test_a_known_key_checks_against_the_reference():
    # Pins the algorithm: a changed polynomial or weight order breaks issued keys.
    assert ALL_SYMBOLS_KEY == "FVM-01234-56789-ABCDE-FGHJK-MNPQR-STVW3"
    assert normalize_license_key(ALL_SYMBOLS_KEY) == ALL_SYMBOLS_KEY


@pytest.mark.parametrize(
    "key", [ALL_SYMBOLS_KEY, ZERO_KEY, _key("Z" * 29), _key("7Q2KD" * 5 + "ABCD")]
)
def test_every_single_typo_is_caught(key):
    compact = key.replace("-", "")[3:]
    for position in range(30):
        for symbol in ALPHABET:
            if symbol == compact[position]:
                continue
            typo = compact[:position] + symbol + compact[position + 1 :]
            _malformed("FVM" + typo)


@pytest.mark.parametrize(
    "key", [ALL_SYMBOLS_KEY, _key("0Z" * 14 + "X"), _key("7Q2KD" * 5 + "ABCD")]
)
def test_every_swap_of_two_different_characters_is_caught(key):
    compact = list(key.replace("-", "")[3:])
    swaps = 0
    for i in range(30):
        for j in range(i + 1, 30):
            if compact[i] == compact[j]:
                continue
            swapped = compact.copy()
            swapped[i], swapped[j] = swapped[j], swapped[i]
            _malformed("FVM" + "".join(swapped))
            swaps += 1
    assert swaps > 200


NORMALIZES = [
    # id, as typed, canonical
    ("canonical", ALL_SYMBOLS_KEY, ALL_SYMBOLS_KEY),
    ("lower-case", ALL_SYMBOLS_KEY.lower(), ALL_SYMBOLS_KEY),
    ("no-dashes", ALL_SYMBOLS_KEY.replace("-", ""), ALL_SYMBOLS_KEY),
    ("spaces", ALL_SYMBOLS_KEY.replace("-", " "), ALL_SYMBOLS_KEY),
    ("padded", f"  {ALL_SYMBOLS_KEY}\n", ALL_SYMBOLS_KEY),
    ("tabs-and-odd-groups", "fvm 0123\t4567-89ab cdefghjkmnpqrstvw3", ALL_SYMBOLS_KEY),
    ("no-prefix", ALL_SYMBOLS_KEY[4:], ALL_SYMBOLS_KEY),
    ("no-prefix-compact", ALL_SYMBOLS_KEY[4:].replace("-", ""), ALL_SYMBOLS_KEY),
    ("O-for-zero", ALL_SYMBOLS_KEY.replace("0", "O"), ALL_SYMBOLS_KEY),
    ("o-for-zero", ALL_SYMBOLS_KEY.replace("0", "o"), ALL_SYMBOLS_KEY),
    ("I-for-one", ALL_SYMBOLS_KEY.replace("1", "I"), ALL_SYMBOLS_KEY),
    ("l-for-one", ALL_SYMBOLS_KEY.replace("1", "l"), ALL_SYMBOLS_KEY),
    ("L-for-one", ALL_SYMBOLS_KEY.replace("1", "L"), ALL_SYMBOLS_KEY),
    ("all-zero-as-O", ZERO_KEY.replace("0", "O"), ZERO_KEY),
]


@pytest.mark.parametrize(
    ("typed", "canonical"), [r[1:] for r in NORMALIZES], ids=[r[0] for r in NORMALIZES]
)
def test_typed_keys_normalize(typed, canonical):
    assert normalize_license_key(typed) == canonical
    assert license_key_hash(typed) == license_key_hash(canonical)
    assert mask_license_key(typed) == mask_license_key(canonical)


MALFORMED = [
    ("empty", ""),
    ("blank", "   "),
    ("prefix-only", "FVM-"),
    ("one-short", ALL_SYMBOLS_KEY[:-1]),
    ("one-long", ALL_SYMBOLS_KEY + "0"),
    ("extra-group", ALL_SYMBOLS_KEY + "-00000"),
    ("wrong-prefix", "FVX" + ALL_SYMBOLS_KEY[3:]),
    ("other-prefix-same-length", "ABC" + ALL_SYMBOLS_KEY[3:]),
    ("letter-U", ALL_SYMBOLS_KEY[:-2] + "U" + ALL_SYMBOLS_KEY[-1]),
    ("punctuation", ALL_SYMBOLS_KEY.replace("-", "_")),
    ("full-width", ALL_SYMBOLS_KEY.replace("A", "\uff21")),
    ("sharp-s-upper-cases-to-SS", ALL_SYMBOLS_KEY[:-3] + "\u00df"),
    ("huge", "0" * 10_000),
    ("huge-whitespace", " " * 101),
    ("none", None),
    ("bytes", ALL_SYMBOLS_KEY.encode()),
    ("bad-check", ALL_SYMBOLS_KEY[:-1] + ("0" if ALL_SYMBOLS_KEY[-1] != "0" else "1")),
]


@pytest.mark.parametrize("text", [r[1] for r in MALFORMED], ids=[r[0] for r in MALFORMED])
def test_malformed_keys_are_refused(text):
    _malformed(text)
    with pytest.raises(DomainError):
        license_key_hash(text)
    with pytest.raises(DomainError):
        mask_license_key(text)


def test_errors_never_quote_the_key():
    typo = ALL_SYMBOLS_KEY[:-1] + "0"
    error = _malformed(typo)
    assert "01234" not in error.detail and "STVW" not in error.detail
    assert "typo" in error.detail


def test_hash_is_sha256_of_the_canonical_key_and_stable():
    assert license_key_hash(ZERO_KEY) == hashlib.sha256(ZERO_KEY.encode()).hexdigest()
    # A literal, so a change of the hashed form (which would orphan every stored license)
    # cannot slip through.
    assert (
        license_key_hash(ALL_SYMBOLS_KEY.lower())
        == "79c735354a2116b20ef6855f7d04f1a5de481f551e77f932c2ea64f776e97913"
    )
    other = _key("0123456789ABCDEFGHJKMNPQRSTVX")
    assert license_key_hash(other) != license_key_hash(ALL_SYMBOLS_KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", license_key_hash(new_license_key()))


def test_mask_shows_only_the_last_group():
    masked = mask_license_key(ALL_SYMBOLS_KEY)

    assert masked == "FVM-*****-*****-*****-*****-*****-STVW3"
    assert re.fullmatch(MASKED_KEY_PATTERN, masked)
    for group in ALL_SYMBOLS_KEY.split("-")[1:-1]:
        assert group not in masked
    key = new_license_key()
    assert mask_license_key(key).endswith(key[-5:])
    assert mask_license_key(key).count("*") == 25


# --- domains -----------------------------------------------------------------------------

VALID_DOMAINS = [
    ("plain", "shop.example.com", "shop.example.com"),
    ("upper-case", "Shop.EXAMPLE.com", "shop.example.com"),
    ("port", "shop.example.com:8443", "shop.example.com"),
    ("trailing-dot", "shop.example.com.", "shop.example.com"),
    ("trailing-dot-and-port", "shop.example.com.:80", "shop.example.com"),
    ("spaces-around", "  shop.example.com ", "shop.example.com"),
    ("single-label", "localhost", "localhost"),
    ("unicode", "B\u00fccher.DE", "xn--bcher-kva.de"),
    ("unicode-port", "b\u00fccher.de:8443", "xn--bcher-kva.de"),
    ("a-label", "XN--BCHER-KVA.de", "xn--bcher-kva.de"),
    ("full-width", "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "example.com"),
    ("ipv4", "10.0.0.5", "10.0.0.5"),
    ("ipv4-port", "10.0.0.5:8080", "10.0.0.5"),
    ("highest-port", "shop.example.com:65535", "shop.example.com"),
    ("ipv6", "[0:0::1]", "[::1]"),
    ("ipv6-port", "[2001:DB8:0::1]:443", "[2001:db8::1]"),
]


@pytest.mark.parametrize(
    ("text", "host"), [r[1:] for r in VALID_DOMAINS], ids=[r[0] for r in VALID_DOMAINS]
)
def test_domains_normalize(text, host):
    assert normalize_domain(text) == host
    assert normalize_domain_pattern(text) == host


INVALID_DOMAINS = [
    ("empty", ""),
    ("space-inside", "exa mple.com"),
    ("underscore", "my_shop.example.com"),
    ("empty-label", "shop..example.com"),
    ("leading-hyphen", "-shop.example.com"),
    ("url", "https://shop.example.com"),
    ("path", "shop.example.com/admin"),
    ("userinfo", "user@shop.example.com"),
    ("port-too-long", "shop.example.com:123456"),
    ("port-too-high", "shop.example.com:65536"),
    ("ipv6-port-too-high", "[::1]:65536"),
    ("two-trailing-dots", "shop.example.com.."),
    ("only-a-dot", "."),
    ("empty-port", "shop.example.com:"),
    ("label-64", "a" * 64 + ".com"),
    ("too-long", ".".join(["a" * 60] * 5)),
    ("huge", "a." * 1000),
    ("wildcard", "*.example.com"),
    ("bare-ipv6", "::1"),
    ("bad-ipv6", "[::g]"),
    ("ipv6-junk-after", "[::1]x"),
    ("bad-a-label", "xn--zz.com"),
    ("not-text", 42),
]


@pytest.mark.parametrize(
    "text", [r[1] for r in INVALID_DOMAINS], ids=[r[0] for r in INVALID_DOMAINS]
)
def test_bad_domains_are_refused(text):
    with pytest.raises(DomainError) as raised:
        normalize_domain(text)
    assert raised.value.code == "invalid_domain"


PATTERNS = [
    ("wildcard", "*.Example.COM", "*.example.com"),
    ("wildcard-unicode", "*.b\u00fccher.de", "*.xn--bcher-kva.de"),
    ("wildcard-port-dropped", "*.example.com:443", "*.example.com"),
    ("exact", "Example.com", "example.com"),
]


@pytest.mark.parametrize(
    ("text", "pattern"), [r[1:] for r in PATTERNS], ids=[r[0] for r in PATTERNS]
)
def test_domain_patterns_normalize(text, pattern):
    assert normalize_domain_pattern(text) == pattern


@pytest.mark.parametrize(
    "text",
    ["*", "*.", "**.example.com", "a.*.example.com", "*example.com", "*.10.0.0.5", "*.[::1]"],
)
def test_bad_domain_patterns_are_refused(text):
    with pytest.raises(DomainError) as raised:
        normalize_domain_pattern(text)
    assert raised.value.code == "invalid_domain"


DOMAIN_RULES = [
    # id, instance_domains, domain, allowed
    ("unrestricted-any", [], "anything.example", True),
    ("unrestricted-none", [], None, True),
    ("unrestricted-garbage", [], "not a domain", True),
    ("exact", ["example.com"], "example.com", True),
    ("exact-case", ["Example.com"], "EXAMPLE.com", True),
    ("exact-port", ["example.com"], "example.com:8443", True),
    ("exact-trailing-dot", ["example.com"], "example.com.", True),
    ("exact-not-subdomain", ["example.com"], "www.example.com", False),
    ("exact-other", ["example.com"], "example.org", False),
    ("exact-suffix-trick", ["example.com"], "badexample.com", False),
    ("restricted-none", ["example.com"], None, False),
    ("restricted-garbage", ["example.com"], "exa mple.com", False),
    ("second-entry", ["example.org", "example.com"], "example.com", True),
    ("wildcard-sub", ["*.example.com"], "shop.example.com", True),
    ("wildcard-deep", ["*.example.com"], "a.b.example.com", True),
    ("wildcard-case-port", ["*.example.com"], "Shop.Example.COM:443", True),
    ("wildcard-not-apex", ["*.example.com"], "example.com", False),
    ("wildcard-suffix-trick", ["*.example.com"], "shopexample.com", False),
    ("wildcard-as-prefix-trick", ["*.example.com"], "shop.example.com.evil.net", False),
    ("wildcard-and-apex", ["*.example.com", "example.com"], "example.com", True),
    ("idna-unicode-entry", ["b\u00fccher.de"], "xn--bcher-kva.de", True),
    ("idna-unicode-request", ["xn--bcher-kva.de"], "B\u00dcCHER.de", True),
    ("idna-wildcard", ["*.B\u00fccher.de"], "shop.xn--bcher-kva.de", True),
    ("idna-wildcard-unicode-host", ["*.xn--bcher-kva.de"], "laden.b\u00fccher.de", True),
    ("idna-not-the-ascii-lookalike", ["b\u00fccher.de"], "bucher.de", False),
    ("homograph-cyrillic-a", ["example.com"], "ex\u0430mple.com", False),
    ("full-width-request", ["example.com"], "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", True),
    ("ipv4", ["10.0.0.5"], "10.0.0.5:8080", True),
    ("ipv4-other", ["10.0.0.5"], "10.0.0.6", False),
    ("ipv6", ["[::1]"], "[0:0::1]:8080", True),
    ("bad-entry-skipped", ["not a domain", "example.com"], "example.com", True),
    ("only-bad-entries-fail-closed", ["not a domain"], "example.com", False),
    ("bad-wildcard-matches-nothing", ["*.10.0.0.5"], "a.10.0.0.5", False),
]


@pytest.mark.parametrize(
    ("allowed", "domain", "expected"),
    [r[1:] for r in DOMAIN_RULES],
    ids=[r[0] for r in DOMAIN_RULES],
)
def test_domain_rules(allowed, domain, expected):
    assert domain_allowed(allowed, domain) is expected


# --- verification ------------------------------------------------------------------------


def _activation(instance: str, domain: str | None = None, minutes: int = 0) -> Activation:
    return Activation(
        instance, domain, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    )


def _facts(
    *activations: Activation,
    status: str = "active",
    expires: datetime | None = None,
    limit: int | None = 1,
    domains: tuple[str, ...] = (),
) -> LicenseFacts:
    return LicenseFacts(
        status=status,
        expires_at=expires,
        max_instances=limit,
        instance_domains=list(domains),
        activations=list(activations),
    )


# Activated in this order: a first, then b, then c (c without a domain).
A = _activation("a", "shop.example.com", minutes=0)
B = _activation("b", "b.example.com", minutes=1)
C = _activation("c", None, minutes=2)
V = VerifyCode
NOT_ACT, MISMATCH = V.NOT_ACTIVATED, V.DOMAIN_MISMATCH
EXACT, WILD, ORG = ("example.com",), ("*.example.com",), ("example.org",)
IDNA_ENTRY, IDNA_WILD = ("b\u00fccher.de",), ("*.B\u00fccher.de",)
IDNA_ACT = _activation("i", "xn--bcher-kva.de")
LADEN, NESTED = "laden.xn--bcher-kva.de", "a.b.example.com"
MICRO = timedelta(microseconds=1)
HUNDRED = [_activation(f"i{n}") for n in range(100)]

VERIFICATIONS = [
    # id, facts, instance, domain, code
    ("not-found", None, "a", None, V.NOT_FOUND),
    ("valid", _facts(A), "a", None, V.VALID),
    ("valid-with-domain", _facts(A), "a", "shop.example.com", V.VALID),
    ("valid-with-domain-as-typed", _facts(A), "a", "Shop.Example.COM.:443", V.VALID),
    # The domain given at activation binds the instance (audit: it verified VALID anywhere).
    ("bound-other-domain", _facts(A), "a", "elsewhere.net", V.DOMAIN_MISMATCH),
    ("bound-sibling-domain", _facts(A), "a", "shop.example.com.evil.net", V.DOMAIN_MISMATCH),
    ("bound-garbage", _facts(A), "a", "not a domain", V.DOMAIN_MISMATCH),
    ("bound-beats-seats", _facts(C, A, B, limit=2), "a", "elsewhere.net", V.DOMAIN_MISMATCH),
    ("unbound-any-domain", _facts(C), "c", "elsewhere.net", V.VALID),
    ("unbound-garbage", _facts(C), "c", "not a domain", V.VALID),
    ("valid-1us-before-expiry", _facts(A, expires=NOW + MICRO), "a", None, V.VALID),
    ("valid-unlimited", _facts(A, B, C, limit=None), "c", None, V.VALID),
    ("expired-at-the-instant", _facts(A, expires=NOW), "a", None, V.EXPIRED),
    ("expired-by-date", _facts(A, expires=NOW - SECOND), "a", None, V.EXPIRED),
    ("expired-by-status", _facts(A, status="expired", expires=NOW + SECOND), "a", None, V.EXPIRED),
    ("expired-status-no-date", _facts(A, status="expired"), "a", None, V.EXPIRED),
    ("revoked", _facts(A, status="revoked"), "a", None, V.REVOKED),
    ("revoked-beats-expired", _facts(status="revoked", expires=NOW - SECOND), "a", None, V.REVOKED),
    ("cancelled", _facts(A, status="cancelled"), "a", None, V.CANCELLED),
    ("cancelled-beats-expired", _facts(status="cancelled", expires=NOW), "a", None, V.CANCELLED),
    ("expired-beats-not-activated", _facts(expires=NOW - SECOND), "x", None, V.EXPIRED),
    ("not-activated", _facts(A, limit=2), "x", None, V.NOT_ACTIVATED),
    ("not-activated-none-yet", _facts(), "x", None, V.NOT_ACTIVATED),
    ("instance-ids-are-exact", _facts(A, limit=2), "A", None, V.NOT_ACTIVATED),
    ("not-activated-seats-full", _facts(A), "x", None, V.TOO_MANY_INSTANCES),
    ("limit-lowered-newest-loses", _facts(C, A, B, limit=2), "c", None, V.TOO_MANY_INSTANCES),
    ("limit-lowered-oldest-keeps", _facts(C, A, B, limit=2), "a", None, V.VALID),
    ("limit-lowered-second-keeps", _facts(C, A, B, limit=2), "b", None, V.VALID),
    ("domain-recorded-ok", _facts(A, domains=WILD), "a", None, V.VALID),
    ("domain-reported-ok", _facts(A, domains=WILD), "a", "SHOP.example.com", V.VALID),
    ("domain-reported-other-allowed", _facts(A, domains=WILD), "a", "x.example.com", MISMATCH),
    ("domain-reported-bad", _facts(A, domains=WILD), "a", "example.org", V.DOMAIN_MISMATCH),
    ("domain-reported-apex", _facts(A, domains=WILD), "a", "example.com", V.DOMAIN_MISMATCH),
    ("domain-recorded-none", _facts(C, domains=EXACT), "c", None, V.DOMAIN_MISMATCH),
    ("domain-recorded-outside", _facts(A, domains=ORG), "a", None, V.DOMAIN_MISMATCH),
    ("domain-garbage-restricted", _facts(A, domains=EXACT), "a", "exa mple", V.DOMAIN_MISMATCH),
    ("domain-before-seats", _facts(A, domains=EXACT), "x", "example.org", V.DOMAIN_MISMATCH),
    ("domain-ok-not-activated", _facts(limit=2, domains=EXACT), "x", "Example.com", NOT_ACT),
    ("no-domain-not-activated", _facts(limit=2, domains=EXACT), "x", None, NOT_ACT),
    ("domain-idna", _facts(IDNA_ACT, domains=IDNA_ENTRY), "i", "B\u00fccher.de:443", V.VALID),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "instance", "domain", "code"),
    [r[1:] for r in VERIFICATIONS],
    ids=[r[0] for r in VERIFICATIONS],
)
def test_verification_codes(facts, instance, domain, code):
    assert decide_verification(facts, instance, domain, NOW) is code


def test_every_code_is_reachable():
    assert {row[-1] for row in VERIFICATIONS} == CODES_OF[Operation.VERIFY]
    assert {row[-2] for row in ACTIVATIONS} | {
        decide_activation(CHURNED, "new", "new.example.com", NOW).code
    } == CODES_OF[Operation.ACTIVATE]
    # The codes the server never gives are what an instance concludes from a document.
    concluded = {row[-1] for row in OFFLINE_CHECKS} | {row[-1] for row in ANSWER_CHECKS}
    assert concluded >= CLIENT_ONLY_CODES


def test_facts_need_aware_times_and_a_sensible_limit():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_verification(_facts(A), "a", None, datetime(2025, 6, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_activation(_facts(A), "a", None, datetime(2025, 6, 1))
    with pytest.raises(ValidationError):
        _facts(expires=datetime(2025, 6, 1))
    with pytest.raises(ValidationError):
        _facts(Activation("i", None, datetime(2025, 1, 1)))
    with pytest.raises(ValidationError):
        _facts(limit=0)
    with pytest.raises(ValidationError):
        _facts(status="suspended")
    # Offsets are fine and compare as instants.
    paris = timezone(timedelta(hours=2))
    facts = _facts(A, expires=datetime(2025, 6, 1, 14, 0, tzinfo=paris))
    assert facts.expires_at == NOW and facts.expires_at.tzinfo is UTC
    assert decide_verification(facts, "a", None, NOW) is V.EXPIRED
    assert decide_verification(facts, "a", None, NOW - SECOND) is V.VALID


# --- activation --------------------------------------------------------------------------

ACT, AGAIN, DENY = (
    ActivationOutcome.ACTIVATE,
    ActivationOutcome.ALREADY_ACTIVE,
    ActivationOutcome.DENIED,
)
SHOP, TOO_MANY = "shop.example.com", V.TOO_MANY_INSTANCES

ACTIVATIONS = [
    # id, facts, instance, domain, outcome, code, domain to record
    ("first", _facts(), "a", None, ACT, V.VALID, None),
    ("first-with-domain", _facts(), "a", "Shop.Example.com:8443", ACT, V.VALID, SHOP),
    ("second-seat", _facts(A, limit=2), "b", None, ACT, V.VALID, None),
    ("limit-reached", _facts(A), "b", None, DENY, TOO_MANY, None),
    ("limit-reached-3", _facts(A, B, C, limit=3), "d", None, DENY, TOO_MANY, None),
    ("unlimited", _facts(*HUNDRED, limit=None), "x", None, ACT, V.VALID, None),
    ("again-is-idempotent", _facts(A), "a", SHOP, AGAIN, V.VALID, SHOP),
    ("again-keeps-recorded-domain", _facts(A), "a", None, AGAIN, V.VALID, SHOP),
    # An active instance keeps its domain: moving it is deactivate + activate (churn counts).
    ("again-new-domain", _facts(A), "a", "new.example.org", DENY, MISMATCH, None),
    ("again-binds-unbound", _facts(C), "c", "Shop.example.com", AGAIN, V.VALID, SHOP),
    ("again-when-full", _facts(A, B, C, limit=3), "c", None, AGAIN, V.VALID, None),
    ("again-beyond-lowered-limit", _facts(A, B, limit=1), "b", None, DENY, TOO_MANY, None),
    ("again-oldest-after-lowering", _facts(B, A, limit=1), "a", None, AGAIN, V.VALID, SHOP),
    ("domain-exact", _facts(domains=EXACT), "a", "EXAMPLE.com.", ACT, V.VALID, "example.com"),
    ("domain-wildcard", _facts(domains=WILD), "a", "A.B.example.com", ACT, V.VALID, NESTED),
    ("domain-wildcard-apex", _facts(domains=WILD), "a", "example.com", DENY, MISMATCH, None),
    ("domain-other", _facts(domains=EXACT), "a", "example.org", DENY, MISMATCH, None),
    ("domain-required", _facts(domains=EXACT), "a", None, DENY, MISMATCH, None),
    ("domain-idna", _facts(domains=IDNA_WILD), "a", "Laden.b\u00fccher.DE", ACT, V.VALID, LADEN),
    ("domain-before-idempotency", _facts(A, domains=EXACT), "a", "x.org", DENY, MISMATCH, None),
    ("domain-again-uses-recorded", _facts(A, domains=WILD), "a", None, AGAIN, V.VALID, SHOP),
    ("domain-again-recorded-outside", _facts(A, domains=ORG), "a", None, DENY, MISMATCH, None),
    ("domain-before-limit", _facts(A, domains=EXACT), "x", "example.org", DENY, MISMATCH, None),
    ("expired", _facts(expires=NOW), "a", None, DENY, V.EXPIRED, None),
    ("expired-again", _facts(A, status="expired"), "a", None, DENY, V.EXPIRED, None),
    ("revoked", _facts(A, status="revoked"), "a", None, DENY, V.REVOKED, None),
    ("cancelled", _facts(status="cancelled"), "a", None, DENY, V.CANCELLED, None),
    ("not-found", None, "a", None, DENY, V.NOT_FOUND, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "instance", "domain", "outcome", "code", "recorded"),
    [r[1:] for r in ACTIVATIONS],
    ids=[r[0] for r in ACTIVATIONS],
)
def test_activation_decisions(facts, instance, domain, outcome, code, recorded):
    decision = decide_activation(facts, instance, domain, NOW)
    assert (decision.outcome, decision.code, decision.domain) == (outcome, code, recorded)
    assert decision.allowed is (outcome is not DENY)


def test_sequential_activations_fill_exactly_the_limit():
    """The rule the locked transaction applies: 50 instances, 3 seats, 3 activations; every
    instance asking again afterwards is either idempotent or refused."""
    activations: list[Activation] = []
    outcomes = []
    for number in range(50):
        decision = decide_activation(_facts(*activations, limit=3), f"i{number}", None, NOW)
        outcomes.append(decision.outcome)
        if decision.outcome is ACT:
            activations.append(_activation(f"i{number}", minutes=number))
    assert outcomes.count(ACT) == 3 and outcomes.count(DENY) == 47
    final = _facts(*activations, limit=3)
    again = [decide_activation(final, f"i{n}", None, NOW).outcome for n in range(50)]
    assert again == [AGAIN] * 3 + [DENY] * 47


@pytest.mark.parametrize(
    ("instance", "domain", "code"),
    [
        ("", None, "invalid_instance_id"),
        ("x" * 65, None, "invalid_instance_id"),
        ("with space", None, "invalid_instance_id"),
        ("caf\u00e9", None, "invalid_instance_id"),
        ("line\nbreak", None, "invalid_instance_id"),
        (None, None, "invalid_instance_id"),
        ("inst-a", "exa mple.com", "invalid_domain"),
        ("inst-a", "*.example.com", "invalid_domain"),
        ("inst-a", "https://example.com/", "invalid_domain"),
    ],
)
def test_activation_input_errors(instance, domain, code):
    with pytest.raises(DomainError) as raised:
        decide_activation(_facts(), instance, domain, NOW)
    assert raised.value.code == code
    assert decide_activation(_facts(), "x" * 64, None, NOW).outcome is ACT


# --- churn --------------------------------------------------------------------------------

DAY = timedelta(hours=24)
POLICY = ChurnPolicy(window=DAY, extra_instances=2)


def _release(instance, domain=None, *, hours_ago=1.0, answers_for=None) -> Release:
    """Deactivated ``hours_ago``; its answers valid ``answers_for`` hours from NOW."""
    until = None if answers_for is None else NOW + timedelta(hours=answers_for)
    return Release(instance, domain, NOW - timedelta(hours=hours_ago), until)


def _churn_facts(*released: Release, active=(A,), limit=1) -> LicenseFacts:
    return LicenseFacts(
        status="active", max_instances=limit, activations=list(active), released=list(released)
    )


# One seat, two extra instances a day: "a" gave its seat up an hour ago, so did "x" and "y".
A_GONE = _release("a", SHOP)
CHURNED = _churn_facts(A_GONE, _release("x", "x.test"), _release("y", "y.test"), active=())

CHURN = [
    # id, facts, instance, domain, allowed
    ("first-move", _churn_facts(A_GONE, active=()), "new", "new.test", True),
    ("within-allowance", _churn_facts(A_GONE, _release("x", "x.test"), active=()), "new",
     "new.test", True),
    ("allowance-used", CHURNED, "new", "new.test", False),
    ("back-to-a-pair-in-use", CHURNED, "x", "x.test", True),
    ("same-instance-new-domain", CHURNED, "x", "other.test", False),
    ("old-release-forgotten", _churn_facts(
        A_GONE, _release("x", "x.test", hours_ago=25), _release("y", "y.test"), active=()
    ), "new", "new.test", True),
    ("old-release-with-live-answer", _churn_facts(
        A_GONE, _release("x", "x.test", hours_ago=25, answers_for=1), _release("y", "y.test"),
        active=(),
    ), "new", "new.test", False),
    ("offline-file-holds-for-weeks", _churn_facts(
        A_GONE,
        _release("x", "x.test", hours_ago=24 * 10, answers_for=24 * 20),
        _release("y", "y.test", hours_ago=24 * 10, answers_for=24 * 20),
        active=(),
    ), "new", "new.test", False),
    ("expired-answer-forgotten", _churn_facts(
        A_GONE, _release("x", "x.test", hours_ago=25, answers_for=-1), _release("y", "y.test"),
        active=(),
    ), "new", "new.test", True),
    ("two-seats-more-room", _churn_facts(*CHURNED.released, active=(B,), limit=2), "new",
     "new.test", False),
    ("two-seats-room", _churn_facts(A_GONE, _release("x", "x.test"), active=(B,), limit=2), "new",
     "new.test", True),
    ("unlimited-seats", _churn_facts(
        *[_release(f"r{n}", f"r{n}.test") for n in range(50)], active=(), limit=None
    ), "new", "new.test", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "instance", "domain", "allowed"),
    [r[1:] for r in CHURN],
    ids=[r[0] for r in CHURN],
)
def test_the_churn_limit(facts, instance, domain, allowed):
    decision = decide_activation(facts, instance, domain, NOW, POLICY)
    expected = (ACT, V.VALID) if allowed else (DENY, V.ACTIVATION_CHURN_LIMIT)
    assert (decision.outcome, decision.code) == expected


def test_one_seat_cannot_serve_many_instances_a_day():
    """The audit's churn: whoever holds the key deactivates the instance holding the seat
    and activates their own, over and over. Each activation gives an answer valid for a
    day, so without a limit one seat served as many instances as there were rounds."""
    active: list[Activation] = []
    released: list[Release] = []
    served = []
    for round_ in range(20):
        now = NOW + timedelta(minutes=10 * round_)
        # deactivate whoever holds the seat: the answer it got stays valid for its day
        released += [Release(a.instance_id, a.domain, now, a.activated_at + DAY) for a in active]
        active = []
        facts = LicenseFacts(
            status="active", max_instances=1, activations=active, released=released
        )
        instance = f"thief-{round_}"
        decision = decide_activation(facts, instance, f"{instance}.test", now, POLICY)
        if decision.outcome is not ACT:
            assert decision.code is V.ACTIVATION_CHURN_LIMIT
            continue
        served.append(instance)
        active = [Activation(instance, f"{instance}.test", now)]
    assert len(served) == 1 + POLICY.extra_instances
    later = NOW + timedelta(days=2)
    facts = LicenseFacts(status="active", max_instances=1, activations=[], released=released)
    assert instances_in_use(facts, later, POLICY) == set()
    assert decide_activation(
        LicenseFacts(status="active", max_instances=1, activations=[], released=released),
        "next",
        "next.test",
        later,
        POLICY,
    ).allowed, "a day after the answers ran out, the instances count no more"


def test_churn_policy_bounds():
    with pytest.raises(ValueError):
        ChurnPolicy(window=timedelta(0))
    with pytest.raises(ValueError):
        ChurnPolicy(extra_instances=-1)


REFUNDABLE = NOW + timedelta(days=3)
OFFLINE_ENDS = [
    # id, lifetime, expires_at, refundable_until, not_after
    ("lifetime", timedelta(days=30), None, None, NOW + timedelta(days=30)),
    ("expiry-first", timedelta(days=30), NOW + timedelta(days=2), None, NOW + timedelta(days=2)),
    ("refund-window-open", timedelta(days=30), None, REFUNDABLE, REFUNDABLE),
    ("refund-window-and-expiry", timedelta(days=30), NOW + DAY, REFUNDABLE, NOW + DAY),
    ("refund-window-closed", timedelta(days=30), None, NOW - SECOND, NOW + timedelta(days=30)),
    ("refund-window-ends-now", timedelta(days=30), None, NOW, NOW + timedelta(days=30)),
    ("short-lifetime", timedelta(days=1), None, REFUNDABLE, NOW + DAY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("lifetime", "expires_at", "refundable_until", "not_after"),
    [r[1:] for r in OFFLINE_ENDS],
    ids=[r[0] for r in OFFLINE_ENDS],
)
def test_offline_files_end_within_the_refund_window(
    lifetime, expires_at, refundable_until, not_after
):
    assert (
        offline_not_after(NOW, lifetime, expires_at=expires_at, refundable_until=refundable_until)
        == not_after
    )


@pytest.mark.parametrize(
    ("expires_at", "cache_for", "until"),
    [
        (None, timedelta(hours=24), NOW + timedelta(hours=24)),
        (NOW + timedelta(days=30), timedelta(hours=24), NOW + timedelta(hours=24)),
        (NOW + timedelta(hours=1), timedelta(hours=24), NOW + timedelta(hours=1)),
        (NOW - timedelta(hours=1), timedelta(hours=24), NOW - timedelta(hours=1)),
    ],
    ids=["perpetual", "far-expiry", "expires-first", "already-expired"],
)
def test_cached_answers_never_outlive_the_license(expires_at, cache_for, until):
    assert answer_valid_until(NOW, expires_at, cache_for) == until


# --- canonical payloads ------------------------------------------------------------------

KEY = ALL_SYMBOLS_KEY
MASKED = "FVM-*****-*****-*****-*****-*****-STVW3"
KEY_SHA = hashlib.sha256(KEY.encode()).hexdigest()
NONCE = "n-0123456789abcdef"
ANSWER_FIELDS = {
    "key_id": "0123456789abcdef",
    "operation": "verify",
    "status": "granted",
    "code": "VALID",
    "license_key": MASKED,
    "license_key_sha256": KEY_SHA,
    "module": "hello_fastvue",
    "module_slug": "hello-fastvue",
    "allowed_versions": ">=1.0,<2",
    "expires_at": datetime(2026, 1, 1, tzinfo=UTC),
    "instance_id": "inst-a",
    "domain": "shop.example.com",
    "nonce": NONCE,
    "issued_at": NOW,
    "valid_until": NOW + timedelta(hours=24),
}
ANSWER = LicenseAnswer(**ANSWER_FIELDS)
ANSWER_JSON = (
    '{"allowed_versions":">=1.0,<2","code":"VALID","contract":2,"domain":"shop.example.com",'
    '"expires_at":"2026-01-01T00:00:00Z","instance_id":"inst-a",'
    '"issued_at":"2025-06-01T12:00:00Z","key_id":"0123456789abcdef","kind":"license_answer",'
    '"license_key":"FVM-*****-*****-*****-*****-*****-STVW3",'
    f'"license_key_sha256":"{KEY_SHA}","module":"hello_fastvue","module_slug":"hello-fastvue",'
    '"nonce":"n-0123456789abcdef","operation":"verify","status":"granted",'
    '"valid_until":"2025-06-02T12:00:00Z"}'
)
PLUS_2 = timezone(timedelta(hours=2))
MINUS_5 = timezone(timedelta(hours=-5))


def _answer(**changes) -> LicenseAnswer:
    return LicenseAnswer(**{**ANSWER_FIELDS, **changes})


def _refusal(code: str, **changes) -> LicenseAnswer:
    return _answer(code=code, status="refused", valid_until=NOW, **changes)


def test_canonical_bytes_are_exactly_the_documented_form():
    assert license_key_hash(KEY) == KEY_SHA, "the binding is SHA-256 of the canonical key"
    assert canonical_json(ANSWER) == ANSWER_JSON
    assert canonical_bytes(ANSWER) == ANSWER_JSON.encode()


EQUAL_ANSWERS = [
    ("reversed-keys", lambda: LicenseAnswer(**dict(reversed(list(ANSWER_FIELDS.items()))))),
    ("enum-code", lambda: _answer(code=VerifyCode.VALID, operation=Operation.VERIFY)),
    ("domain-as-typed", lambda: _answer(domain="Shop.EXAMPLE.com.:8443")),
    ("other-offsets", lambda: _answer(
        issued_at=NOW.astimezone(PLUS_2),
        valid_until=(NOW + timedelta(hours=24)).astimezone(MINUS_5),
        expires_at=datetime(2025, 12, 31, 19, 0, tzinfo=MINUS_5),
    )),
    ("iso-strings", lambda: _answer(
        issued_at="2025-06-01T14:00:00+02:00",
        valid_until="2025-06-02T12:00:00Z",
        expires_at="2026-01-01T00:00:00.000000+00:00",
    )),
    ("canonical-text", lambda: LicenseAnswer.model_validate_json(ANSWER_JSON)),
    ("pretty-json", lambda: LicenseAnswer.model_validate_json(
        json.dumps(json.loads(ANSWER_JSON), indent=4)
    )),
    ("shuffled-json", lambda: LicenseAnswer.model_validate_json(json.dumps(
        dict(sorted(json.loads(ANSWER_JSON).items(), reverse=True)), separators=(" , ", " : ")
    ))),
    ("kind-given", lambda: _answer(kind="license_answer", contract=2)),
    ("parsed-back", lambda: parse_signed_payload(canonical_bytes(ANSWER))),
]  # fmt: skip


@pytest.mark.parametrize("make", [r[1] for r in EQUAL_ANSWERS], ids=[r[0] for r in EQUAL_ANSWERS])
def test_equal_answers_give_equal_bytes(make):
    answer = make()
    assert answer == ANSWER
    assert canonical_bytes(answer) == ANSWER_JSON.encode()


DIFFERENT_ANSWERS = [
    ("refusal", {"code": "EXPIRED", "status": "refused", "valid_until": NOW}),
    ("nonce", {"nonce": NONCE + "x"}),
    ("domain", {"domain": "shop.example.org"}),
    ("microsecond", {"issued_at": NOW + timedelta(microseconds=1)}),
    ("instance", {"instance_id": "inst-b"}),
    ("license", {"license_key_sha256": "0" * 64}),
    ("operation", {"operation": "activate"}),
    ("signing-key", {"key_id": "fedcba9876543210"}),
    ("versions", {"allowed_versions": ">=1.0,<3"}),
    ("perpetual", {"expires_at": None}),
]


@pytest.mark.parametrize(
    "changes", [r[1] for r in DIFFERENT_ANSWERS], ids=[r[0] for r in DIFFERENT_ANSWERS]
)
def test_different_answers_give_different_bytes(changes):
    other = _answer(**changes)
    assert canonical_bytes(other) != canonical_bytes(ANSWER)
    assert parse_signed_payload(canonical_bytes(other)) == other


def test_canonical_form_details():
    answer = _answer(issued_at=NOW + timedelta(microseconds=1), expires_at=None)
    text = canonical_json(answer)
    assert '"issued_at":"2025-06-01T12:00:00.000001Z"' in text
    assert '"expires_at":null' in text
    assert " " not in text.replace(">=1.0,<2", "")

    class Floaty(BaseModel):
        value: float

    with pytest.raises(TypeError, match="float"):
        canonical_bytes(Floaty(value=0.1))


ANSWER_REFUSALS = [
    ("full-key", {"license_key": ALL_SYMBOLS_KEY}),
    ("half-masked", {"license_key": "FVM-01234-*****-*****-*****-*****-STVW3"}),
    ("key-hash-upper", {"license_key_sha256": KEY_SHA.upper()}),
    ("naive-time", {"issued_at": datetime(2025, 6, 1)}),
    ("valid-until-first", {"valid_until": NOW - SECOND}),
    ("bad-code", {"code": "MAYBE"}),
    ("bad-module", {"module": "Hello Module"}),
    ("bad-range", {"allowed_versions": "one or two"}),
    ("bad-instance", {"instance_id": "x" * 65}),
    ("no-nonce", {"nonce": None}),
    ("short-nonce", {"nonce": "n-123"}),
    ("bad-nonce", {"nonce": "has space in it!!"}),
    ("no-domain", {"domain": None}),
    ("bad-domain", {"domain": "*.example.com"}),
    ("no-key-id", {"key_id": None}),
    ("other-contract", {"contract": 1}),
    ("extra-field", {"features": ["all"]}),
    ("wrong-kind", {"kind": "offline_license"}),
    ("old-kind", {"kind": "verification_answer"}),
    ("status-not-code", {"code": "EXPIRED"}),
    ("refusal-granted", {"status": "refused"}),
    ("refusal-valid-later", {"code": "EXPIRED", "status": "refused"}),
    ("client-only-code", {"code": "REPLAYED", "status": "refused", "valid_until": NOW}),
    ("bad-signature-code", {"code": "INVALID_SIGNATURE", "status": "refused", "valid_until": NOW}),
    ("verify-deactivated", {"code": "DEACTIVATED", "status": "released", "valid_until": NOW}),
    ("verify-churn", {"code": "ACTIVATION_CHURN_LIMIT", "status": "refused", "valid_until": NOW}),
    ("deactivate-valid", {"operation": "deactivate"}),
    ("activate-not-activated", {
        "operation": "activate", "code": "NOT_ACTIVATED", "status": "refused", "valid_until": NOW
    }),
]  # fmt: skip


@pytest.mark.parametrize(
    "changes", [r[1] for r in ANSWER_REFUSALS], ids=[r[0] for r in ANSWER_REFUSALS]
)
def test_answers_refuse_bad_fields(changes):
    with pytest.raises(ValidationError):
        _answer(**changes)


def test_every_operation_answers_its_codes():
    for operation, codes in CODES_OF.items():
        for code in codes:
            status = licensing.answer_status(code)
            answer = _answer(
                operation=operation,
                code=code,
                status=status,
                valid_until=NOW + timedelta(hours=1) if code is V.VALID else NOW,
            )
            assert parse_signed_payload(canonical_bytes(answer)) == answer
    assert CODES_OF[Operation.DEACTIVATE] == {V.DEACTIVATED, V.NOT_FOUND, V.NOT_ACTIVATED}


def test_not_found_answers_have_no_module():
    answer = _refusal("NOT_FOUND", module=None, module_slug=None, expires_at=None)
    assert '"module":null' in canonical_json(answer)


# --- what an instance concludes from a signed answer --------------------------------------

OTHER_KEY = _key("ZYXWVTSRQPNMKJHGFEDCBA9876543")
ANSWER_CHECKS = [
    # id, answer, now, key, instance, domain, nonce sent (None: a cached answer), code
    ("valid", ANSWER, NOW, KEY, "inst-a", "shop.example.com", NONCE, V.VALID),
    ("valid-key-as-typed", ANSWER, NOW, KEY.lower(), "inst-a", "shop.example.com", NONCE, V.VALID),
    ("valid-domain-as-typed", ANSWER, NOW, KEY, "inst-a", "SHOP.example.com:443", NONCE, V.VALID),
    ("cached-valid", ANSWER, NOW + timedelta(hours=23), KEY, "inst-a", "shop.example.com",
     None, V.VALID),
    ("cached-expired", ANSWER, NOW + timedelta(hours=24), KEY, "inst-a", "shop.example.com",
     None, V.EXPIRED),
    ("bad-signature", None, NOW, KEY, "inst-a", "shop.example.com", NONCE, V.INVALID_SIGNATURE),
    ("another-domain", ANSWER, NOW, KEY, "inst-a", "evil.example.org", NONCE, V.DOMAIN_MISMATCH),
    ("another-domain-cached", ANSWER, NOW, KEY, "inst-a", "evil.example.org", None,
     V.DOMAIN_MISMATCH),
    ("garbage-domain", ANSWER, NOW, KEY, "inst-a", "not a domain", NONCE, V.DOMAIN_MISMATCH),
    ("another-instance", ANSWER, NOW, KEY, "inst-b", "shop.example.com", NONCE, V.REPLAYED),
    ("another-key", ANSWER, NOW, OTHER_KEY, "inst-a", "shop.example.com", NONCE, V.REPLAYED),
    ("another-nonce", ANSWER, NOW, KEY, "inst-a", "shop.example.com", NONCE + "x", V.REPLAYED),
    ("refusal", _refusal("REVOKED"), NOW, KEY, "inst-a", "shop.example.com", NONCE, V.REVOKED),
    ("refusal-later", _refusal("REVOKED"), NOW + timedelta(days=9), KEY, "inst-a",
     "shop.example.com", None, V.REVOKED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "now", "key", "instance", "domain", "nonce", "code"),
    [r[1:] for r in ANSWER_CHECKS],
    ids=[r[0] for r in ANSWER_CHECKS],
)
def test_what_an_instance_concludes_from_an_answer(answer, now, key, instance, domain, nonce, code):
    concluded = check_license_answer(
        answer, now, key=key, instance_id=instance, domain=domain, nonce=nonce
    )
    assert concluded is code


# --- offline license files ---------------------------------------------------------------

OFFLINE_FIELDS = {
    "key_id": "0123456789abcdef",
    "license_id": 42,
    "license_key": MASKED,
    "license_key_sha256": KEY_SHA,
    "module": "hello_fastvue",
    "module_slug": "hello-fastvue",
    "licensee": "M\u00fcller & S\u00f6hne GmbH",
    "instance_id": "inst-a",
    "domain": "Laden.B\u00fccher.de",
    "issued_at": NOW,
    "not_after": NOW + timedelta(days=30),
}
OFFLINE = OfflineLicense(**OFFLINE_FIELDS)


def test_offline_license_canonical_bytes():
    text = canonical_json(OFFLINE)

    assert text == (
        '{"contract":2,"domain":"laden.xn--bcher-kva.de","instance_id":"inst-a",'
        '"issued_at":"2025-06-01T12:00:00Z","key_id":"0123456789abcdef","kind":"offline_license",'
        '"license_id":42,"license_key":"FVM-*****-*****-*****-*****-*****-STVW3",'
        f'"license_key_sha256":"{KEY_SHA}",'
        '"licensee":"M\u00fcller & S\u00f6hne GmbH","module":"hello_fastvue",'
        '"module_slug":"hello-fastvue","not_after":"2025-07-01T12:00:00Z"}'
    )  # fmt: skip
    assert "M\u00fcller".encode() in canonical_bytes(OFFLINE)  # raw UTF-8, not \u escapes
    parsed = parse_signed_payload(canonical_bytes(OFFLINE))
    assert isinstance(parsed, OfflineLicense) and parsed == OFFLINE
    shifted = OfflineLicense(**{**OFFLINE_FIELDS, "issued_at": NOW.astimezone(PLUS_2)})
    assert canonical_bytes(shifted) == canonical_bytes(OFFLINE)


OFFLINE_REFUSALS = [
    ("full-key", {"license_key": ALL_SYMBOLS_KEY}),
    ("no-key-hash", {"license_key_sha256": None}),
    ("not-after-first", {"not_after": NOW}),
    ("bad-domain", {"domain": "exa mple.com"}),
    ("no-domain", {"domain": None}),
    ("wildcard-domain", {"domain": "*.example.com"}),
    ("no-instance", {"instance_id": None}),
    ("bad-key-id", {"key_id": "XYZ"}),
    ("other-contract", {"contract": 1}),
    ("control-in-licensee", {"licensee": "Evil\u202eCorp"}),
    ("empty-licensee", {"licensee": "  "}),
    ("naive", {"not_after": datetime(2026, 1, 1)}),
    ("extra", {"instance_domains": []}),
]


@pytest.mark.parametrize(
    "changes", [r[1] for r in OFFLINE_REFUSALS], ids=[r[0] for r in OFFLINE_REFUSALS]
)
def test_offline_licenses_refuse_bad_fields(changes):
    with pytest.raises(ValidationError):
        OfflineLicense(**{**OFFLINE_FIELDS, **changes})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "{}",
        canonical_json(ANSWER).replace('"kind":"license_answer"', '"kind":"offline_license"'),
        canonical_json(OFFLINE).replace('"kind":"offline_license",', ""),
        canonical_json(ANSWER).replace('"code":"VALID"', '"code":1'),
        canonical_json(ANSWER).replace('"contract":2', '"contract":1'),
        canonical_json(ANSWER).replace('"kind":"license_answer"', '"kind":"verification_answer"'),
    ],
    ids=[
        "empty",
        "not-json",
        "list",
        "empty-object",
        "answer-as-offline",
        "no-kind",
        "numeric-code",
        "contract-1",
        "contract-1-kind",
    ],
)
def test_malformed_signed_payloads(text):
    with pytest.raises(DomainError) as raised:
        parse_signed_payload(text)
    assert raised.value.code == "malformed_signed_payload"


HERE = ("inst-a", "laden.xn--bcher-kva.de")
OFFLINE_CHECKS = [
    # id, document, now, key, (instance, domain), code
    ("valid", OFFLINE, NOW, KEY, HERE, V.VALID),
    ("valid-last-instant", OFFLINE, NOW + timedelta(days=30) - SECOND, KEY, HERE, V.VALID),
    ("valid-domain-as-typed", OFFLINE, NOW, KEY, ("inst-a", "Laden.b\u00fccher.DE:8443"), V.VALID),
    ("expired-at-not-after", OFFLINE, NOW + timedelta(days=30), KEY, HERE, V.EXPIRED),
    ("expired-later", OFFLINE, NOW + timedelta(days=400), KEY, HERE, V.EXPIRED),
    ("bad-signature", None, NOW, KEY, HERE, V.INVALID_SIGNATURE),
    ("another-instance", OFFLINE, NOW, KEY, ("inst-b", HERE[1]), V.REPLAYED),
    ("another-key", OFFLINE, NOW, OTHER_KEY, HERE, V.REPLAYED),
    ("another-domain", OFFLINE, NOW, KEY, ("inst-a", "xn--bcher-kva.de"), V.DOMAIN_MISMATCH),
    ("domain-beats-expiry", OFFLINE, NOW + timedelta(days=31), KEY, ("inst-a", "example.org"),
     V.DOMAIN_MISMATCH),
]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "now", "key", "here", "code"),
    [r[1:] for r in OFFLINE_CHECKS],
    ids=[r[0] for r in OFFLINE_CHECKS],
)
def test_offline_license_checks(document, now, key, here, code):
    instance, domain = here
    concluded = check_offline_license(document, now, key=key, instance_id=instance, domain=domain)
    assert concluded is code


def test_offline_checks_need_aware_times():
    with pytest.raises(ValueError, match="timezone-aware"):
        check_offline_license(OFFLINE, datetime(2025, 6, 1), key=KEY, instance_id="a", domain="x")
    with pytest.raises(ValueError, match="timezone-aware"):
        check_license_answer(
            ANSWER, datetime(2025, 6, 1), key=KEY, instance_id="a", domain="x", nonce=None
        )


# --- the published contract ----------------------------------------------------------------


def test_the_readme_publishes_every_field_and_code_of_the_contract():
    """The README's "License answers" section is what the reference client is written
    against: it names every field of the signed answer and of the offline file, and every
    code, so neither can change without the contract saying so."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index(f"#### License answers (contract {licensing.CONTRACT})")
    section = readme[start : readme.index("\n### ", start)]
    table = {
        name
        for row in re.findall(r"^\| (`[^|]+`) \|", section, flags=re.MULTILINE)
        for name in re.findall(r"`([a-z_0-9]+)`", row)
    }
    assert table == set(LicenseAnswer.model_fields)
    offline = section[section.index("**Offline file.**") :]
    assert all(f"`{name}`" in offline for name in OfflineLicense.model_fields)
    assert all(f"`{code.value}`" in section for code in VerifyCode)
