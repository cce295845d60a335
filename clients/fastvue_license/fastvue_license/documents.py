"""Signed documents as the marketplace sends them, checked before a single field is read.

An envelope is ``{"payload": text, "signature": base64, "key_id": hex}``. The Ed25519
signature covers the UTF-8 bytes of ``payload`` exactly, and the payload must be the
*canonical* JSON of an object (sorted keys, no whitespace, no floats, no duplicate keys):
the same text the marketplace signed, so there is one reading of it. The ``key_id`` beside
the signature only picks the key; the payload names its signing key too, and the two must
agree, so a document cannot be passed off as signed by another key.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fastvue_license.errors import (
    InvalidSignature,
    MalformedDocument,
    UnknownKey,
    UnsupportedContract,
)

KeyLookup = Callable[[str], Ed25519PublicKey | None]
MAX_PAYLOAD = 64 * 1024
"""A license answer is a few hundred bytes; anything far larger is refused unread."""


def canonical_json(document: Mapping[str, Any]) -> str:
    """The text the marketplace signs: sorted keys, no whitespace, UTF-8, no floats."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("duplicate key")
    return document


def _no_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed ({text})")


def parse_canonical(payload: str) -> dict[str, Any]:
    """The object ``payload`` holds, if it is in canonical form; else MalformedDocument."""
    try:
        document = json.loads(
            payload,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_float,
        )
    except (ValueError, RecursionError):
        raise MalformedDocument("the signed payload is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedDocument("the signed payload is not a JSON object")
    if canonical_json(document) != payload:
        raise MalformedDocument("the signed payload is not in canonical form")
    return document


def envelope_parts(envelope: object) -> tuple[str, str, str]:
    """``payload``, ``signature`` and ``key_id`` of an envelope, all text."""
    if not isinstance(envelope, Mapping):
        raise MalformedDocument("a signed document is an object")
    parts = envelope.get("payload"), envelope.get("signature"), envelope.get("key_id")
    if not all(isinstance(part, str) for part in parts):
        raise MalformedDocument("a signed document has text payload, signature and key_id")
    payload, signature, kid = parts
    assert isinstance(payload, str) and isinstance(signature, str) and isinstance(kid, str)
    if len(payload) > MAX_PAYLOAD:
        raise MalformedDocument("the signed payload is too large")
    return payload, signature, kid


def open_envelope(
    envelope: object,
    keys: KeyLookup,
    *,
    kinds: frozenset[str],
    contracts: frozenset[int],
) -> tuple[dict[str, Any], str]:
    """The verified payload of ``envelope`` and the id of the key that signed it.

    Order: the key must be trusted (``UnknownKey``), the signature good
    (``InvalidSignature``), the payload canonical and of one of ``kinds``
    (``MalformedDocument``), its ``contract`` one of ``contracts``
    (``UnsupportedContract``), and the ``key_id`` inside it that of the signing key.
    """
    payload, signature_b64, kid = envelope_parts(envelope)
    public_key = keys(kid)
    if public_key is None:
        raise UnknownKey(f"signed with key {kid[:32]!r}, which is not trusted")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, payload.encode("utf-8"))
    except (binascii.Error, ValueError, UnicodeEncodeError, _BadSignature):
        raise InvalidSignature(f"the signature does not verify with key {kid}") from None
    document = parse_canonical(payload)
    if document.get("kind") not in kinds:
        raise MalformedDocument(f"expected a {' or '.join(sorted(kinds))}")
    contract = document.get("contract")
    if type(contract) is not int or contract not in contracts:
        raise UnsupportedContract(
            f"contract {contract!r} is not one this client reads ({sorted(contracts)})"
        )
    if document.get("key_id") != kid:
        raise InvalidSignature("the document does not name the key that signed it")
    return document, kid


def parse_time(value: object, field: str) -> datetime:
    """An ISO 8601 time in UTC (``...Z``) as the marketplace writes them."""
    if not isinstance(value, str) or not value.endswith("Z"):
        raise MalformedDocument(f"{field} is not a UTC time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedDocument(f"{field} is not a UTC time") from None
    return parsed.astimezone(UTC)


def text_field(document: Mapping[str, Any], field: str, *, optional: bool = False) -> str | None:
    value = document.get(field)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise MalformedDocument(f"{field} is missing or not text")
    return value
