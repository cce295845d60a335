"""License answers and offline license files, read from verified payloads and held to the
instance that asked.

A signature only says the marketplace wrote a document; whether it is *this* instance's
answer is the binding: the SHA-256 of the license key, the instance id, the domain and the
module must be this instance's, and an online answer must echo the nonce this instance just
sent. Without those, an answer the marketplace gave another instance (or another domain, or
an earlier request) could be replayed here. The checks and their codes are the contract's
reference rule (README, "License answers").
"""

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import idna

from fastvue_license.documents import parse_time, text_field
from fastvue_license.errors import (
    AnswerMismatch,
    DomainMismatch,
    MalformedDocument,
    StaleDocument,
)

ANSWER_KINDS = frozenset({"license_answer"})
OFFLINE_KINDS = frozenset({"offline_license"})
CONTRACTS = frozenset({2})
"""The contract versions of answers and offline files this client reads (README,
"License answers")."""
VALID = "VALID"
GRANTED = "granted"

_KEY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_KEY_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_PORT = re.compile(r":([0-9]{1,5})$")


def normalize_license_key(text: str) -> str:
    """``FVM-XXXXX-…`` as the marketplace writes keys (case, spaces and dashes do not
    matter, ``O`` reads as ``0``, ``I`` and ``L`` as ``1``); ValueError if it is none.
    The check symbol is the marketplace's to check."""
    compact = "".join(text.split()).replace("-", "").upper().translate(_KEY_ALIASES)
    if len(compact) == 33 and compact.startswith("FVM"):
        compact = compact[3:]
    if len(compact) != 30 or any(symbol not in _KEY_ALPHABET for symbol in compact):
        raise ValueError("a license key looks like FVM-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
    return "-".join(["FVM", *(compact[i : i + 5] for i in range(0, 30, 5))])


def mask_license_key(key: str) -> str:
    """The key as signed documents carry it: only its last group shown."""
    return "-".join(["FVM", *["*****"] * 5, normalize_license_key(key)[-5:]])


def normalize_domain(text: str) -> str:
    """A host as the marketplace compares them: IDNA (UTS 46) A-label, lower case, no port,
    no trailing dot; IP addresses as addresses. ValueError for anything else."""
    host = text.strip()
    if not host or len(host) > 300:
        raise ValueError("a domain is a host name such as shop.example.com")
    if host.startswith("["):
        literal, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not _PORT.fullmatch(rest)):
            raise ValueError("bad IPv6 literal")
        return f"[{ipaddress.IPv6Address(literal).compressed}]"
    if port := _PORT.search(host):
        host = host[: port.start()]
    host = host.removesuffix(".")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise ValueError(f"not a host name ({error})") from None
    if len(encoded) > 253:
        raise ValueError("a host name is at most 253 octets")
    return encoded


@dataclass(frozen=True)
class Instance:
    """This installation: the license key it holds, its id, its domain and the module the
    license is for (the module's technical name)."""

    license_key: str
    instance_id: str
    domain: str
    module: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "license_key", normalize_license_key(self.license_key))
        object.__setattr__(self, "domain", normalize_domain(self.domain))
        if not re.fullmatch(r"[!-~]{1,64}", self.instance_id):
            raise ValueError("an instance id is 1 to 64 printable ASCII characters")
        if not self.module:
            raise ValueError("the module's technical name is needed")

    @property
    def key_sha256(self) -> str:
        """What signed documents bind the license by: SHA-256 (hex) of the canonical key."""
        return hashlib.sha256(self.license_key.encode()).hexdigest()


