"""Ed25519 signing of license answers and offline license files, with key rotation.

The signature covers the canonical bytes of a ``domain.licensing`` document (sorted-key
JSON, UTF-8), and a signed document carries that exact text, so any Ed25519 library can
check it, and so can stock OpenSSL with the published public key::

    openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in payload -sigfile sig

(``payload``: the document's ``payload`` text; ``sig``: its ``signature``, base64-decoded.)

Rotation, key ids and the development key are the shared ``integrations.key_ring``, as for
module signing: the current private key signs, retired public keys still verify what they
signed, and each key is named by ``key_id`` so verification never has to guess. The
development key lives at ``data_dir/keys/license-key.pem``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self, TypeVar, overload

from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import ValidationError

from domain.errors import DomainError
from domain.license_keys import KeyEndorsement
from domain.licensing import (
    SignedDocument,
    canonical_json,
    parse_signed_payload,
)
from integrations.key_ring import KeyKind, PublicKeyInfo, SigningKeyRing, key_id, public_pem

__all__ = [
    "ALGORITHM",
    "DEV_KEY_PATH",
    "ED25519",
    "LicenseKeyRing",
    "PublicKeyInfo",
    "SignedPayload",
    "endorse",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_pem",
    "verify_document",
    "verify_with_public_pem",
]

ALGORITHM = "ed25519"
DEV_KEY_PATH = Path("keys") / "license-key.pem"

Document = TypeVar("Document", bound=SignedDocument)


def _require_ed25519(key: object, what: str) -> None:
    if not isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        raise ValueError(f"{what} must be an Ed25519 key, got {type(key).__name__}")


ED25519: KeyKind[ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey] = KeyKind(
    label="license signing",
    check=_require_ed25519,
    generate=ed25519.Ed25519PrivateKey.generate,
    sign=lambda key, payload: key.sign(payload),
    verify=lambda key, signature, payload: key.verify(signature, payload),
)


@dataclass(frozen=True)
class SignedPayload:
    key_id: str
    signature_b64: str
    algorithm: str = ALGORITHM


def load_private_key(
    pem: str, *, what: str = "license signing private key"
) -> ed25519.Ed25519PrivateKey:
    """Parse an unencrypted PEM private key; ValueError unless it is an Ed25519 key."""
    return ED25519.load_private_key(pem, what=what)


def load_public_key(
    pem: str, *, what: str = "license signing public key"
) -> ed25519.Ed25519PublicKey:
    """Parse a PEM SubjectPublicKeyInfo; ValueError unless it is an Ed25519 key."""
    return ED25519.load_public_key(pem, what=what)


def verify_with_public_pem(payload: bytes, signature_b64: str, pem: str) -> bool:
    """Check a signature against one published public key. A malformed signature is
    False; a malformed key is a ValueError."""
    return ED25519.verifies(load_public_key(pem), payload, signature_b64)


@overload
def verify_document(doc: Any, public_pem: str) -> SignedDocument | None: ...
@overload
def verify_document(doc: Any, public_pem: str, expected: type[Document]) -> Document | None: ...
def verify_document(
    doc: Any, public_pem: str, expected: type[Document] | None = None
) -> SignedDocument | None:
    """The document ``doc`` (as made by ``LicenseKeyRing.sign_document``) carries, if the
    key ``public_pem`` signed it; None if the signature, the payload or (with ``expected``)
    its kind is wrong. The ``key_id`` beside the signature is only a hint for picking the
    key and is not trusted; the signed payload must name the key that signed it.

    A malformed ``public_pem`` is a ValueError, not None: that is the verifier's mistake.
    """
    public_key = load_public_key(public_pem)
    if not isinstance(doc, Mapping):
        return None
    payload, signature = doc.get("payload"), doc.get("signature")
    if not isinstance(payload, str) or not isinstance(signature, str):
        return None
    try:
        payload_bytes = payload.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if not ED25519.verifies(public_key, payload_bytes, signature):
        return None
    try:
        document = parse_signed_payload(payload_bytes)
    except DomainError:
        return None
    if expected is not None and not isinstance(document, expected):
        return None
    if document.key_id != key_id(public_key):
        return None
    return document


class LicenseKeyRing(SigningKeyRing[ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey]):
    """The license signing keys: signs license answers and offline license files."""

    kind = ED25519
    dev_key_path = DEV_KEY_PATH
    endorsements: tuple[dict[str, str], ...] = ()
    """Signed key endorsements to publish (``endorse``), oldest first."""

    def endorsing(self, envelopes: Sequence[Mapping[str, str]]) -> Self:
        """This ring, publishing ``envelopes``, each checked: signed by a key of the ring
        (current or retired) and naming that key. A ValueError names the first that is
        not, so a mistyped setting stops the start instead of misleading every instance.
        The endorsed key need not sign yet: publishing it early lets instances learn it
        before the switch."""
        self.endorsements = _checked_endorsements(self, envelopes)
        return self

    @property
    def key_id(self) -> str:
        """The current key's id (what new documents name)."""
        return self.current_key_id

    def sign(self, payload: bytes) -> SignedPayload:
        return SignedPayload(key_id=self.current_key_id, signature_b64=self.sign_message(payload))

    def verify(self, payload: bytes, signature_b64: str, key_id: str) -> bool:
        """True when the key named ``key_id`` (current or retired) signed ``payload``."""
        return self.verify_message(payload, signature_b64, key_id)

    def sign_document(self, document: SignedDocument) -> dict[str, str]:
        """``{"payload": canonical JSON text, "signature": base64, "key_id": ...}``.

        The document must name the current key in its ``key_id`` (ValueError if not), so the
        signed text itself says which key checks it."""
        if not isinstance(document, SignedDocument):
            raise TypeError(f"cannot sign a {type(document).__name__}")
        if document.key_id != self.key_id:
            raise ValueError(
                f"the document names key {document.key_id}, the current key is {self.key_id}"
            )
        payload = canonical_json(document)
        signed = self.sign(payload.encode("utf-8"))
        return {"payload": payload, "signature": signed.signature_b64, "key_id": signed.key_id}


