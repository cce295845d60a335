"""License policy in ``domain/licensing.py``, table by table, without a database: key format,
typo detection and hashing; verification codes and activation decisions; domain matching;
the canonical bytes that get signed."""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from domain import licensing
from domain.errors import DomainError
from domain.licensing import (
    ALPHABET,
    MASKED_KEY_PATTERN,
    Activation,
    ActivationOutcome,
    LicenseFacts,
    OfflineLicense,
    VerificationAnswer,
    VerifyCode,
    answer_valid_until,
    canonical_bytes,
    canonical_json,
    check_offline_license,
    decide_activation,
    decide_verification,
    domain_allowed,
    license_key_hash,
    mask_license_key,
    new_license_key,
    normalize_domain,
    normalize_domain_pattern,
    normalize_license_key,
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
NOT_ACT = V.NOT_ACTIVATED
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
    ("valid-unrestricted-other", _facts(A), "a", "elsewhere.net", V.VALID),
    ("valid-unrestricted-garbage", _facts(A), "a", "not a domain", V.VALID),
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
    ("domain-reported-ok", _facts(A, domains=WILD), "a", "x.example.com", V.VALID),
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
    from_server = {row[-1] for row in VERIFICATIONS}
    assert from_server == set(VerifyCode) - {VerifyCode.INVALID_SIGNATURE}
    # The one code the server never gives is what an instance concludes from a bad file.
    assert VerifyCode.INVALID_SIGNATURE in {row[-1] for row in OFFLINE_CHECKS}


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
SHOP, TOO_MANY, MISMATCH = "shop.example.com", V.TOO_MANY_INSTANCES, V.DOMAIN_MISMATCH

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
    ("again-new-domain", _facts(A), "a", "new.example.org", AGAIN, V.VALID, "new.example.org"),
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

MASKED = "FVM-*****-*****-*****-*****-*****-STVW3"
ANSWER_FIELDS = {
    "code": "VALID",
    "license_key": MASKED,
    "module": "hello_fastvue",
    "allowed_versions": ">=1.0,<2",
    "expires_at": datetime(2026, 1, 1, tzinfo=UTC),
    "instance_id": "inst-a",
    "issued_at": NOW,
    "valid_until": NOW + timedelta(hours=24),
    "nonce": "n-123",
}
ANSWER = VerificationAnswer(**ANSWER_FIELDS)
ANSWER_JSON = (
    '{"allowed_versions":">=1.0,<2","code":"VALID","expires_at":"2026-01-01T00:00:00Z",'
    '"instance_id":"inst-a","issued_at":"2025-06-01T12:00:00Z","kind":"verification_answer",'
    '"license_key":"FVM-*****-*****-*****-*****-*****-STVW3","module":"hello_fastvue",'
    '"nonce":"n-123","valid_until":"2025-06-02T12:00:00Z"}'
)
PLUS_2 = timezone(timedelta(hours=2))
MINUS_5 = timezone(timedelta(hours=-5))


def test_canonical_bytes_are_exactly_the_documented_form():
    assert canonical_json(ANSWER) == ANSWER_JSON
    assert canonical_bytes(ANSWER) == ANSWER_JSON.encode()


EQUAL_ANSWERS = [
    ("reversed-keys", lambda: VerificationAnswer(**dict(reversed(list(ANSWER_FIELDS.items()))))),
    ("enum-code", lambda: VerificationAnswer(**{**ANSWER_FIELDS, "code": VerifyCode.VALID})),
    ("other-offsets", lambda: VerificationAnswer(**{
        **ANSWER_FIELDS,
        "issued_at": NOW.astimezone(PLUS_2),
        "valid_until": (NOW + timedelta(hours=24)).astimezone(MINUS_5),
        "expires_at": datetime(2025, 12, 31, 19, 0, tzinfo=MINUS_5),
    })),
    ("iso-strings", lambda: VerificationAnswer(**{
        **ANSWER_FIELDS,
        "issued_at": "2025-06-01T14:00:00+02:00",
        "valid_until": "2025-06-02T12:00:00Z",
        "expires_at": "2026-01-01T00:00:00.000000+00:00",
    })),
    ("canonical-text", lambda: VerificationAnswer.model_validate_json(ANSWER_JSON)),
    ("pretty-json", lambda: VerificationAnswer.model_validate_json(
        json.dumps(json.loads(ANSWER_JSON), indent=4)
    )),
    ("shuffled-json", lambda: VerificationAnswer.model_validate_json(json.dumps(
        dict(sorted(json.loads(ANSWER_JSON).items(), reverse=True)), separators=(" , ", " : ")
    ))),
    ("kind-given", lambda: VerificationAnswer(**ANSWER_FIELDS, kind="verification_answer")),
    ("parsed-back", lambda: parse_signed_payload(canonical_bytes(ANSWER))),
]  # fmt: skip


@pytest.mark.parametrize("make", [r[1] for r in EQUAL_ANSWERS], ids=[r[0] for r in EQUAL_ANSWERS])
def test_equal_answers_give_equal_bytes(make):
    answer = make()
    assert answer == ANSWER
    assert canonical_bytes(answer) == ANSWER_JSON.encode()


DIFFERENT_ANSWERS = [
    ("code", {"code": "EXPIRED"}),
    ("nonce", {"nonce": "n-124"}),
    ("no-nonce", {"nonce": None}),
    ("microsecond", {"issued_at": NOW + timedelta(microseconds=1)}),
    ("instance", {"instance_id": "inst-b"}),
    ("versions", {"allowed_versions": ">=1.0,<3"}),
    ("perpetual", {"expires_at": None}),
]


@pytest.mark.parametrize(
    "changes", [r[1] for r in DIFFERENT_ANSWERS], ids=[r[0] for r in DIFFERENT_ANSWERS]
)
def test_different_answers_give_different_bytes(changes):
    other = VerificationAnswer(**{**ANSWER_FIELDS, **changes})
    assert canonical_bytes(other) != canonical_bytes(ANSWER)
    assert parse_signed_payload(canonical_bytes(other)) == other


def test_canonical_form_details():
    answer = VerificationAnswer(
        **{**ANSWER_FIELDS, "issued_at": NOW + timedelta(microseconds=1), "nonce": None}
    )
    text = canonical_json(answer)
    assert '"issued_at":"2025-06-01T12:00:00.000001Z"' in text
    assert '"nonce":null' in text
    assert " " not in text.replace(">=1.0,<2", "")

    class Floaty(BaseModel):
        value: float

    with pytest.raises(TypeError, match="float"):
        canonical_bytes(Floaty(value=0.1))


ANSWER_REFUSALS = [
    ("full-key", {"license_key": ALL_SYMBOLS_KEY}),
    ("half-masked", {"license_key": "FVM-01234-*****-*****-*****-*****-STVW3"}),
    ("naive-time", {"issued_at": datetime(2025, 6, 1)}),
    ("valid-until-first", {"valid_until": NOW - SECOND}),
    ("bad-code", {"code": "MAYBE"}),
    ("bad-module", {"module": "Hello Module"}),
    ("bad-range", {"allowed_versions": "one or two"}),
    ("bad-instance", {"instance_id": "x" * 65}),
    ("bad-nonce", {"nonce": "has space"}),
    ("extra-field", {"features": ["all"]}),
    ("wrong-kind", {"kind": "offline_license"}),
]


@pytest.mark.parametrize(
    "changes", [r[1] for r in ANSWER_REFUSALS], ids=[r[0] for r in ANSWER_REFUSALS]
)
def test_answers_refuse_bad_fields(changes):
    with pytest.raises(ValidationError):
        VerificationAnswer(**{**ANSWER_FIELDS, **changes})


def test_not_found_answers_have_no_module():
    answer = VerificationAnswer(**{**ANSWER_FIELDS, "code": "NOT_FOUND", "module": None})
    assert '"module":null' in canonical_json(answer)


# --- offline license files ---------------------------------------------------------------

OFFLINE_FIELDS = {
    "license_id": 42,
    "license_key": MASKED,
    "module": "hello_fastvue",
    "licensee": "M\u00fcller & S\u00f6hne GmbH",
    "max_instances": 3,
    "instance_domains": ["*.B\u00fccher.de", "Example.com"],
    "issued_at": NOW,
    "not_after": NOW + timedelta(days=30),
    "key_id": "0123456789abcdef",
}
OFFLINE = OfflineLicense(**OFFLINE_FIELDS)


def test_offline_license_canonical_bytes():
    text = canonical_json(OFFLINE)

    assert text == (
        '{"instance_domains":["*.xn--bcher-kva.de","example.com"],"issued_at":"2025-06-01T12:00:00Z",'
        '"key_id":"0123456789abcdef","kind":"offline_license",'
        '"license_id":42,"license_key":"FVM-*****-*****-*****-*****-*****-STVW3",'
        '"licensee":"M\u00fcller & S\u00f6hne GmbH","max_instances":3,"module":"hello_fastvue",'
        '"not_after":"2025-07-01T12:00:00Z"}'
    )  # fmt: skip
    assert "M\u00fcller".encode() in canonical_bytes(OFFLINE)  # raw UTF-8, not \u escapes
    parsed = parse_signed_payload(canonical_bytes(OFFLINE))
    assert isinstance(parsed, OfflineLicense) and parsed == OFFLINE
    shifted = OfflineLicense(**{**OFFLINE_FIELDS, "issued_at": NOW.astimezone(PLUS_2)})
    assert canonical_bytes(shifted) == canonical_bytes(OFFLINE)


OFFLINE_REFUSALS = [
    ("full-key", {"license_key": ALL_SYMBOLS_KEY}),
    ("not-after-first", {"not_after": NOW}),
    ("bad-domain", {"instance_domains": ["exa mple.com"]}),
    ("bad-key-id", {"key_id": "XYZ"}),
    ("zero-instances", {"max_instances": 0}),
    ("control-in-licensee", {"licensee": "Evil\u202eCorp"}),
    ("empty-licensee", {"licensee": "  "}),
    ("naive", {"not_after": datetime(2026, 1, 1)}),
    ("extra", {"features": []}),
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
        canonical_json(ANSWER).replace('"kind":"verification_answer"', '"kind":"offline_license"'),
        canonical_json(OFFLINE).replace('"kind":"offline_license",', ""),
        canonical_json(ANSWER).replace('"code":"VALID"', '"code":1'),
    ],
    ids=[
        "empty",
        "not-json",
        "list",
        "empty-object",
        "answer-as-offline",
        "no-kind",
        "numeric-code",
    ],
)
def test_malformed_signed_payloads(text):
    with pytest.raises(DomainError) as raised:
        parse_signed_payload(text)
    assert raised.value.code == "malformed_signed_payload"