@dataclass(frozen=True)
class Answer:
    """A verified answer to activate, deactivate or verify (``kind`` ``license_answer``)."""

    operation: str
    status: str
    """``granted`` (code ``VALID``), ``refused`` or ``released`` (deactivated)."""
    code: str
    license_key_sha256: str
    instance_id: str
    domain: str
    module: str | None
    nonce: str
    issued_at: datetime
    valid_until: datetime
    key_id: str
    document: Mapping[str, Any]
    """The whole payload, for fields this client does not interpret (``expires_at``,
    ``allowed_versions``, ``license_key`` masked for people…)."""

    @property
    def granted(self) -> bool:
        return self.status == GRANTED and self.code == VALID

    @classmethod
    def of(cls, document: Mapping[str, Any], signer: str) -> "Answer":
        issued_at = parse_time(document.get("issued_at"), "issued_at")
        valid_until = parse_time(document.get("valid_until"), "valid_until")
        if valid_until < issued_at:
            raise MalformedDocument("valid_until is before issued_at")
        answer = cls(
            operation=_text(document, "operation"),
            status=_text(document, "status"),
            code=_text(document, "code"),
            license_key_sha256=_text(document, "license_key_sha256"),
            instance_id=_text(document, "instance_id"),
            domain=_text(document, "domain"),
            module=text_field(document, "module", optional=True),
            nonce=_text(document, "nonce"),
            issued_at=issued_at,
            valid_until=valid_until,
            key_id=signer,
            document=document,
        )
        if (answer.status == GRANTED) != (answer.code == VALID):
            raise MalformedDocument(f"status {answer.status} does not go with {answer.code}")
        return answer

    def check_bound_to(self, instance: Instance, *, nonce: str | None) -> None:
        """``AnswerMismatch`` (REPLAYED) unless this answer is for this license key, this
        instance and, when given, echoes ``nonce`` (an online answer; a cached one was
        checked when it arrived); ``DomainMismatch`` for another domain. A granted answer
        must name this instance's module (a refusal may name none: the marketplace knows no
        module for a key it does not know)."""
        if self.license_key_sha256 != instance.key_sha256:
            raise AnswerMismatch("the answer is for another license key")
        if self.instance_id != instance.instance_id:
            raise AnswerMismatch("the answer is for another instance")
        if nonce is not None and self.nonce != nonce:
            raise AnswerMismatch("the answer does not echo this request's nonce (a replay)")
        if self.domain != instance.domain:
            raise DomainMismatch(f"the answer is for another domain ({self.domain})")
        if (self.module is not None or self.granted) and self.module != instance.module:
            raise AnswerMismatch(f"the answer is for another module ({self.module})")

    def check_current(self, now: datetime, skew: timedelta) -> None:
        """``StaleDocument`` (EXPIRED) once ``valid_until``, plus the clock skew, has
        passed, or when the answer claims to be issued later than now plus the skew."""
        if self.issued_at > now + skew:
            raise StaleDocument("the answer is issued in the future: check the clock")
        if now >= self.valid_until + skew:
            raise StaleDocument(f"the answer was good until {self.valid_until.isoformat()}")


@dataclass(frozen=True)
class OfflineLicense:
    """A verified offline license file (``kind`` ``offline_license``), bound to one
    instance and domain."""

    license_key_sha256: str
    instance_id: str
    domain: str
    module: str
    licensee: str | None
    issued_at: datetime
    not_after: datetime
    key_id: str
    document: Mapping[str, Any]

    @classmethod
    def of(cls, document: Mapping[str, Any], signer: str) -> "OfflineLicense":
        issued_at = parse_time(document.get("issued_at"), "issued_at")
        not_after = parse_time(document.get("not_after"), "not_after")
        if not_after <= issued_at:
            raise MalformedDocument("not_after is not after issued_at")
        return cls(
            license_key_sha256=_text(document, "license_key_sha256"),
            instance_id=_text(document, "instance_id"),
            domain=_text(document, "domain"),
            module=_text(document, "module"),
            licensee=text_field(document, "licensee", optional=True),
            issued_at=issued_at,
            not_after=not_after,
            key_id=signer,
            document=document,
        )

    def check_bound_to(self, instance: Instance) -> None:
        if self.license_key_sha256 != instance.key_sha256:
            raise AnswerMismatch("the license file is for another license key")
        if self.instance_id != instance.instance_id:
            raise AnswerMismatch("the license file is for another instance")
        if self.domain != instance.domain:
            raise DomainMismatch(f"the license file is for another domain ({self.domain})")
        if self.module != instance.module:
            raise AnswerMismatch(f"the license file is for another module ({self.module})")

    def check_current(self, now: datetime, skew: timedelta) -> None:
        if self.issued_at > now + skew:
            raise StaleDocument("the license file is issued in the future: check the clock")
        if now >= self.not_after + skew:
            raise StaleDocument(f"the license file ended at {self.not_after.isoformat()}")


def _text(document: Mapping[str, Any], field: str) -> str:
    value = text_field(document, field)
    assert value is not None
    return value