# --- key endorsements (rotation that installed instances can follow) --------------------


def endorse(ring: LicenseKeyRing, new_public_pem: str, now: datetime) -> dict[str, str]:
    """The current key's signed endorsement of the key ``new_public_pem``
    (``domain.license_keys``), as an envelope: made while the old key still signs, and
    published (``MARKETPLACE_LICENSE_KEY_ENDORSEMENTS``) from then on, through and after the
    switch to the new key."""
    new_key = load_public_key(new_public_pem, what="the key to endorse")
    statement = KeyEndorsement(
        key_id=ring.key_id,
        new_key_id=key_id(new_key),
        new_public_key_pem=public_pem(new_key),
        issued_at=now.replace(microsecond=0),
    )
    payload = canonical_json(statement)
    signed = ring.sign(payload.encode("utf-8"))
    return {"payload": payload, "signature": signed.signature_b64, "key_id": signed.key_id}


def _checked_endorsements(
    ring: LicenseKeyRing, envelopes: Sequence[Mapping[str, str]]
) -> tuple[dict[str, str], ...]:
    checked = []
    for number, envelope in enumerate(envelopes, start=1):
        what = f"license key endorsement #{number}"
        payload, signature = envelope.get("payload"), envelope.get("signature")
        signer = envelope.get("key_id")
        if not (isinstance(payload, str) and isinstance(signature, str) and signer):
            raise ValueError(f"{what}: needs payload, signature and key_id")
        if not ring.verify(payload.encode("utf-8"), signature, signer):
            raise ValueError(f"{what}: not signed by a license key of this deployment")
        try:
            statement = KeyEndorsement.model_validate_json(payload)
        except ValidationError as error:
            raise ValueError(f"{what}: not a key endorsement ({error})") from None
        if statement.key_id != signer:
            raise ValueError(f"{what}: names key {statement.key_id}, signed by {signer}")
        if canonical_json(statement) != payload:
            raise ValueError(f"{what}: the payload is not in canonical form")
        checked.append({"payload": payload, "signature": signature, "key_id": signer})
    return tuple(checked)