OFFLINE_CHECKS = [
    # id, signature_ok, now, domain, code
    ("valid", True, NOW, None, V.VALID),
    ("valid-last-instant", True, NOW + timedelta(days=30) - SECOND, None, V.VALID),
    ("expired-at-not-after", True, NOW + timedelta(days=30), None, V.EXPIRED),
    ("expired-later", True, NOW + timedelta(days=400), None, V.EXPIRED),
    ("bad-signature", False, NOW, None, V.INVALID_SIGNATURE),
    ("bad-signature-beats-expiry", False, NOW + timedelta(days=400), None, V.INVALID_SIGNATURE),
    ("domain-wildcard", True, NOW, "shop.b\u00fccher.de", V.VALID),
    ("domain-exact", True, NOW, "EXAMPLE.com:8080", V.VALID),
    ("domain-apex-of-wildcard", True, NOW, "xn--bcher-kva.de", V.DOMAIN_MISMATCH),
    ("domain-other", True, NOW, "example.org", V.DOMAIN_MISMATCH),
    ("expiry-beats-domain", True, NOW + timedelta(days=31), "example.org", V.EXPIRED),
]


@pytest.mark.parametrize(
    ("signature_ok", "now", "domain", "code"),
    [r[1:] for r in OFFLINE_CHECKS],
    ids=[r[0] for r in OFFLINE_CHECKS],
)
def test_offline_license_checks(signature_ok, now, domain, code):
    assert check_offline_license(OFFLINE, signature_ok, now, domain=domain) is code


def test_offline_license_without_domains_accepts_any_domain():
    unrestricted = OfflineLicense(**{**OFFLINE_FIELDS, "instance_domains": []})
    assert check_offline_license(unrestricted, True, NOW, domain="anything.example") is V.VALID
    with pytest.raises(ValueError, match="timezone-aware"):
        check_offline_license(unrestricted, True, datetime(2025, 6, 1))
